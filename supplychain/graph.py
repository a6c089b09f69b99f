"""The graph around an image: platform manifests, OCI 1.1 referrers, and cosign's legacy attachment tags.

``build_tree`` walks it from one digest and returns a value (``TreeNode``) that ``report`` renders and
``transfer`` follows. The walk is cycle-safe (a digest is expanded once; a second sighting is marked, not
followed) and depth-limited, because a referrers tag is written by anyone with push access and can point
anywhere, including back at its own subject. A referrers tag that is not an index (or cannot be read) becomes a
``DAMAGED`` node saying why, rather than ending the walk: what else hangs off the image is still shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from supplychain.digest import Digest
from supplychain.oci.attachment import TAG_KINDS, AttachmentKind
from supplychain.oci.locate import Attachment, Located, locate
from supplychain.oci.model import AnyManifest, Descriptor, Index
from supplychain.oci.store import ArtifactStore, read_concurrency
from supplychain.parallel import READ_AHEAD_BYTES

DEFAULT_MAX_DEPTH = 8
# Nodes one tree may hold. Each listing is capped (``limits.MAX_REFERRERS``), but a registry that answers every
# subject with a full listing would otherwise fan out to 1,000 ** depth nodes (issue 7, item 3).
DEFAULT_MAX_NODES = 10_000
NODE_LIMIT = "node limit"
T = TypeVar("T")


class NodeKind(StrEnum):
    """How a node hangs off its parent, where it is not a cosign tag (those nodes are of the ``AttachmentKind``
    of their tag: ``signature``, ``attestation``, ``sbom``)."""

    ROOT = "root"
    PLATFORM = "platform"  # an entry of an image index
    REFERRER = "referrer"  # OCI 1.1 referrer (API or referrers tag)
    DAMAGED = "damaged"  # a referrers tag that is not a readable index (``truncated`` says why)


@dataclass(frozen=True, slots=True)
class TreeNode:
    """One manifest in the graph and what hangs off it."""

    kind: NodeKind | AttachmentKind
    descriptor: Descriptor
    tag: str | None = None  # the tag it was found under (cosign attachments)
    children: tuple[TreeNode, ...] = ()
    # Set instead of children when the walk stopped here: "cycle", "depth limit", or why a node is damaged.
    truncated: str | None = None
    layers: tuple[Descriptor, ...] = field(default=())
    # The store cut this node's referrers listing at its cap (``oci.referrers.listing_cut``): why, in words.
    referrers_cut: str | None = None

    def walk(self) -> list[TreeNode]:
        """This node and every node below it, depth first."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


def build_tree(
    store: ArtifactStore,
    root: Descriptor,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_nodes: int = DEFAULT_MAX_NODES,
    legacy: bool = True,
    workers: int | None = None,
) -> TreeNode:
    """Walk the graph below ``root`` (a resolved manifest or index descriptor) in ``store``: at most
    ``max_depth`` levels and ``max_nodes`` manifests read; past that, nodes are ``truncated`` (``NODE_LIMIT``) and
    listings not walked are recorded in ``referrers_cut``.

    The reads (each node's manifest and attachment lookups) are independent: up to ``workers`` run at once
    (default: the store's ``read_concurrency``), a few nodes ahead of the walk, which itself stays sequential and
    depth first, so the tree, its cuts and the first error are the same at any concurrency."""
    count = read_concurrency(store) if workers is None else max(1, workers)
    walker = _Walker(store, max_depth, max_nodes, legacy, count)
    try:
        return walker.expand(NodeKind.ROOT, root, None, 0)
    finally:
        walker.close()


class _Walker:
    def __init__(self, store: ArtifactStore, max_depth: int, max_nodes: int, legacy: bool, workers: int) -> None:
        self.store = store
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self.legacy = legacy
        self.expanded: set[Digest] = set()
        self.nodes = 0  # every node made, cut ones too: a listing at the depth limit is 1,000 cut nodes
        self.workers = workers
        # Reads started ahead of the walk: a node's manifest and its attachments, by digest, until the walk uses them.
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="supplychain-tree") \
            if workers > 1 else None
        self._ahead: dict[Digest, tuple[int, Future[AnyManifest], Future[Located]]] = {}
        self._ahead_bytes = 0  # their declared manifest sizes, within READ_AHEAD_BYTES

    @property
    def full(self) -> bool:
        return self.nodes >= self.max_nodes

    def close(self) -> None:
        """Drop the reads the walk did not use (cut nodes) and stop the pool."""
        if self._pool is None:
            return
        for _, manifest, located in self._ahead.values():
            manifest.cancel()
            located.cancel()
        self._ahead.clear()
        self._pool.shutdown(wait=True)

    # -- reads -------------------------------------------------------------------------------------------------

    def _read_manifest(self, desc: Descriptor) -> AnyManifest:
        return self.store.get_manifest(desc)

    def _locate(self, desc: Descriptor) -> Located:
        # One lookup after the other within a node: the pool already runs several nodes at once.
        return locate(self.store, desc.digest, tags=TAG_KINDS if self.legacy else (), diagnose=True, workers=1)

    def _prefetch(self, descs: Iterable[Descriptor], depth: int) -> None:
        """Start the reads of the nodes in ``descs`` (children at ``depth``) that the walk will expand."""
        if self._pool is None or depth >= self.max_depth:
            return
        for desc in descs:
            if desc.digest in self.expanded or desc.digest in self._ahead:
                continue
            if self.nodes + len(self._ahead) >= self.max_nodes:
                return
            if self._ahead and self._ahead_bytes + desc.size > READ_AHEAD_BYTES:  # hostile sizes: one at a time
                return
            self._ahead[desc.digest] = (desc.size, self._pool.submit(self._read_manifest, desc),
                                        self._pool.submit(self._locate, desc))
            self._ahead_bytes += desc.size

    def _reads(self, desc: Descriptor) -> tuple[Callable[[], AnyManifest], Callable[[], Located]]:
        """How to get ``desc``'s manifest and attachments: from the reads started ahead, else now, in this order."""
        if desc.digest not in self._ahead:
            self._prefetch((desc,), 0)  # the root, or a node not foreseen: both reads at once all the same
        ahead = self._ahead.pop(desc.digest, None)
        if ahead is None:
            return (lambda: self._read_manifest(desc)), (lambda: self._locate(desc))
        size, manifest, located = ahead
        self._ahead_bytes -= size
        return manifest.result, located.result

    def _each(self, items: Sequence[T], descriptor: Callable[[T], Descriptor], depth: int) -> Iterator[T]:
        """``items`` in order, the reads of the next ``2 * workers`` of them (children at ``depth``) started before
        each is expanded: a window, so the documents read ahead stay few however long the listing."""
        for i, item in enumerate(items):
            self._prefetch(map(descriptor, items[i:i + 2 * self.workers]), depth)
            yield item

    # -- the walk ----------------------------------------------------------------------------------------------

    def expand(self, kind: NodeKind | AttachmentKind, desc: Descriptor, tag: str | None, depth: int) -> TreeNode:
        self.nodes += 1
        if desc.digest in self.expanded:
            return TreeNode(kind, desc, tag, truncated="cycle")
        if depth >= self.max_depth:
            return TreeNode(kind, desc, tag, truncated="depth limit")
        if self.full:
            return TreeNode(kind, desc, tag, truncated=NODE_LIMIT)
        read_manifest, read_located = self._reads(desc)
        self.expanded.add(desc.digest)
        manifest = read_manifest()
        children: list[TreeNode] = []
        layers: tuple[Descriptor, ...] = ()
        if isinstance(manifest, Index):
            entries = [entry for entry in manifest.manifests if entry.is_index or entry.is_manifest]
            children.extend(self.expand(NodeKind.PLATFORM, entry, None, depth + 1)
                            for entry in self._each(entries, _itself, depth + 1))
        else:
            layers = manifest.layers
        located = read_located()
        referrers, cut = self._referrers(located, depth)
        children.extend(referrers)
        children.extend(self.expand(found.kind, found.descriptor, found.tag, depth + 1)
                        for found in self._each(located.tags, _descriptor, depth + 1))
        return TreeNode(kind, desc, tag, tuple(children), layers=layers, referrers_cut=cut)

    def _referrers(self, located: Located, depth: int) -> tuple[list[TreeNode], str | None]:
        if located.damaged is not None:  # the referrers tag is what broke the listing: show it as a node
            damaged = located.damaged
            return [TreeNode(NodeKind.DAMAGED, damaged.descriptor, damaged.tag, truncated=damaged.reason)], None
        if located.listing_error is not None:  # the tag is fine or absent: the error came from elsewhere
            raise located.listing_error
        nodes: list[TreeNode] = []
        for shown, referrer in enumerate(self._each(located.referrers, _descriptor, depth + 1)):
            if self.full:  # the rest are not even made into nodes: say how many were left out
                left = len(located.referrers) - shown
                return nodes, (f"the tree reached its limit of {self.max_nodes} manifests: {left} more referrers "
                               f"of {located.subject} are not shown")
            nodes.append(self.expand(NodeKind.REFERRER, referrer.descriptor, None, depth + 1))
        return nodes, located.cut


def _itself(desc: Descriptor) -> Descriptor:
    return desc


def _descriptor(found: Attachment) -> Descriptor:
    return found.descriptor
