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


def test_a_checked_stream_is_not_checked_twice():
    """A store handing its checked stream to another store: one hash per byte, the check still before the end."""
    data = b"layer bytes"
    d = Digest.of(data)
    inner = verify_stream(pieces := [data[:4], data[4:]], d, size=len(data))
    assert verify_stream(inner, d, size=len(data)) is inner
    assert b"".join(inner) == data
    # Another digest or size, an unknown size, or a stream already started: checked again.
    assert verify_stream(verify_stream(pieces, d, size=len(data)), d, size=len(data) + 1) is not inner
    assert verify_stream(verify_stream(pieces, d, size=len(data)), Digest.of(b"x"), size=len(data)) is not inner
    assert verify_stream(verify_stream(pieces, d, size=len(data)), d) is not inner
    started = verify_stream(pieces, d, size=len(data))
    next(started)
    again = verify_stream(started, d, size=len(data))
    assert again is not started
    with pytest.raises(DigestMismatchError):  # what the outer check saw lacks the first piece
        list(again)


def test_a_passed_through_stream_still_raises_before_its_end():
    d = Digest.of(b"good")
    outer = verify_stream(verify_stream([b"ba", b"ad"], d, size=4), d, size=4)
    with pytest.raises(DigestMismatchError):
        list(outer)


def test_watchers_see_each_chunk_and_can_stop_the_stream():
    data = b"abcdef"
    seen: list[int] = []
    stream = verify_stream([b"ab", b"cd", b"ef"], Digest.of(data), size=6).watch(seen.append)
    assert b"".join(stream) == data and seen == [2, 2, 2]

    def stop(size: int) -> None:
        raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):
        list(verify_stream([b"ab", b"cd"], Digest.of(b"abcd"), size=4).watch(stop))
