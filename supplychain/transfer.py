"""Copy an image, and what is attached to it, from one ``ArtifactStore`` to another.

Registry to layout, layout to registry, registry to registry: the stores do the I/O, this module decides what
to copy and in which order (blobs before the manifests that name them, children before the index, subjects
before their referrers, so a reader never sees a dangling reference). Blobs stream from source to destination
chunk by chunk; neither side holds a whole layer in memory. Digests are preserved: an index is copied whole
unless a platform is chosen, so signatures made over it stay valid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from supplychain.digest import Digest
from supplychain.graph import NodeKind, TreeNode, build_tree
from supplychain.oci.model import AnyManifest, Descriptor, Index, Manifest, Platform
from supplychain.oci.platform import select_platform
from supplychain.oci.store import ArtifactStore

# Called with (descriptor, bytes moved so far) while a blob streams; total is descriptor.size.
ProgressCallback = Callable[[Descriptor, int], None]


@dataclass
class CopyResult:
    """What ``copy_image`` did."""

    digest: Digest  # digest of the manifest or index now at the destination
    manifests: int = 0
    blobs_copied: int = 0
    blobs_skipped: int = 0
    bytes_copied: int = 0
    attachments: list[str] = field(default_factory=list)  # tags and referrer digests copied alongside


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

    With ``platform``, only that platform's manifest of an index is copied (its digest is the child's);
    otherwise the whole index. With ``with_referrers``, OCI referrers and cosign ``.sig/.att/.sbom`` tags of
    every copied manifest follow it.
    """
    root = source.resolve(identifier)
    if platform is not None:
        top = source.get_manifest(root)
        if isinstance(top, Index):
            root = select_platform(top, platform)
    result = CopyResult(digest=root.digest)
    copier = _Copier(source, destination, result, on_progress)
    copier.copy_manifest(root, tag=tag)
    if with_referrers:
        tree = build_tree(source, root)
        for node in tree.walk()[1:]:
            if node.kind is NodeKind.PLATFORM:
                continue
            copier.copy_attachment(node)
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
        self.done.add(desc.digest)
        self.result.manifests += 1
        return manifest

    def copy_blob(self, desc: Descriptor) -> None:
        if desc.digest in self.done:
            return
        if desc.urls or self.destination.has_blob(desc.digest):
            # Foreign layers (with urls) are not redistributed, as registries and skopeo agree.
            self.result.blobs_skipped += 1
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

    def copy_attachment(self, node: TreeNode) -> None:
        if node.truncated is not None or node.descriptor.digest in self.done:
            return
        self.copy_manifest(node.descriptor, tag=node.tag)
        self.result.attachments.append(node.tag or str(node.descriptor.digest))
