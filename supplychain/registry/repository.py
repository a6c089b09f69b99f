"""``RegistryRepository``: one repository of an OCI distribution registry as an ``ArtifactStore``.

Manifests (distribution spec "Pulling manifests", "Pushing manifests", "Deleting manifests"), tags ("Listing
tags"), and the entry points for blobs (``supplychain.registry.blob``) and referrers
(``supplychain.registry.referrer``). Every manifest handed out was size-capped while it streamed and checked
against its digest: the one asked for, or, by tag, the ``Docker-Content-Digest`` the registry announced.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import httpx

from supplychain.digest import Digest
from supplychain.errors import (
    DigestMismatchError,
    IntegrityError,
    InvalidDigestError,
    InvalidManifestError,
    InvalidReferenceError,
    RegistryError,
    SizeLimitError,
)
from supplychain.files import locked_file, user_lock_directory
from supplychain.oci.mediatype import ALL_MANIFEST_TYPES, MANIFEST_ACCEPT
from supplychain.oci.model import AnyManifest, Descriptor, parse_manifest
from supplychain.oci.store import ArtifactStore, ClosesOnExit, PushResult
from supplychain.reference import TAG_HINT, is_repository_path, is_tag
from supplychain.registry import blob, referrer
from supplychain.registry.errors import Action

if TYPE_CHECKING:
    from supplychain.registry.client import RegistryClient



logger = logging.getLogger("supplychain.registry")


class RegistryRepository(ClosesOnExit):
    """A repository (``library/alpine``) on a registry, implementing ``supplychain.oci.store.ArtifactStore``."""

    def __init__(self, client: RegistryClient, repository: str, *, owns_client: bool = True) -> None:
        if not is_repository_path(repository):
            raise InvalidReferenceError(f"invalid repository name {repository!r}")
        self.client = client
        self.repository = repository
        self._owns_client = owns_client  # False: a client shared by a run (``registry.RegistryPool``) closes it
        # Blobs a HEAD just found missing here, taken by the put_blob that follows (registry.blob): a caller that
        # asks has_blob before it opens its source (transfer) does not make the upload ask again. Set operations
        # are atomic, so threads uploading different blobs at once (copy --concurrency) can share it.
        self.absent: set[Digest] = set()

    @property
    def name(self) -> str:
        """``host/repository``, for messages."""
        return f"{self.client.host}/{self.repository}"

    def close(self) -> None:
        """Close the underlying ``RegistryClient`` (and its HTTP client if it built one), unless it is shared."""
        if self._owns_client:
            self.client.close()

    def __repr__(self) -> str:
        return f"RegistryRepository({self.name!r})"

    def url(self, path: str, params: dict[str, str] | None = None) -> httpx.URL:
        """``/v2/<name>/<path>`` on the registry."""
        return self.client.url(f"/v2/{self.repository}/{path}", params)

    # -- manifests ---------------------------------------------------------------------------------

    def resolve(self, ref: str | Digest) -> Descriptor:
        """The descriptor of the manifest ``ref`` names: a HEAD, or a GET when HEAD lacks the digest."""
        identifier, expected = _identifier(ref)
        what = f"manifest {self.name}{_sep(identifier)}{identifier}"
        with self.client.open("HEAD", self.url(f"manifests/{identifier}"), what=what, action=Action.PULL,
                              expect=(200,), headers={"Accept": MANIFEST_ACCEPT}) as response:
            announced = response.headers.get("Docker-Content-Digest")
            media_type = _media_type(response.headers.get("Content-Type"))
            length = response.headers.get("Content-Length", "")
        if announced and media_type in ALL_MANIFEST_TYPES and length.isdigit():
            digest = _header_digest(announced, what=what)
            if expected is not None and digest != expected:
                raise DigestMismatchError(str(expected), str(digest), what=what)
            if int(length) > self.client.settings.max_manifest_bytes:
                raise SizeLimitError(f"{what} is {length} bytes, over the manifest limit",
                                     hint="manifests over 4 MiB are refused (distribution spec)")
            return Descriptor(media_type, digest, int(length))
        # Some registries (and proxies) drop the header on HEAD: fetch and hash it ourselves.
        manifest = self.get_manifest(ref)
        return Descriptor(manifest.media_type, manifest.digest, len(manifest.raw))

    def get_manifest(self, ref: str | Digest | Descriptor) -> AnyManifest:
        """Fetch a manifest or index, capped at 4 MiB and checked against its digest, and parse it.

        By digest (or descriptor) the bytes must hash to that digest; by tag the registry's
        ``Docker-Content-Digest``, when sent, must equal the hash of the bytes (trust on first use otherwise).
        """
        limit = self.client.settings.max_manifest_bytes
        declared_type = None
        if isinstance(ref, Descriptor):
            declared_type = ref.media_type
            if ref.size > limit:
                raise SizeLimitError(f"manifest {ref.digest.short} is {ref.size} bytes, over the {limit}-byte limit",
                                     hint="manifests over 4 MiB are refused (distribution spec)")
            ref = ref.digest
        identifier, expected = _identifier(ref)
        what = f"manifest {self.name}{_sep(identifier)}{identifier}"
        with self.client.open("GET", self.url(f"manifests/{identifier}"), what=what, action=Action.PULL,
                              expect=(200,), headers={"Accept": MANIFEST_ACCEPT}) as response:
            raw = self.client.read(response, limit=limit, what=what)
            announced = response.headers.get("Docker-Content-Digest")
            served_type = _media_type(response.headers.get("Content-Type"))
        if expected is not None:
            expected.verify(raw, what=what)
        if announced:
            claimed = _header_digest(announced, what=what)
            claimed.verify(raw, what=f"{what} (Docker-Content-Digest)")
        media_type = served_type if served_type in ALL_MANIFEST_TYPES else declared_type
        if media_type is None and served_type not in _GENERIC_TYPES:
            media_type = served_type
        try:
            return parse_manifest(raw, media_type)
        except (InvalidManifestError, SizeLimitError) as exc:
            raise type(exc)(f"{what}: {exc.message}", hint=exc.hint) from exc

    def put_manifest(self, manifest: AnyManifest, *, tag: str | None = None) -> PushResult:
        """Push ``manifest.raw`` (under ``tag`` if given, else by digest) with its ``Content-Type``.

        A manifest with a ``subject`` is made findable by ``referrers``: when the registry answers
        ``OCI-Subject: <subject digest>`` it indexes it itself (distribution spec 1.1 "Pushing manifests with
        subject"); otherwise the referrers tag is updated (``supplychain.registry.referrer``).
        """
        if tag is not None and not is_tag(tag):
            raise InvalidReferenceError(f"invalid tag {tag!r}",
                                        hint=TAG_HINT)
        if len(manifest.raw) > self.client.settings.max_manifest_bytes:
            raise SizeLimitError(f"manifest is {len(manifest.raw)} bytes, over the manifest limit",
                                 hint="registries need not accept manifests over 4 MiB (distribution spec)")
        identifier = tag or str(manifest.digest)
        what = f"manifest {self.name}{_sep(identifier)}{identifier}"
        with self.client.open("PUT", self.url(f"manifests/{identifier}"), what=what,
                              action=Action.PUSH_MANIFEST, expect=(200, 201, 202),
                              headers={"Content-Type": manifest.media_type}, content=manifest.raw) as response:
            announced = response.headers.get("Docker-Content-Digest")
            subject_header = response.headers.get("OCI-Subject")
        if announced:
            stored = _header_digest(announced, what=what)
            if stored.algorithm == manifest.digest.algorithm and stored != manifest.digest:
                raise IntegrityError(
                    f"{what}: the registry stored it as {stored}, not {manifest.digest}",
                    hint="the registry rewrote the manifest; refer to it by the registry's digest or use "
                    "another registry",
                )
        if tag is not None:
            self.client.tag_snapshots.added(self.repository, tag)
        descriptor = manifest.descriptor()
        if manifest.subject is None:
            return PushResult(descriptor)
        if subject_header is not None and subject_header.strip() == str(manifest.subject.digest):
            return PushResult(descriptor, subject_indexed=True)
        referrer.add_to_referrers_tag(self, manifest.subject.digest, descriptor)
        return PushResult(descriptor)

    def delete_manifest(self, digest: Digest) -> None:
        """Delete the manifest ``digest`` (its tags go with it) and take it out of its subject's referrers tag.

        Distribution spec 1.1 "Deleting manifests": a client using the referrers tag schema SHOULD update the
        tag, so the manifest is read first to learn its subject (an unreadable one is still deleted).
        """
        subject = None
        try:
            subject = self.get_manifest(digest).subject
        except (InvalidManifestError, IntegrityError):
            subject = None
        what = f"manifest {self.name}@{digest}"
        with self.client.open("DELETE", self.url(f"manifests/{digest}"), what=what, action=Action.DELETE,
                              expect=(200, 202, 204)):
            pass
        self.client.tag_snapshots.forget(self.repository)  # its tags went with it
        if subject is not None:
            referrer.remove_from_referrers_tag(self, subject.digest, digest)

    # -- tags and referrers ---------------------------------------------------------------------------

    def tags(self, *, page_size: int | None = None) -> Iterator[str]:
        """Every tag (``GET /v2/<name>/tags/list``, ``Link``-paginated lazily; ``page_size`` asks ``n=``)."""
        params = {"n": str(page_size)} if page_size else None
        return self.client.list_pages(self.url("tags/list", params), "tags", what=f"tags of {self.name}")

    def lacks_tag(self, tag: str) -> bool:
        """``oci.store.KnowsTags``: whether the run's listing of this repository's tags (taken once lookups make it
        pay: ``registry.tagsnapshot``) says ``tag`` does not exist; ``False`` when it exists or is not known."""
        return self.client.tag_snapshots.lacks(self.repository, tag, self.tags)

    @property
    def read_concurrency(self) -> int:
        """``oci.store.ConcurrentReads``: independent reads worth running at once (the client's in-flight cap)."""
        return self.client.in_flight.limit

    def referrers(self, subject: Digest, artifact_type: str | None = None) -> list[Descriptor]:
        """Manifests whose ``subject`` is ``subject``: the referrers API, else/also the referrers tag."""
        return referrer.list_referrers(self, subject, artifact_type)

    # -- blobs -----------------------------------------------------------------------------------------

    def has_blob(self, digest: Digest) -> bool:
        """Whether the registry has the blob (``HEAD /v2/<name>/blobs/<digest>``)."""
        return blob.has_blob(self, digest)

    def open_blob(self, desc: Descriptor) -> AbstractContextManager[Iterator[bytes]]:
        """Stream a blob, checked against ``desc`` while it streams (raises before the end on bad bytes)."""
        return blob.open_blob(self, desc)

    def get_blob(self, desc: Descriptor, *, limit: int | None = None) -> bytes:
        """A small blob read whole (default cap: ``settings.max_attachment_bytes``), digest-checked."""
        cap = self.client.settings.max_attachment_bytes if limit is None else limit
        if desc.size > cap:
            raise SizeLimitError(f"blob {desc.digest.short} is {desc.size} bytes, over the {cap}-byte limit",
                                 hint="raise the limit (SUPPLYCHAIN_MAX_ATTACHMENT_SIZE) only if you trust "
                                 "the source")
        with self.open_blob(desc) as chunks:
            return b"".join(chunks)

    def put_blob(self, desc: Descriptor, chunks: Iterable[bytes]) -> None:
        """Upload a blob (skipped when present): monolithic when small, chunked PATCHes when large."""
        blob.put_blob(self, desc, chunks)

    def mount_blob(self, desc: Descriptor, from_repository: str) -> bool:
        """Mount a blob from another repository of this registry; ``False`` when it must be uploaded."""
        return blob.mount_blob(self, desc, from_repository)

    locks_every_writer = False  # oci.store.LocksTags: writers on other machines take no lock of ours

    @contextlib.contextmanager
    def lock_tag(self, tag: str) -> Iterator[None]:
        """``oci.store.LocksTags``: the lock of ``tag`` of this repository for the writers of this user on this
        machine (a lock file in ``files.user_lock_directory``, keyed by registry, repository and tag). The registry
        itself has nothing to lock with (``oci.tagwriter``); without a usable lock directory, nothing is locked."""
        directory = user_lock_directory()
        with contextlib.ExitStack() as stack:
            if directory is not None:
                key = hashlib.sha256(f"{self.client.scheme}://{self.name}:{tag}".encode()).hexdigest()
                try:
                    stack.enter_context(locked_file(directory / f"tag-{key}.lock"))
                except OSError as exc:
                    logger.debug("cannot lock %s:%s on this machine (%s); relying on the confirming read",
                                 self.name, tag, exc)
            yield

    def mount_blob_from(self, source: ArtifactStore, desc: Descriptor) -> bool:
        """``oci.store.BlobMounter``: mount ``desc`` from ``source`` when it is another repository of this
        registry (same scheme and host); ``False`` for any other store, or when the registry declines (202)."""
        if not isinstance(source, RegistryRepository) or source.repository == self.repository:
            return False
        if (source.client.scheme, source.client.host) != (self.client.scheme, self.client.host):
            return False
        return self.mount_blob(desc, source.repository)


# Content types that say nothing about which manifest kind this is (sniff the document instead).
_GENERIC_TYPES = frozenset({None, "application/json", "text/plain", "application/octet-stream"})


def _identifier(ref: str | Digest) -> tuple[str, Digest | None]:
    """The URL path element for ``ref`` and the digest it pins (``None`` for a tag)."""
    if isinstance(ref, Digest):
        return str(ref), ref
    if ":" in ref:
        try:
            digest = Digest.parse(ref)
        except InvalidDigestError as exc:
            raise InvalidReferenceError(f"invalid manifest reference {ref!r}: {exc.message}") from exc
        return str(digest), digest
    if not is_tag(ref):
        raise InvalidReferenceError(f"invalid tag {ref!r}",
                                    hint=TAG_HINT)
    return ref, None


def _sep(identifier: str) -> str:
    return "@" if ":" in identifier else ":"


def _media_type(header: str | None) -> str | None:
    if not header:
        return None
    return header.split(";")[0].strip().lower() or None


def _header_digest(value: str, *, what: str) -> Digest:
    try:
        return Digest.parse(value.strip())
    except InvalidDigestError as exc:
        raise RegistryError(f"{what}: the registry sent an invalid Docker-Content-Digest {value!r}",
                            hint="the registry answered outside the distribution spec") from exc

