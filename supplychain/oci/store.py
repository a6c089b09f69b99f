"""The ``ArtifactStore`` protocol: one repository's content, wherever it lives.

``supplychain.registry.RegistryRepository`` (a repository in an OCI distribution registry) and
``supplychain.layout.OciLayout`` (an OCI image layout directory) implement it. Domain logic (signing, verify,
copy, tree) receives a store and never knows which one it has (STYLE.md section 1).

Contract every implementation keeps:
- every manifest and blob handed out has been checked against its digest and its size caps;
- ``put_manifest`` of a manifest with a ``subject`` makes it findable by ``referrers(subject)``: a store whose
  backend indexes referrers itself says so, others maintain the referrers tag ``<alg>-<hex>`` (distribution
  spec 1.1, "Referrers tag schema");
- nothing is left half-written when an operation fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from supplychain.digest import Digest
from supplychain.oci.model import AnyManifest, Descriptor


@dataclass(frozen=True, slots=True)
class PushResult:
    """What ``put_manifest`` did."""

    descriptor: Descriptor
    # The backend indexes referrers itself (registry returned OCI-Subject); no referrers tag was written.
    subject_indexed: bool = False


@runtime_checkable
class ArtifactStore(Protocol):
    """One repository of manifests, blobs, tags and referrers."""

    @property
    def name(self) -> str:
        """Human name of the repository (``registry/repo`` or ``oci:path``), for messages."""
        ...

    def resolve(self, ref: str | Digest) -> Descriptor:
        """Tag or digest to the manifest's descriptor (digest, media type, size). Raises ``NotFoundError``."""
        ...

    def get_manifest(self, ref: str | Digest | Descriptor) -> AnyManifest:
        """Fetch, check (digest, 4 MiB cap) and parse a manifest or index."""
        ...

    def put_manifest(self, manifest: AnyManifest, *, tag: str | None = None) -> PushResult:
        """Store ``manifest.raw`` (by digest, and under ``tag`` if given); maintain referrers for a subject."""
        ...

    def delete_manifest(self, digest: Digest) -> None:
        """Delete a manifest by digest (and any tags pointing at it where the backend allows)."""
        ...

    def has_blob(self, digest: Digest) -> bool:
        """Whether the blob is already stored (skip uploads)."""
        ...

    def open_blob(self, desc: Descriptor) -> AbstractContextManager[Iterator[bytes]]:
        """Stream a blob's bytes; the iterator raises ``DigestMismatchError`` before its end on bad content."""
        ...

    def get_blob(self, desc: Descriptor, *, limit: int | None = None) -> bytes:
        """Read a small blob whole, checked against its digest and capped at ``limit`` bytes."""
        ...

    def put_blob(self, desc: Descriptor, chunks: Iterable[bytes]) -> None:
        """Store a blob from a stream of chunks; the bytes must match ``desc.digest`` and ``desc.size``. A blob the
        store already has is not written again (a registry asks with one ``HEAD``, a layout looks at the file), so
        a caller needs no ``has_blob`` of its own first: that would send the ``HEAD`` twice."""
        ...

    def tags(self, *, page_size: int | None = None) -> Iterator[str]:
        """Every tag of the repository (paginated lazily where the backend pages: ``page_size`` tags a page)."""
        ...

    def referrers(self, subject: Digest, artifact_type: str | None = None) -> list[Descriptor]:
        """Descriptors of manifests whose ``subject`` is ``subject`` (API or referrers tag, merged)."""
        ...

    def close(self) -> None:
        """Release connections and files; the store is unusable afterwards. Safe to call twice."""
        ...

    def __enter__(self) -> Self:
        """``with open_store(...) as store:`` closes the store on the way out."""
        ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """``close()``."""
        ...


class ClosesOnExit:
    """``with store:`` closes it: the ``__enter__``/``__exit__`` of the ``ArtifactStore`` protocol, once, for every
    store that has a ``close``."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@runtime_checkable
class ReclaimsBlobs(Protocol):
    """A store whose manifest deletes leave blobs behind (an OCI layout: ``delete_manifest`` drops only the
    ``index.json`` entries). A registry needs no such step: its own garbage collection reclaims blobs."""

    def remove_unreachable(self, candidates: Iterable[Digest]) -> list[Digest]:
        """Delete those of ``candidates`` that nothing the store still lists reaches; return their digests."""


@runtime_checkable
class BlobMounter(Protocol):
    """A store that can make a blob present without its bytes passing through the client: a registry repository
    mounting it from another repository of the same registry (distribution spec "Mounting a blob from another
    repository"). ``transfer`` tries it before streaming a blob."""

    def mount_blob_from(self, source: ArtifactStore, desc: Descriptor) -> bool:
        """Mount ``desc`` from ``source`` when it is another repository of this registry; ``False`` when it is
        not, or when the registry declined (the caller uploads instead)."""
        ...


@runtime_checkable
class LocksTags(Protocol):
    """A store that can make one writer's read-change-put of a tag exclusive: an OCI layout (an ``flock`` that
    other processes and threads on the same machine take too), a registry repository for the writers of this
    user on this machine (a lock file). The distribution spec itself has no lock or compare-and-swap on a tag, so
    ``oci.tagwriter`` also confirms each put by reading the tag again (writers on other machines)."""

    # Whether every writer of the store's tags takes this lock: an OCI layout's ``flock`` (they all write through
    # its file system), not a registry's lock file (this machine's writers only), whose puts ``oci.tagwriter``
    # confirms once more a moment later.
    locks_every_writer: bool

    def lock_tag(self, tag: str) -> AbstractContextManager[None]:
        """Within the block, no other writer that takes this lock changes ``tag`` of the store."""
        ...


@runtime_checkable
class KnowsTags(Protocol):
    """A store that can tell, without a request, that a tag does not exist: a registry repository that listed its
    tags once for the run (``registry.tagsnapshot``). Attachment lookups (``oci.locate``, the referrers tag) ask
    first and skip the probe; writers never do (another writer may have made the tag since)."""

    def lacks_tag(self, tag: str) -> bool:
        """``True`` when ``tag`` is known not to exist; ``False`` when it exists or nothing is known."""
        ...


@runtime_checkable
class ConcurrentReads(Protocol):
    """A store that serves several reads at once to good effect: a registry repository, one round trip each, up to
    its client's in-flight cap. Readers of independent documents (``graph``, ``oci.locate``, ``verify``'s evidence)
    run that many at once; any other store (a layout on local disk) is read one document at a time."""

    @property
    def read_concurrency(self) -> int:
        """How many independent reads to run at once (at least 1)."""
        ...


# Looked up by attribute, not isinstance: a runtime protocol check costs more than the lookup it guards (once per
# node of a tree of thousands).


def lacks_tag(store: ArtifactStore, tag: str) -> bool:
    """``KnowsTags.lacks_tag`` where the store has it, else ``False`` (ask the store)."""
    lacks = getattr(store, "lacks_tag", None)
    return bool(lacks(tag)) if callable(lacks) else False


def read_concurrency(store: ArtifactStore) -> int:
    """``ConcurrentReads.read_concurrency`` where the store has it, else 1."""
    count = getattr(store, "read_concurrency", 1)
    return max(1, count) if isinstance(count, int) else 1
