"""The one strict decoder for untrusted JSON (issue 7 item 9, issue 9 item 1)."""

from __future__ import annotations

import json

import pytest

from supplychain.errors import ExitCode, InvalidInputError
from supplychain.formats.strictjson import (
    INTEGER_MAX,
    INTEGER_MIN,
    MAX_NESTING,
    DuplicateKeyError,
    JsonFormatError,
    NestingError,
    NumberError,
    loads_untrusted,
)


def test_controls_parse_as_json_does():
    doc = {"a": [1, -2, 3.5, True, None, "é\u2028"], "b": {"c": {}}, "size": 2**63 - 1, "index": INTEGER_MAX,
           "small": INTEGER_MIN, "float": 1e308, "tiny": 5e-324}
    raw = json.dumps(doc, ensure_ascii=False).encode()
    assert loads_untrusted(raw) == doc
    assert loads_untrusted(raw.decode()) == doc  # str input too
    assert loads_untrusted(b"[" * MAX_NESTING + b"]" * MAX_NESTING) is not None
    assert loads_untrusted(b'"' + b"9" * 6000 + b'"') == "9" * 6000  # digits in a string are not a number


@pytest.mark.parametrize(
    ("data", "error", "detail"),
    [
        (b'{"digest":"a","digest":"b"}', DuplicateKeyError, "duplicate JSON key 'digest'"),
        (b'[{"x":{"k":1,"k":1}}]', DuplicateKeyError, "duplicate JSON key 'k'"),
        (b'{"size":' + b"9" * 6000 + b"}", NumberError, "an integer of 6000 digits is out of range"),
        (b"-" + b"1" * 21, NumberError, "21 digits"),
        (str(INTEGER_MAX + 1).encode(), NumberError, "out of range"),
        (str(INTEGER_MIN - 1).encode(), NumberError, "out of range"),
        (b"[1e400]", NumberError, "not a finite double"),
        (b"[-1" + b"0" * 400 + b".0]", NumberError, "not a finite double"),
        (b"[NaN]", NumberError, "NaN is not JSON"),
        (b'{"a":Infinity}', NumberError, "Infinity is not JSON"),
        (b"-Infinity", NumberError, "-Infinity is not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, NestingError, f"nest deeper than {MAX_NESTING} levels"),
        (b'{"a":' * (MAX_NESTING + 1) + b"1" + b"}" * (MAX_NESTING + 1), NestingError, "nest deeper"),
        (b'{"name":"\xff"}', JsonFormatError, "not UTF-8 text (byte 9)"),
        (b"\xef\xbb\xbf{}", JsonFormatError, "invalid JSON at line 1 column 1"),  # a BOM (Go refuses it too)
        ('{"a":1}'.encode("utf-16"), JsonFormatError, "not UTF-8"),  # json.loads(bytes) would guess UTF-16
        (b'{"a":', JsonFormatError, "invalid JSON at line 1 column 6"),
        (b"", JsonFormatError, "invalid JSON"),
    ],
)
def test_refusals_are_one_format_error(data: bytes, error: type[JsonFormatError], detail: str):
    with pytest.raises(error) as caught:
        loads_untrusted(data)
    assert detail in str(caught.value)
    assert caught.value.detail == str(caught.value)
    # one class for every refusal: an input error (exit 3) with a hint, and a ValueError for callers that wrap
    assert isinstance(caught.value, InvalidInputError) and isinstance(caught.value, ValueError)
    assert caught.value.exit_code is ExitCode.INVALID_INPUT and caught.value.hint


def test_what_names_the_document():
    with pytest.raises(DuplicateKeyError) as caught:
        loads_untrusted(b'{"a":1,"a":2}', what="index.json")
    assert str(caught.value) == "index.json is not valid JSON: duplicate JSON key 'a'"
    assert caught.value.detail == "duplicate JSON key 'a'"


def test_a_recursion_error_past_the_pre_check_is_a_nesting_error():
    with pytest.raises(NestingError, match="nest too deeply") as caught:
        loads_untrusted(b"[" * 100_000 + b"]" * 100_000, max_nesting=10**9)
    assert isinstance(caught.value.__cause__, RecursionError)


def test_long_integers_are_refused_before_int_runs():
    # int() of a 4 MiB literal would raise its own ValueError (over 4,300 digits) after quadratic work.
    with pytest.raises(NumberError, match="4194304 digits"):
        loads_untrusted(b"1" * (4 << 20))
