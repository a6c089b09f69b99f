"""The one strict JSON decoder for untrusted input: manifests, indexes, registry and log answers, trusted roots,
credentials files, bundles and signed payloads.

Python's ``json.loads`` is lenient where an attacker can use it:

- duplicate keys: last one wins, so two readers that pick different copies (Go's decoder also keeps the last,
  others the first) disagree about what a document says; a signed ``docker-manifest-digest`` or a descriptor's
  ``digest`` must mean one thing. Refused.
- numbers: a 6,000-digit integer ends in ``ValueError: Exceeds the limit (4300 digits)`` (CPython's
  CVE-2020-10735 guard), an exception the callers did not expect, and wide integers are not JSON numbers anyone
  else can read: RFC 8259 section 6 warns that only IEEE 754 doubles interoperate, and OCI image-spec
  descriptor.md gives ``size`` as an int64. Integers are accepted within int64 and uint64 (Rekor's log
  indexes and tree sizes), written in at most ``MAX_INTEGER_DIGITS`` digits; ``1e400`` (infinity) is refused.
- ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON (RFC 8259 section 6). Refused.
- nesting: ``"[" * 100_000`` ends in ``RecursionError`` in the decoder or in any recursive walk after it.
  Nesting deeper than ``MAX_NESTING`` is refused on the bytes, before parsing.
- encoding: RFC 8259 section 8.1 requires UTF-8 between systems; ``json.loads(bytes)`` also guesses UTF-16
  and UTF-32 and skips a byte order mark. Only UTF-8 without a BOM is accepted (as Go's decoder does).

Every refusal is a ``JsonFormatError``: an ``InvalidInputError`` (exit 3) and a ``ValueError``, so callers that
turn bad JSON into their own error (``except ValueError``) keep doing so, and none can escape as a crash.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from supplychain.errors import InvalidInputError

MAX_NESTING = 128
"""Deepest nesting of arrays and objects accepted (manifests need 4 levels, bundles and trusted roots about 10)."""

MAX_INTEGER_DIGITS = 20
"""Longest integer literal accepted: 2**64 - 1 has 20 digits."""

INTEGER_MIN = -(2**63)  # int64 (OCI descriptor sizes, Go's int)
INTEGER_MAX = 2**64 - 1  # uint64 (Rekor tree sizes and indexes as Go's uint64)

_DEFAULT_HINT = "the document is malformed or hostile; it was refused before any of it was used"


class JsonFormatError(InvalidInputError, ValueError):
    """Untrusted input that is not strict JSON; ``detail`` says what is wrong, without the ``what`` prefix."""

    default_hint = _DEFAULT_HINT

    def __init__(self, detail: str, *, what: str | None = None) -> None:
        super().__init__(f"{what} is not valid JSON: {detail}" if what else detail)
        self.detail = detail


class DuplicateKeyError(JsonFormatError):
    """An object names the same key twice."""


class NestingError(JsonFormatError):
    """Arrays and objects nest deeper than the reader accepts."""


class NumberError(JsonFormatError):
    """A number outside what JSON readers agree on: too many digits, outside int64/uint64, or not finite."""


def loads_untrusted(data: bytes | str, *, what: str | None = None, max_nesting: int = MAX_NESTING) -> Any:
    """Parse untrusted JSON strictly, or raise ``JsonFormatError`` (a ``ValueError`` and an exit-3 error).

    ``what`` names the document in the message ("manifest is not valid JSON: duplicate key 'size'"); without it
    the message is the detail alone, for callers that wrap it in their own error.
    """
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonFormatError(f"not UTF-8 text (byte {exc.start})", what=what) from None
    else:
        text = data
        raw = text.encode("utf-8", "surrogatepass")
    if nesting_exceeds(raw, max_nesting):
        raise NestingError(f"arrays and objects nest deeper than {max_nesting} levels", what=what)
    try:
        return json.loads(
            text,
            object_pairs_hook=lambda pairs: _no_duplicates(pairs, what),
            parse_int=lambda literal: _integer(literal, what),
            parse_float=lambda literal: _float(literal, what),
            parse_constant=lambda name: _constant(name, what),
        )
    except JsonFormatError:
        raise
    except json.JSONDecodeError as exc:
        raise JsonFormatError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", what=what) from None
    except RecursionError as exc:  # not below the default cap; kept so no input can escape as a crash
        raise NestingError("arrays and objects nest too deeply", what=what) from exc


def _no_duplicates(pairs: list[tuple[str, Any]], what: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKeyError(f"duplicate JSON key {key!r}", what=what)
        out[key] = value
    return out


def _integer(literal: str, what: str | None) -> int:
    # The length is checked before int() runs: int() of a long literal is quadratic, and past 4,300 digits it
    # raises a ValueError of its own.
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        digits = len(literal.lstrip("-"))
        raise NumberError(f"an integer of {digits} digits is out of range (int64 or uint64: at most "
                          f"{MAX_INTEGER_DIGITS} digits)", what=what)
    value = int(literal)
    if not INTEGER_MIN <= value <= INTEGER_MAX:
        raise NumberError(f"the integer {value} is out of range (int64 or uint64)", what=what)
    return value


def _float(literal: str, what: str | None) -> float:
    value = float(literal)
    if not math.isfinite(value):
        shown = literal if len(literal) <= 40 else literal[:40] + "..."
        raise NumberError(f"the number {shown} is out of range (not a finite double)", what=what)
    return value


def _constant(name: str, what: str | None) -> Any:
    raise NumberError(f"{name} is not JSON", what=what)


_ESCAPED = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_OPENERS = frozenset(b"[{")


def nesting_exceeds(data: bytes, limit: int) -> bool:
    """Whether the arrays and objects of JSON ``data`` nest deeper than ``limit``, brackets inside strings not
    counted. Linear, and mostly at C speed: escapes, then strings, then every byte but brackets are dropped
    before the remaining brackets are counted. UTF-8 continuation bytes never equal an ASCII delimiter, so the
    bytes need no decoding first; for malformed JSON the answer is a guess, and the parser refuses it anyway."""
    brackets = _STRING.sub(b"", _ESCAPED.sub(b"", data)).translate(None, _NOT_BRACKET)
    if brackets.count(b"[") + brackets.count(b"{") <= limit:
        return False
    depth = 0
    for byte in brackets:
        if byte in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


__all__ = [
    "INTEGER_MAX",
    "INTEGER_MIN",
    "MAX_INTEGER_DIGITS",
    "MAX_NESTING",
    "DuplicateKeyError",
    "JsonFormatError",
    "NestingError",
    "NumberError",
    "loads_untrusted",
    "nesting_exceeds",
]
