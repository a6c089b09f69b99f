"""Blobs on a registry: existence, streaming reads, uploads and cross-repository mounts.

Distribution spec sections "Pulling blobs", "Pushing blobs" (monolithic POST-then-PUT, chunked PATCHes with
``Content-Range``), "Mounting a blob from another repository" and "Canceling an upload". Reads stream through
``verify_stream`` so a wrong byte raises before the consumer's last chunk; uploads hash what they send and stop
before the closing PUT when the bytes do not match, so nothing wrong is ever committed. Memory stays at about
one chunk (``MAX_BUFFERED_UPLOAD``, or ``settings.chunk_size`` for chunked uploads) whatever the blob's size.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import httpx

from supplychain.digest import Digest, verify_stream
from supplychain.errors import (
    DigestMismatchError,
    IntegrityError,
    InvalidReferenceError,
    NotFoundError,
    RegistryError,
    SizeLimitError,
    SupplyChainError,
)
from supplychain.oci.model import Descriptor
from supplychain.reference import is_repository_path
from supplychain.registry.errors import Action

if TYPE_CHECKING:
    from supplychain.registry.repository import RegistryRepository

logger = logging.getLogger("supplychain.registry")

_RANGE = re.compile(r"^(?:bytes=)?0-(\d+)$")
# Blobs up to this size are uploaded from memory (verified before the upload starts, and retried); larger ones
# stream. A config, a signature or an attestation fits; a layer usually does not. The bound keeps an upload at
# about one MiB of memory however large the blob, and ``copy`` runs up to ``--concurrency`` of them at once:
# buffering each 8 MiB layer whole (and joining it, twice that) would cost 16 MiB a transfer.
MAX_BUFFERED_UPLOAD = 1024 * 1024
_OCTET_STREAM = "application/octet-stream"


def has_blob(repo: RegistryRepository, digest: Digest) -> bool:
    """``HEAD /v2/<name>/blobs/<digest>``: 200 yes, 404 no, anything else an error. A 404 is remembered for the
    ``put_blob`` that usually follows (``RegistryRepository.absent``), which then sends no second HEAD."""
    present = _head(repo, digest)
    if not present:
        repo.absent.add(digest)
    return present


def _head(repo: RegistryRepository, digest: Digest) -> bool:
    what = f"blob {repo.name}@{digest}"
    with repo.client.open("HEAD", repo.url(f"blobs/{digest}"), what=what, action=Action.PULL,
                          expect=(200, 404)) as response:
        return response.status_code == 200


@contextmanager
def open_blob(repo: RegistryRepository, desc: Descriptor) -> Iterator[Iterator[bytes]]:
    """Stream a blob (following a redirect to storage without credentials), digest- and size-checked."""
    what = f"blob {repo.name}@{desc.digest}"
    if desc.data is not None:
        # Embedded data (image-spec descriptor.md "data"): no request needed, still checked.
        yield verify_stream([desc.data], desc.digest, size=desc.size, what=what)
        return
    limit = repo.client.settings.max_blob_bytes
    if desc.size > limit:
        raise SizeLimitError(f"{what} is {desc.size} bytes, over the {limit}-byte limit",
                             hint="raise the limit (SUPPLYCHAIN_MAX_BLOB_SIZE) only if you trust the source")
    with repo.client.open("GET", repo.url(f"blobs/{desc.digest}"), what=what, action=Action.PULL,
                          expect=(200,)) as response:
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) != desc.size:
            raise DigestMismatchError(str(desc.digest), f"{length} bytes announced instead of {desc.size}",
                                      what=what)
        yield verify_stream(repo.client.iter_body(response, raw=True), desc.digest, size=desc.size, what=what)


def put_blob(repo: RegistryRepository, desc: Descriptor, chunks: Iterable[bytes]) -> None:
    """Upload a blob unless the registry has it; the bytes must match ``desc`` or nothing is committed.

    Small blobs (at most ``MAX_BUFFERED_UPLOAD``, and ``settings.chunk_size``) are verified in memory and sent
    in one PUT, retried on failure. Larger ones stream in one PUT ``?digest=`` with Content-Length (spec
    "Monolithic upload"; what docker and skopeo do, and the fastest), which cannot be retried; with
    ``settings.chunked_upload`` they go as PATCHes of ``chunk_size`` (or the registry's
    ``OCI-Chunk-Min-Length``, if larger) and a closing PUT, for proxies that cap request bodies. ``chunk_size``
    0 streams every blob.

    The registry is asked whether it has the blob unless this repository's ``has_blob`` just said it has not
    (``transfer`` asks first, to know whether to open the source at all): one HEAD per blob, not two.
    """
    known_absent = desc.digest in repo.absent
    repo.absent.discard(desc.digest)
    if not known_absent and _head(repo, desc.digest):
        return
    what = f"blob {repo.name}@{desc.digest}"
    checked = verify_stream(chunks, desc.digest, size=desc.size, what=f"{what} to upload")
    chunk_size = repo.client.settings.chunk_size
    body: bytes | None = None
    if chunk_size and desc.size <= min(chunk_size, MAX_BUFFERED_UPLOAD):
        body = b"".join(checked)  # raises on wrong bytes before an upload session exists
    location, min_chunk = _start_upload(repo, what)
    committed = False
    try:
        if body is not None:
            _finish(repo, location, desc, body, what)
        elif not chunk_size or not repo.client.settings.chunked_upload:
            _finish(repo, location, desc, checked, what)
        else:
            location = _send_chunks(repo, location, checked, max(chunk_size, min_chunk), what)
            _finish(repo, location, desc, b"", what)
        committed = True
    finally:
        if not committed:
            cancel_upload(repo, location, what)


def mount_blob(repo: RegistryRepository, desc: Descriptor, from_repository: str) -> bool:
    """``POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<repo>``: 201 mounted, 202 not (upload instead)."""
    if from_repository == repo.repository:
        return repo.has_blob(desc.digest)
    if not is_repository_path(from_repository):
        raise InvalidReferenceError(f"invalid repository name {from_repository!r} to mount from")
    what = f"mount of blob {desc.digest.short} from {from_repository} into {repo.name}"
    url = repo.url("blobs/uploads/", {"mount": str(desc.digest), "from": from_repository})
    with repo.client.open("POST", url, what=what, action=Action.PUSH_BLOB, expect=(201, 202),
                          replayable=True, follow=False) as response:
        status = response.status_code
        location = response.headers.get("Location")
        announced = response.headers.get("Docker-Content-Digest")
    if status == 201:
        if announced and announced.strip() != str(desc.digest):
            raise IntegrityError(f"{what}: the registry mounted {announced.strip()} instead",
                                 hint="the registry answered outside the distribution spec")
        return True
    # 202: the registry could not mount and opened an upload session instead; put_blob opens its own.
    if location:
        cancel_upload(repo, repo.client.follow_link(url, location, what=what), what)
    return False


def cancel_upload(repo: RegistryRepository, location: httpx.URL, what: str) -> None:
    """``DELETE <location>`` (spec "Canceling an upload"); best effort, failures are only logged."""
    try:
        with repo.client.open("DELETE", location, what=f"cancel upload of {what}", action=Action.PUSH_BLOB,
                              expect=(200, 202, 204, 404), follow=False):
            pass
    except SupplyChainError as exc:
        logger.debug("could not cancel the upload of %s: %s", what, exc)


def _start_upload(repo: RegistryRepository, what: str) -> tuple[httpx.URL, int]:
    """Open an upload session: its URL and the registry's minimum chunk size (0 when it names none)."""
    url = repo.url("blobs/uploads/")
    with repo.client.open("POST", url, what=what, action=Action.PUSH_BLOB, expect=(202,),
                          replayable=True, follow=False) as response:
        location = response.headers.get("Location")
        min_chunk = response.headers.get("OCI-Chunk-Min-Length", "")
    if not location:
        raise RegistryError(f"{what}: the registry opened an upload without a Location",
                            hint="the registry answered outside the distribution spec")
    return repo.client.follow_link(url, location, what=what), int(min_chunk) if min_chunk.isdigit() else 0


def _send_chunks(
    repo: RegistryRepository, location: httpx.URL, chunks: Iterator[bytes], size: int, what: str
) -> httpx.URL:
    """PATCH ``chunks`` regrouped into pieces of ``size`` bytes; the upload's latest URL."""
    offset = 0
    buffer = bytearray()
    for piece in chunks:
        buffer += piece
        while len(buffer) >= size:
            with memoryview(buffer) as view:
                chunk = bytes(view[:size])
            del buffer[:size]
            location = _patch(repo, location, chunk, offset, what)
            offset += len(chunk)
    if buffer:
        location = _patch(repo, location, bytes(buffer), offset, what)
    return location


def _patch(repo: RegistryRepository, location: httpx.URL, chunk: bytes, offset: int, what: str) -> httpx.URL:
    # Spec "Pushing a blob in chunks": Content-Range is "<start>-<end>" inclusive, without a unit.
    end = offset + len(chunk) - 1
    headers = {"Content-Type": _OCTET_STREAM, "Content-Range": f"{offset}-{end}"}
    with repo.client.open("PATCH", location, what=what, action=Action.PUSH_BLOB, expect=(202,),
                          headers=headers, content=chunk, follow=False) as response:
        following = response.headers.get("Location")
        received = _RANGE.match(response.headers.get("Range", "").strip())
    if received is not None and int(received.group(1)) != end:
        raise RegistryError(
            f"{what}: upload out of step: the registry has bytes 0-{received.group(1)}, we sent up to {end}",
            hint="retry the push",
        )
    return repo.client.follow_link(location, following, what=what) if following else location


def _finish(
    repo: RegistryRepository, location: httpx.URL, desc: Descriptor, body: bytes | Iterator[bytes], what: str
) -> None:
    """The closing ``PUT <location>?digest=`` (with the whole body, the last bytes, or nothing)."""
    # Merge, do not replace: the Location carries the registry's session state in its query (_state=...).
    url = location.copy_merge_params({"digest": str(desc.digest)})
    headers = {"Content-Type": _OCTET_STREAM}
    if not isinstance(body, bytes):
        headers["Content-Length"] = str(desc.size)
    try:
        with repo.client.open("PUT", url, what=what, action=Action.PUSH_BLOB, expect=(201, 204),
                              headers=headers, content=body, follow=False) as response:
            announced = response.headers.get("Docker-Content-Digest")
    except NotFoundError:
        # A retried PUT whose first try did commit finds its session gone: the blob is what counts.
        if repo.has_blob(desc.digest):
            return
        raise
    if announced and announced.strip() != str(desc.digest):
        raise IntegrityError(f"{what}: the registry stored {announced.strip()} instead",
                             hint="the registry answered outside the distribution spec; retry the push")
