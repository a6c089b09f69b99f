"""RFC 8785 JSON Canonicalization Scheme (JCS): the bytes Rekor hashes and signs (entry bodies, SET payloads).

``canonical_json`` gives the ``rfc8785`` package's bytes, from the stdlib encoder on the subset of values where the
two cannot differ (it is several times faster, and the local log canonicalises on every append).
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

__all__ = ["canonical_json"]

_SAFE_INTEGER = 2**53 - 1


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) canonical JSON of ``value``: ``rfc8785.dumps``, or the same bytes from the stdlib encoder
    when ``value`` is in the subset where the two cannot differ (``_plain``).

    Entry bodies and SET payloads are such values (hex, base64, PEM in base64, kind names, integers), and the
    pure-Python ``rfc8785`` encoder cost the log more per append than the signature check did (issue 10, item 5).
    On printable ASCII strings JCS escapes only ``"`` and ``\\`` (RFC 8785 3.2.2.2), as ``json.dumps`` does;
    ASCII keys sort the same by UTF-16 code unit (RFC 8785 3.2.3) as by code point; integers within IEEE 754's
    exact range print as ECMAScript prints them (3.2.2.3). Anything else (other strings, floats, large integers,
    tuples) goes to ``rfc8785``, which also raises for what JCS cannot represent.
    ``tests/unit/formats/test_canonical_json.py`` checks the two agree.
    """
    if _plain(value):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                          check_circular=False).encode("ascii")
    return rfc8785.dumps(value)


def _plain(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is made of dicts with printable-ASCII keys, lists, printable-ASCII strings, exact
    integers, booleans and None only (nested at most 32 deep)."""
    if isinstance(value, str):
        return value.isascii() and value.isprintable()
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -_SAFE_INTEGER <= value <= _SAFE_INTEGER
    if depth > 32:
        return False
    if isinstance(value, dict):
        return all(isinstance(key, str) and key.isascii() and key.isprintable() and _plain(item, depth + 1)
                   for key, item in value.items())
    if isinstance(value, list):
        return all(_plain(item, depth + 1) for item in value)
    return False
