"""Digest values and the streaming checker."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supplychain.digest import Digest, verify_stream
from supplychain.errors import DigestMismatchError, InvalidDigestError, SizeLimitError


def test_parse_and_print():
    d = Digest.of(b"hello")
    assert str(d) == "sha256:" + hashlib.sha256(b"hello").hexdigest()
    assert Digest.parse(str(d)) == d
    assert d.tag_form == "sha256-" + d.hex
    assert Digest.of(b"x", "sha512").algorithm == "sha512"


@pytest.mark.parametrize(
    "text",
    ["", "sha256", "sha256:", "sha256:abc", "sha256:" + "A" * 64, "md5:" + "a" * 32, "sha512:" + "a" * 64,
     "sha256:" + "g" * 64, ":" + "a" * 64],
)
def test_rejects(text: str):
    with pytest.raises(InvalidDigestError):
        Digest.parse(text)


@given(st.lists(st.binary(max_size=64), max_size=8))
def test_stream_passes_good_content(chunks: list[bytes]):
    data = b"".join(chunks)
    d = Digest.of(data)
    assert b"".join(verify_stream(chunks, d, size=len(data))) == data


def test_stream_raises_on_wrong_bytes_before_finishing():
    d = Digest.of(b"good")
    stream = verify_stream([b"ba", b"ad"], d, size=4)
    got = []
    with pytest.raises(DigestMismatchError) as info:
        for chunk in stream:
            got.append(chunk)
    assert info.value.expected == str(d)
    assert b"".join(got) == b"baad"  # the consumer saw bytes but never a clean end: it must not commit


def test_stream_size_checks():
    d = Digest.of(b"abcd")
    with pytest.raises(DigestMismatchError, match="more than the 3 bytes"):
        list(verify_stream([b"abcd"], d, size=3))
    with pytest.raises(DigestMismatchError, match="3 bytes instead of 4"):
        list(verify_stream([b"abc"], Digest.of(b"abc"), size=4))
    with pytest.raises(SizeLimitError):
        list(verify_stream([b"ab", b"cd"], d, limit=3))


def test_verify_whole():
    assert Digest.of(b"x").verify(b"x") == b"x"
    with pytest.raises(DigestMismatchError):
        Digest.of(b"x").verify(b"y")
