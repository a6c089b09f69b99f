"""Copy an image, and what is attached to it, from one ``ArtifactStore`` to another.

Registry to layout, layout to registry, registry to registry: the stores do the I/O, this module decides what
to copy and in which order (blobs before the manifests that name them, children before the index, subjects
before their referrers, so a reader never sees a dangling reference). Blobs stream from source to destination
chunk by chunk; neither side holds a whole layer in memory. The blobs of an image (every platform's, for an
index) are independent, so up to ``concurrency`` of them move at once, each on a worker thread (skopeo moves
six); its manifests are put only when every blob they name is there. When one blob fails, the others stop at
their next chunk (each store then takes back what it half wrote: a layout's temp file, a registry's upload
session), every worker is waited for, and the first failure is raised. Digests are preserved: an index is copied whole
unless a platform is chosen, so signatures made over it stay valid. Manifests are copied byte for byte, so a
Docker-typed image stays Docker-typed (``CopyResult.docker_manifests`` counts them).

Nothing only the destination holds is lost: a cosign ``.sig``/``.att``/``.sbom`` tag the destination already
has with layers the source lacks (a mirror's countersignature) is merged, not replaced: the source's layers it
lacks are appended with ``signing.writer.append_layers``, the writer ``sign`` uses (read, append, put, confirm),
and ``CopyResult.merged`` says so. Referrers are added to the destination's referrers tag by its store, which
appends too.

The image is the transaction: an error copying it raises. Its attachments are copied after it, each on its own:
one that fails is recorded in ``CopyResult.failed_attachments`` (verdicts are values, STYLE.md section 3) and the
others are still copied, so the caller can say what was copied before it says what was not.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Protocol

from supplychain.config import DEFAULT_CONCURRENCY, MAX_CONCURRENCY
from supplychain.digest import CheckedStream, Digest
from supplychain.errors import ExitCode, SupplyChainError
from supplychain.graph import DEFAULT_MAX_NODES, NODE_LIMIT, NodeKind, TreeNode, build_tree
from supplychain.oci.attachment import TAG_KINDS
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import AnyManifest, Descriptor, Index, Manifest, Platform
from supplychain.oci.referrers import damaged_tag_hint
from supplychain.oci.store import ArtifactStore, BlobMounter
from supplychain.summary import check_platform, platform_manifest


class ProgressListener(Protocol):
    """What ``copy_image`` says about its blob transfers (``cli.progress.TransferProgress`` draws it). ``moved``
    and ``settled`` are called from the copy's worker threads, up to ``concurrency`` at once."""

    def queued(self, blobs: Sequence[Descriptor]) -> None:
        """These blobs are about to move (those present or mounted are settled with 0 bytes moved)."""

    def moved(self, desc: Descriptor, moved: int) -> None:
        """``moved`` bytes of ``desc`` have streamed so far."""

    def settled(self, desc: Descriptor, moved: int) -> None:
        """``desc`` is at the destination, ``moved`` bytes of it streamed (0: it was there, or was mounted)."""

_DOCKER_TYPES = frozenset({MediaType.DOCKER_MANIFEST, MediaType.DOCKER_MANIFEST_LIST})
# cosign's tags of one layer per item, which the destination may hold more of (merged, never replaced).
_LAYERED_TAGS = frozenset(TAG_KINDS)


@dataclass(frozen=True, slots=True)
class MergedTag:
    """A cosign attachment tag the destination already held with layers the source lacks: the source's layers
    were appended to the destination's manifest instead of replacing it."""

    tag: str
    added: int  # layers of the source appended
    kept: int  # layers only the destination had, kept


@dataclass(frozen=True, slots=True)
class AttachmentFailure:
    """An attachment (its tag, or its digest for a referrer) that was not copied, and why."""

    attachment: str
    reason: str
    exit_code: ExitCode
    hint: str = ""

    @classmethod
    def of(cls, attachment: str, error: SupplyChainError) -> AttachmentFailure:
        return cls(attachment, error.message, error.exit_code, error.hint)


class IncompleteCopyError(SupplyChainError):
    """The image was copied, and some of its attachments were not: says where the image is, which attachment
    failed and why, with the exit code (and hint) of the first failure."""

    def __init__(self, result: CopyResult, destination: str) -> None:
        failed = result.failed_attachments
        first = failed[0]
        more = f" (and {len(failed) - 1} more, listed above)" if len(failed) > 1 else ""
        super().__init__(
            f"the image was copied to {destination}@{result.digest}, but {len(failed)} of "
            f"{len(failed) + len(result.attachments)} attachments were not: {first.attachment}: {first.reason}{more}",
            hint=first.hint or "fix the cause and run the copy again: what is already copied is skipped",
        )
        self.exit_code = first.exit_code
        self.result = result


@dataclass
class CopyResult:
    """What ``copy_image`` did."""

    digest: Digest  # digest of the manifest or index now at the destination
    manifests: int = 0
    blobs_copied: int = 0
    blobs_skipped: int = 0
    blobs_mounted: int = 0  # made present by the destination registry from the source repository (no bytes moved)
    bytes_copied: int = 0
    attachments: list[str] = field(default_factory=list)  # tags and referrer digests copied alongside
    failed_attachments: list[AttachmentFailure] = field(default_factory=list)  # not copied, in tree order
    docker_manifests: int = 0  # manifests of the image copied with a Docker media type (kept as they are)
    merged: list[MergedTag] = field(default_factory=list)  # tags merged with what the destination held

    @property
    def complete(self) -> bool:
        """The image and every attachment asked for were copied."""
        return not self.failed_attachments


def copy_image(
    source: ArtifactStore,
    identifier: str | Digest,
    destination: ArtifactStore,
    *,
    tag: str | None = None,
    platform: Platform | None = None,
    with_referrers: bool = True,
    progress: ProgressListener | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    cancel: threading.Event | None = None,
) -> CopyResult:
    """Copy the image ``identifier`` (tag or digest) of ``source`` to ``destination`` (tagged ``tag``).

    With ``platform``, only that platform's manifest of an index is copied (its digest is the child's); an image
    that is not an index must be of that platform (``summary.PlatformMismatchError`` otherwise). Without it, the
    whole index. With ``with_referrers``, OCI referrers and cosign ``.sig/.att/.sbom`` tags of every copied
    manifest follow it; those that fail are recorded in ``failed_attachments`` instead of raising.
    ``concurrency`` (1 to ``MAX_CONCURRENCY``) blobs move at once; ``progress`` hears of each. ``cancel``, when
    set, stops the blobs at their next chunk (``CopyCancelledError``); the copy sets it itself when a blob of the
    image fails, before it raises, so that other threads of the caller see it stop.
    """
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency must be from 1 to {MAX_CONCURRENCY}, not {concurrency}")
    root = source.resolve(identifier)
    if platform is not None:
        top = source.get_manifest(root)
        if isinstance(top, Index):
            root, _ = platform_manifest(source, top, platform)  # its manifest missing: the error names the others
        else:
            check_platform(source, top, platform)
    result = CopyResult(digest=root.digest)
    copier = _Copier(source, destination, result, progress, concurrency, cancel or threading.Event())
    copier.copy_manifest(root, tag=tag)
    copier.in_image = False
    result.docker_manifests = copier.docker_manifests
    if with_referrers:
        try:
            tree = build_tree(source, root)
        except SupplyChainError as exc:
            result.failed_attachments.append(AttachmentFailure.of(f"the attachments of {root.digest}", exc))
            return result
        for node in tree.children:
            copier.copy_attachments(node)
        # What the walk had to leave out (a listing cut at its cap, the tree's node limit) was not copied: say so,
        # never report such a copy as complete.
        for node in tree.walk():
            if node.referrers_cut is not None:
                result.failed_attachments.append(AttachmentFailure(
                    f"referrers of {node.descriptor.digest}", f"not all copied: {node.referrers_cut}",
                    ExitCode.INTEGRITY, "raise SUPPLYCHAIN_MAX_REFERRERS if the source really has that many"))
    return result


class CopyCancelledError(SupplyChainError):
    """The copy's ``cancel`` event was set (by its caller) before every blob of the image was copied: nothing that
    names the missing blobs was written."""

    exit_code = ExitCode.UNAVAILABLE


@dataclass(frozen=True, slots=True)
class _Stop:
    """When the blobs of one batch stop: the caller's ``cancel`` event, or the batch's own."""

    caller: threading.Event
    batch: threading.Event

    def is_set(self) -> bool:
        return self.batch.is_set() or self.caller.is_set()

    def set(self) -> None:
        self.batch.set()


class _Cancelled(Exception):
    """Raised into a blob's stream when another blob of the copy failed: the stores take back what they half
    wrote, as for a failing source; ``_Copier.move_blobs`` raises the failure that caused it instead."""


class _Copier:
    def __init__(
        self,
        source: ArtifactStore,
        destination: ArtifactStore,
        result: CopyResult,
        progress: ProgressListener | None,
        concurrency: int,
        cancel: threading.Event,
    ) -> None:
        self.source = source
        self.destination = destination
        self.result = result
        self.progress = progress
        self.concurrency = concurrency
        self.cancel = cancel
        self.in_image = True  # False once the image is copied and its attachments follow
        self.done: set[Digest] = set()
        self.docker_manifests = 0
        self._lock = threading.Lock()  # the result's counters and ``done``, updated by the blob workers

    def copy_manifest(self, desc: Descriptor, *, tag: str | None = None) -> AnyManifest:
        """Copy a manifest (an index: its child manifests too), every blob first, then children before parents.
        A manifest already copied is put again only to give it ``tag``."""
        manifest = self.source.get_manifest(desc)
        if desc.digest in self.done and tag is None:
            return manifest
        below: dict[Digest, tuple[Descriptor, AnyManifest]] = {}  # children of an index, children before parents
        blobs: dict[Digest, Descriptor] = {}
        if desc.digest not in self.done:
            self._plan(manifest, below, blobs)
        self.move_blobs(list(blobs.values()))
        for child_desc, child in below.values():
            self._put(child_desc, child, None)
        # The subject of a referrer must exist first on registries that validate it.
        self._put(desc, manifest, tag)
        return manifest

    def _plan(self, manifest: AnyManifest, below: dict[Digest, tuple[Descriptor, AnyManifest]],
              blobs: dict[Digest, Descriptor]) -> None:
        """Collect what ``manifest`` needs: the blobs of it and of every child manifest not yet copied, and those
        children, each after its own children."""
        if isinstance(manifest, Index):
            for child in manifest.manifests:
                planned = child.digest in self.done or child.digest in below
                if (child.is_manifest or child.is_index) and not planned:
                    child_manifest = self.source.get_manifest(child)
                    self._plan(child_manifest, below, blobs)
                    below[child.digest] = (child, child_manifest)
        elif isinstance(manifest, Manifest):
            for blob in (manifest.config, *manifest.layers):
                blobs.setdefault(blob.digest, blob)

    def _put(self, desc: Descriptor, manifest: AnyManifest, tag: str | None) -> None:
        self.destination.put_manifest(manifest, tag=tag)
        if desc.digest not in self.done and manifest.media_type in _DOCKER_TYPES:
            self.docker_manifests += 1
        self.done.add(desc.digest)
        self.result.manifests += 1

    def move_blobs(self, descs: Sequence[Descriptor]) -> None:
        """Make every blob of ``descs`` present at the destination, up to ``concurrency`` at once; on a failure,
        stop the others, wait for every worker, and raise the first failure."""
        pending = [d for d in descs if d.digest not in self.done]
        if not pending:
            return
        if self.progress is not None:
            self.progress.queued(pending)
        # A failure stops this batch. The image's batch is the copy (its failure raises out of copy_image), so it
        # also sets the caller's event; an attachment's failure is a value, and the next attachment still copies.
        stop = _Stop(self.cancel, self.cancel if self.in_image else threading.Event())
        failures: list[BaseException] = []  # in the order they happened; the first is the cause

        def work(desc: Descriptor) -> None:
            if stop.is_set():
                return
            try:
                self._move(desc, stop)
            except BaseException as exc:  # broad: whatever stops one blob stops the others, then is re-raised
                with self._lock:
                    failures.append(exc)
                stop.set()
                raise

        if self.concurrency == 1 or len(pending) == 1:
            for desc in pending:
                with contextlib.suppress(_Cancelled):
                    work(desc)
        else:
            pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(pending)),
                                      thread_name_prefix="copy-blob")
            futures: list[Future[None]] = []
            try:
                futures = [pool.submit(work, desc) for desc in pending]
                wait(futures, return_when=FIRST_EXCEPTION)
            finally:
                # Normally every future is done here. On a failure, or an interrupt of this thread (Ctrl-C), the
                # running blobs stop at their next chunk and the queued ones never start: no worker may still
                # write when the caller cleans up (store.open_destination removes what the copy wrote).
                if failures or not all(f.done() for f in futures):
                    stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
        causes = [f for f in failures if not isinstance(f, _Cancelled)]
        if causes:
            raise causes[0]
        if stop.is_set():
            raise CopyCancelledError("the copy was cancelled before its blobs were all copied",
                                     hint="run it again: what is already copied is skipped")

    def _move(self, desc: Descriptor, stop: _Stop) -> None:
        """One blob: skipped when present (or foreign), else mounted when the destination can, else streamed."""
        moved = 0
        if desc.urls or self.destination.has_blob(desc.digest):
            # Foreign layers (with urls) are not redistributed, as registries and skopeo agree.
            outcome = "skipped"
        elif isinstance(self.destination, BlobMounter) and self.destination.mount_blob_from(self.source, desc):
            # Two repositories of one registry: the registry links the blob, no byte passes through us.
            outcome = "mounted"
        else:
            if stop.is_set():
                raise _Cancelled
            with self.source.open_blob(desc) as chunks:
                counted = _Counted(desc, chunks, stop, self.progress)
                self.destination.put_blob(desc, counted.stream)
                moved = counted.moved
            outcome = "copied"
        with self._lock:
            if outcome == "skipped":
                self.result.blobs_skipped += 1
            elif outcome == "mounted":
                self.result.blobs_mounted += 1
            else:
                self.result.blobs_copied += 1
                self.result.bytes_copied += moved
            self.done.add(desc.digest)
        if self.progress is not None:
            self.progress.settled(desc, moved)

    def copy_attachments(self, node: TreeNode) -> None:
        """Copy ``node`` (an attachment, or a platform whose attachments follow) and what hangs below it. An
        attachment that fails is recorded; what hangs below it is not copied (its subject would be missing)."""
        if self.cancel.is_set():
            raise CopyCancelledError("the copy was cancelled before its attachments were all copied",
                                     hint="run it again: what is already copied is skipped")
        if node.kind is NodeKind.PLATFORM:
            for child in node.children:
                self.copy_attachments(child)
            return
        name = node.tag or str(node.descriptor.digest)
        failed = self.result.failed_attachments
        if node.kind is NodeKind.DAMAGED:
            # Not an index: what it should list cannot be known, so neither it nor its referrers are copied.
            where = f"{self.source.name}:{node.tag}"
            failed.append(AttachmentFailure(name, f"the referrers tag {where} is damaged: {node.truncated}",
                                            ExitCode.INVALID_INPUT, damaged_tag_hint(where)))
            return
        if node.truncated == NODE_LIMIT:
            failed.append(AttachmentFailure(name, "not copied: the attachment graph is larger than "
                                            f"{DEFAULT_MAX_NODES} manifests", ExitCode.INTEGRITY,
                                            "copy the attachments past the limit separately (copy REF@DIGEST)"))
            return
        if node.truncated is not None or node.descriptor.digest in self.done:
            return
        try:
            if node.kind in _LAYERED_TAGS and node.tag is not None:
                self.copy_layered_tag(node, node.tag)
            else:
                self.copy_manifest(node.descriptor, tag=node.tag)
        except CopyCancelledError:
            raise
        except SupplyChainError as exc:
            failed.append(AttachmentFailure.of(name, exc))
            failed.extend(
                AttachmentFailure(below.tag or str(below.descriptor.digest),
                                  f"not copied: it is attached to {name}, which failed", exc.exit_code)
                for below in node.walk()[1:]
                if below.truncated is None
            )
            return
        self.result.attachments.append(name)
        for child in node.children:
            self.copy_attachments(child)

    def copy_layered_tag(self, node: TreeNode, tag: str) -> None:
        """Copy a ``.sig``/``.att``/``.sbom`` manifest to its tag, byte for byte unless the destination's manifest
        there has layers the source's lacks: then the source's missing layers are appended to it."""
        # Imported here: the signing package is large, and most copies (a promotion between repositories, an
        # image without cosign tags) never get here, so they start faster.
        from supplychain.signing.error import SignatureTagError
        from supplychain.signing.writer import append_layers, is_listed, read_signature_layers

        existing, held = read_signature_layers(self.destination, tag)
        source = self.source.get_manifest(node.descriptor)
        if existing is None or not isinstance(source, Manifest) or all(is_listed(source.layers, h) for h in held):
            if existing is not None and not isinstance(source, Manifest):
                raise SignatureTagError(
                    f"{self.source.name}:{tag} holds an image index, which would replace the destination's "
                    f"{len(held)} layers at {self.destination.name}:{tag}: not copied",
                    hint="inspect both tags (supplychain tree); copy --without-referrers leaves the tag alone",
                )
            self.copy_manifest(node.descriptor, tag=tag)  # nothing only the destination has would be lost
            return
        added = [layer for layer in source.layers if not is_listed(held, layer)]
        if added:
            self.move_blobs(added)
            append_layers(self.destination, tag, added, {})
        if node.children:
            # Referrers of the source's manifest follow it: keep their subject present (untagged).
            self.copy_manifest(node.descriptor)
        self.done.add(node.descriptor.digest)
        self.result.manifests += 1 if added else 0
        self.result.merged.append(MergedTag(tag, len(added), sum(not is_listed(source.layers, h) for h in held)))


class _Counted:
    """A blob's stream on its way to the destination, counting what passes (for ``CopyResult`` and the progress
    listener) and ending with ``_Cancelled`` at the next chunk once another blob failed. A source's
    ``CheckedStream`` is watched rather than wrapped, so the destination sees the checked stream itself and
    hashes nothing again (``digest.verify_stream``)."""

    def __init__(self, desc: Descriptor, chunks: Iterable[bytes], stop: _Stop,
                 progress: ProgressListener | None) -> None:
        self.desc = desc
        self.moved = 0
        self._stop = stop
        self._progress = progress
        self.stream: Iterable[bytes] = (chunks.watch(self._count) if isinstance(chunks, CheckedStream)
                                        else self._wrap(chunks))

    def _count(self, size: int) -> None:
        if self._stop.is_set():
            raise _Cancelled
        self.moved += size
        if self._progress is not None:
            self._progress.moved(self.desc, self.moved)

    def _wrap(self, chunks: Iterable[bytes]) -> Iterable[bytes]:
        for chunk in chunks:
            self._count(len(chunk))
            yield chunk
