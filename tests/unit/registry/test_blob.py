"""Blobs against an in-memory registry: streaming digest checks, uploads (monolithic, chunked), mounts."""

from __future__ import annotations

import os

import httpx
import pytest

from supplychain.config import Settings
from supplychain.errors import DigestMismatchError, SizeLimitError, UnsafeRequestError
from supplychain.oci.model import Descriptor
from supplychain.registry.client import RegistryClient
from supplychain.registry.repository import RegistryRepository
from tests.unit.registry.fake import FakeRegistry

NAME = "team/app"


def open_repo(fake: FakeRegistry, **settings: object) -> RegistryRepository:
    client = RegistryClient(fake.host, Settings(**{"chunked_upload": True, **settings}), client=fake.client(),  # type: ignore[arg-type]
                            sleep=lambda s: None)
    return client.repository(NAME)


def blob(size: int) -> tuple[bytes, Descriptor]:
    data = os.urandom(size)
    return data, Descriptor.for_bytes("application/octet-stream", data)


def pieces(data: bytes, size: int = 1000) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


# -- reads -------------------------------------------------------------------------------------------


def test_has_and_get_blob() -> None:
    fake = FakeRegistry()
    data, desc = blob(100)
    repo = open_repo(fake)
    assert not repo.has_blob(desc.digest)
    fake.blobs[(NAME, str(desc.digest))] = data
    assert repo.has_blob(desc.digest)
    assert repo.get_blob(desc) == data
    assert fake.seen("GET", "/blobs/")[0].headers["Accept-Encoding"] == "identity"


def test_blob_with_wrong_bytes_raises_before_the_stream_ends() -> None:
    fake = FakeRegistry()
    data, desc = blob(3000)
    fake.blobs[(NAME, str(desc.digest))] = data[:-1] + bytes([data[-1] ^ 1])
    repo = open_repo(fake)
    with pytest.raises(DigestMismatchError) as info:
        repo.get_blob(desc)
    assert info.value.expected == str(desc.digest)
    received: list[bytes] = []
    with pytest.raises(DigestMismatchError), repo.open_blob(desc) as chunks:
        for chunk in chunks:
            received.append(chunk)
    # The consumer saw the bytes but never a clean end of stream: it must not commit them.
    assert b"".join(received) != data


def test_blob_with_another_length_is_refused_from_its_headers() -> None:
    fake = FakeRegistry()
    data, desc = blob(100)
    fake.blobs[(NAME, str(desc.digest))] = data + b"extra"
    with pytest.raises(DigestMismatchError, match="105 bytes announced instead of 100"):
        open_repo(fake).get_blob(desc)


def test_get_blob_cap_is_checked_before_any_request() -> None:
    fake = FakeRegistry()
    _, desc = blob(2000)
    with pytest.raises(SizeLimitError, match="over the 1000-byte limit"):
        open_repo(fake).get_blob(desc, limit=1000)
    with pytest.raises(SizeLimitError):
        open_repo(fake, max_attachment_bytes=1999).get_blob(desc)
    assert fake.requests == []


def test_embedded_data_needs_no_request() -> None:
    fake = FakeRegistry()
    data, desc = blob(10)
    embedded = Descriptor(desc.media_type, desc.digest, desc.size, data=data)
    assert open_repo(fake).get_blob(embedded) == data
    assert fake.requests == []


# -- uploads ------------------------------------------------------------------------------------------


def test_small_blob_is_one_monolithic_put() -> None:
    fake = FakeRegistry()
    data, desc = blob(500)
    open_repo(fake).put_blob(desc, pieces(data, 100))
    assert fake.blobs[(NAME, str(desc.digest))] == data
    assert [r.method for r in fake.requests] == ["HEAD", "POST", "PUT"]
    put = fake.requests[-1]
    # The session state in the Location's query survives next to ?digest=.
    assert put.url.params["digest"] == str(desc.digest) and put.url.params["_state"].startswith("s")


def test_a_head_that_just_said_absent_is_not_sent_again_by_the_upload() -> None:
    """``transfer`` asks ``has_blob`` before it opens its source; the upload that follows sends no second HEAD."""
    fake = FakeRegistry()
    data, desc = blob(500)
    repo = open_repo(fake)
    assert not repo.has_blob(desc.digest)
    repo.put_blob(desc, [data])
    assert [r.method for r in fake.requests] == ["HEAD", "POST", "PUT"]
    repo.put_blob(desc, [data])  # asked again: the registry has it now
    assert [r.method for r in fake.requests] == ["HEAD", "POST", "PUT", "HEAD"]


def test_blobs_over_a_mib_stream_instead_of_being_held_in_memory() -> None:
    """Even under a larger chunk size: concurrent copies hold about a MiB per upload, not the whole blob."""
    fake = FakeRegistry()
    data, desc = blob(1024 * 1024 + 1)
    sent_before_first_piece: list[str] = []

    def source():  # type: ignore[no-untyped-def]
        for piece in pieces(data, 256 * 1024):
            if not sent_before_first_piece:
                sent_before_first_piece.extend(r.method for r in fake.requests)
            yield piece

    open_repo(fake, chunk_size=8 * 1024 * 1024, chunked_upload=False).put_blob(desc, source())
    assert fake.blobs[(NAME, str(desc.digest))] == data
    # The upload session was open before the first byte was read: the bytes went out as they came, in one PUT.
    assert sent_before_first_piece == ["HEAD", "POST"]
    assert [r.method for r in fake.requests] == ["HEAD", "POST", "PUT"]


def test_existing_blob_is_skipped_without_reading_the_source() -> None:
    fake = FakeRegistry()
    data, desc = blob(500)
    fake.blobs[(NAME, str(desc.digest))] = data

    def source():  # type: ignore[no-untyped-def]
        raise AssertionError("the source must not be read")
        yield b""

    open_repo(fake).put_blob(desc, source())
    assert [r.method for r in fake.requests] == ["HEAD"]


def test_large_blob_goes_in_chunks_with_content_range() -> None:
    fake = FakeRegistry()
    data, desc = blob(2500)
    open_repo(fake, chunk_size=1000).put_blob(desc, pieces(data, 300))
    assert fake.blobs[(NAME, str(desc.digest))] == data
    patches = fake.seen("PATCH")
    assert [p.headers["Content-Range"] for p in patches] == ["0-999", "1000-1999", "2000-2499"]
    assert [len(p.content) for p in patches] == [1000, 1000, 500]
    final = fake.seen("PUT")[-1]
    assert final.url.params["digest"] == str(desc.digest) and final.content == b""


def test_registry_minimum_chunk_size_is_honoured() -> None:
    fake = FakeRegistry()

    def handler(request: httpx.Request) -> httpx.Response:
        response = fake.handle(request)
        if request.method == "POST":
            response.headers["OCI-Chunk-Min-Length"] = "2000"
        return response

    client = RegistryClient(fake.host, Settings(chunk_size=1000, chunked_upload=True),
                            client=httpx.Client(transport=httpx.MockTransport(handler)))
    data, desc = blob(4500)
    client.repository(NAME).put_blob(desc, pieces(data))
    assert [len(p.content) for p in fake.seen("PATCH")] == [2000, 2000, 500]


@pytest.mark.parametrize("size", [500, 2500])
def test_wrong_bytes_are_never_committed(size: int) -> None:
    fake = FakeRegistry()
    data, desc = blob(size)
    tampered = data[:-1] + bytes([data[-1] ^ 1])
    with pytest.raises(DigestMismatchError):
        open_repo(fake, chunk_size=1000).put_blob(desc, pieces(tampered, 300))
    assert (NAME, str(desc.digest)) not in fake.blobs
    assert not [r for r in fake.seen("PUT") if "digest" in r.url.params]
    if size > 1000:
        assert fake.seen("DELETE", "/blobs/uploads/")  # the partial upload was cancelled
        assert fake.uploads == {}
    else:
        assert not fake.seen("POST")  # verified in memory before any session


def test_short_source_is_a_mismatch() -> None:
    fake = FakeRegistry()
    data, desc = blob(2500)
    with pytest.raises(DigestMismatchError, match="instead of 2500"):
        open_repo(fake, chunk_size=1000).put_blob(desc, pieces(data[:2400]))
    assert (NAME, str(desc.digest)) not in fake.blobs


def test_streamed_monolithic_upload_with_chunk_size_zero() -> None:
    fake = FakeRegistry()
    data, desc = blob(3000)
    open_repo(fake, chunk_size=0).put_blob(desc, iter(pieces(data)))
    assert fake.blobs[(NAME, str(desc.digest))] == data
    assert fake.seen("PUT")[-1].headers["Content-Length"] == "3000"


def test_upload_location_on_another_host_is_refused() -> None:
    fake = FakeRegistry()
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "https://uploads.evil.test/v2/team/app/blobs/uploads/1"})
        return fake.handle(request)

    client = RegistryClient(fake.host, Settings(), client=httpx.Client(transport=httpx.MockTransport(handler)))
    data, desc = blob(100)
    with pytest.raises(UnsafeRequestError, match=r"uploads\.evil\.test"):
        client.repository(NAME).put_blob(desc, [data])
    assert "uploads.evil.test" not in hosts


def test_relative_upload_location_is_resolved() -> None:
    fake = FakeRegistry()  # answers relative Locations
    data, desc = blob(2500)
    open_repo(fake, chunk_size=1000).put_blob(desc, [data])
    assert all(r.url.host == "registry.test" and r.url.scheme == "https" for r in fake.requests)


# -- mounts ------------------------------------------------------------------------------------------------


def test_mount_from_another_repository() -> None:
    fake = FakeRegistry()
    data, desc = blob(100)
    fake.blobs[("team/base", str(desc.digest))] = data
    repo = open_repo(fake)
    assert repo.mount_blob(desc, "team/base") is True
    assert fake.blobs[(NAME, str(desc.digest))] == data
    post = fake.seen("POST")[0]
    assert post.url.params["mount"] == str(desc.digest) and post.url.params["from"] == "team/base"


def test_mount_refused_falls_back_and_cancels_the_session() -> None:
    fake = FakeRegistry()
    data, desc = blob(100)
    repo = open_repo(fake)
    assert repo.mount_blob(desc, "team/other") is False
    assert fake.seen("DELETE", "/blobs/uploads/") and fake.uploads == {}
    repo.put_blob(desc, [data])
    assert fake.blobs[(NAME, str(desc.digest))] == data


def test_large_blobs_stream_in_one_put_by_default() -> None:
    # Without chunked_upload, a blob over chunk_size goes as one streamed PUT with its Content-Length,
    # as docker and skopeo upload (no PATCH round trips).
    fake = FakeRegistry()
    client = RegistryClient(fake.host, Settings(chunk_size=1000), client=fake.client(), sleep=lambda s: None)
    data, desc = blob(4500)
    client.repository(NAME).put_blob(desc, iter(pieces(data, 300)))
    assert fake.seen("PATCH") == []
    (put,) = fake.seen("PUT")
    assert put.headers["Content-Length"] == "4500"
    assert put.content == data
