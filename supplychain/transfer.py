"""Copy an image, and what is attached to it, from one ``ArtifactStore`` to another.

Registry to layout, layout to registry, registry to registry: the stores do the I/O, this module decides what
to copy and in which order (blobs before the manifests that name them, children before the index, subjects
before their referrers, so a reader never sees a dangling reference). Blobs stream from source to destination
chunk by chunk; neither side holds a whole layer in memory. Digests are preserved: an index is copied whole
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

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from supplychain.digest import Digest
from supplychain.errors import ExitCode, SupplyChainError
from supplychain.graph import DEFAULT_MAX_NODES, NODE_LIMIT, NodeKind, TreeNode, build_tree
from supplychain.oci.attachment import TAG_KINDS
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import AnyManifest, Descriptor, Index, Manifest, Platform
from supplychain.oci.referrers import damaged_tag_hint
from supplychain.oci.store import ArtifactStore, BlobMounter
from supplychain.summary import check_platform, platform_manifest

# Called with (descriptor, bytes moved so far) while a blob streams; total is descriptor.size.
ProgressCallback = Callable[[Descriptor, int], None]

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
    on_progress: ProgressCallback | None = None,
) -> CopyResult:
    """Copy the image ``identifier`` (tag or digest) of ``source`` to ``destination`` (tagged ``tag``).

    With ``platform``, only that platform's manifest of an index is copied (its digest is the child's); an image
    that is not an index must be of that platform (``summary.PlatformMismatchError`` otherwise). Without it, the
    whole index. With ``with_referrers``, OCI referrers and cosign ``.sig/.att/.sbom`` tags of every copied
    manifest follow it; those that fail are recorded in ``failed_attachments`` instead of raising.
    """
    root = source.resolve(identifier)
    if platform is not None:
        top = source.get_manifest(root)
        if isinstance(top, Index):
            root, _ = platform_manifest(source, top, platform)  # its manifest missing: the error names the others
        else:
            check_platform(source, top, platform)
    result = CopyResult(digest=root.digest)
    copier = _Copier(source, destination, result, on_progress)
    copier.copy_manifest(root, tag=tag)
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


class _Copier:
    def __init__(
        self,
        source: ArtifactStore,
        destination: ArtifactStore,
        result: CopyResult,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.source = source
        self.destination = destination
        self.result = result
        self.on_progress = on_progress
        self.done: set[Digest] = set()
        self.docker_manifests = 0

    def copy_manifest(self, desc: Descriptor, *, tag: str | None = None) -> AnyManifest:
        manifest = self.source.get_manifest(desc)
        if desc.digest in self.done and tag is None:
            return manifest
        if desc.digest not in self.done:
            if isinstance(manifest, Index):
                for child in manifest.manifests:
                    if child.is_manifest or child.is_index:
                        self.copy_manifest(child)
            elif isinstance(manifest, Manifest):
                for blob in (manifest.config, *manifest.layers):
                    self.copy_blob(blob)
        # The subject of a referrer must exist first on registries that validate it.
        self.destination.put_manifest(manifest, tag=tag)
        if desc.digest not in self.done and manifest.media_type in _DOCKER_TYPES:
            self.docker_manifests += 1
        self.done.add(desc.digest)
        self.result.manifests += 1
        return manifest

    def copy_blob(self, desc: Descriptor) -> None:
        if desc.digest in self.done:
            return
        if desc.urls or self.destination.has_blob(desc.digest):
            # Foreign layers (with urls) are not redistributed, as registries and skopeo agree.
            self.result.blobs_skipped += 1
        elif isinstance(self.destination, BlobMounter) and self.destination.mount_blob_from(self.source, desc):
            # Two repositories of one registry: the registry links the blob, no byte passes through us.
            self.result.blobs_mounted += 1
        else:
            with self.source.open_blob(desc) as chunks:
                self.destination.put_blob(desc, self._counted(desc, chunks))
            self.result.blobs_copied += 1
        self.done.add(desc.digest)

    def _counted(self, desc: Descriptor, chunks: Iterable[bytes]) -> Iterator[bytes]:
        moved = 0
        for chunk in chunks:
            moved += len(chunk)
            self.result.bytes_copied += len(chunk)
            if self.on_progress is not None:
                self.on_progress(desc, moved)
            yield chunk

    def copy_attachments(self, node: TreeNode) -> None:
        """Copy ``node`` (an attachment, or a platform whose attachments follow) and what hangs below it. An
        attachment that fails is recorded; what hangs below it is not copied (its subject would be missing)."""
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
            for layer in added:
                self.copy_blob(layer)
            append_layers(self.destination, tag, added, {})
        if node.children:
            # Referrers of the source's manifest follow it: keep their subject present (untagged).
            self.copy_manifest(node.descriptor)
        self.done.add(node.descriptor.digest)
        self.result.manifests += 1 if added else 0
        self.result.merged.append(MergedTag(tag, len(added), sum(not is_listed(source.layers, h) for h in held)))
