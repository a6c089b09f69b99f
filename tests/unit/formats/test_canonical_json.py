"""``formats.jcs.canonical_json``: RFC 8785 bytes, from the stdlib encoder on the subset where it cannot differ from
``rfc8785`` and from ``rfc8785`` elsewhere; the two are compared on values made to probe every boundary."""

from __future__ import annotations

import base64
import random
from typing import Any

import pytest
import rfc8785

from supplychain.formats.jcs import _plain, canonical_json
from supplychain.formats.rekor import HashedRekord, LogEntry

EDGE_STRINGS = ["", " ", "~", '"', "\\", "/", "a\"b\\c", "\x7f", "\x00", "\x1f", "\n", "\t", "é", "\u2028", "😀",
                "\ud800", "-----BEGIN PUBLIC KEY-----"]
EDGE_NUMBERS: list[Any] = [0, 1, -1, 2**53 - 1, -(2**53 - 1), 2**53, -(2**53), 2**63, True, False, None, 0.5, -0.0,
                           1e21]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(6 if depth < 4 else 3)
    if choice == 0:
        return rng.choice(EDGE_STRINGS) + "".join(chr(rng.randrange(0x20, 0x7f)) for _ in range(rng.randrange(8)))
    if choice == 1:
        return rng.choice(EDGE_NUMBERS)
    if choice == 2:
        return base64.b64encode(rng.randbytes(rng.randrange(40))).decode()
    if choice == 3:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = [rng.choice([*EDGE_STRINGS, "a", "B", "_", "aa", "Z9"]) for _ in range(rng.randrange(5))]
    return {key: random_value(rng, depth + 1) for key in keys}


def reference(value: Any) -> bytes | type[Exception]:
    try:
        return rfc8785.dumps(value)
    except Exception as exc:  # broad: the reference's failure is compared, whatever it is
        return type(exc)


def ours(value: Any) -> bytes | type[Exception]:
    try:
        return canonical_json(value)
    except Exception as exc:  # broad: compared with the reference's
        return type(exc)


def test_the_fast_path_gives_rfc8785_bytes() -> None:
    rng = random.Random(8785)
    fast = 0
    for _ in range(5000):
        value = random_value(rng)
        fast += _plain(value)
        assert ours(value) == reference(value), value
    assert fast > 1000  # the comparison exercised the stdlib path, not only the fallback


@pytest.mark.parametrize("value", [*EDGE_STRINGS, *EDGE_NUMBERS, {s: 1 for s in EDGE_STRINGS}, [EDGE_STRINGS],
                                   {"b": {"a": [1, "x"]}, "a": None}, ("tuple",)])
def test_edges(value: Any) -> None:
    assert ours(value) == reference(value)


def test_outside_the_subset_is_refused_by_the_check() -> None:
    for value in ("\x7f", "é", "\n", 2**53, 0.5, ("t",), {1: "int key"}, {"é": 1}):
        assert not _plain(value)
    assert _plain({"spec": {"data": [1, True, None, "x y"]}})


def test_bodies_and_set_payloads_are_rfc8785() -> None:
    record = HashedRekord("sha256", bytes(range(32)), b"\x30" * 70,
                          b"-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n")
    assert record.body() == rfc8785.dumps(record.proposed_entry())
    entry = LogEntry(record.body(), 1_700_000_000, 2**40, "ab" * 32)
    assert entry.timestamp_payload() == rfc8785.dumps({"body": entry.body_base64, "integratedTime": 1_700_000_000,
                                                       "logID": "ab" * 32, "logIndex": 2**40})
