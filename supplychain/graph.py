"""The graph around an image: platform manifests, OCI 1.1 referrers, and cosign's legacy attachment tags.

``build_tree`` walks it from one digest and returns a value (``TreeNode``) that ``report`` renders and
``transfer`` follows. The walk is cycle-safe (a digest is expanded once; a second sighting is marked, not
followed) and depth-limited, because a referrers tag is written by anyone with push access and can point
anywhere, including back at its own subject. A referrers tag that is not an index (or cannot be read) becomes a
``DAMAGED`` node saying why, rather than ending the walk: what else hangs off the image is still shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from supplychain.digest import Digest
from supplychain.oci.attachment import TAG_KINDS, AttachmentKind
from supplychain.oci.locate import Located, locate
from supplychain.oci.model import Descriptor, Index
from supplychain.oci.store import ArtifactStore

DEFAULT_MAX_DEPTH = 8
# Nodes one tree may hold. Each listing is capped (``limits.MAX_REFERRERS``), but a registry that answers every
# subject with a full listing would otherwise fan out to 1,000 ** depth nodes (issue 7, item 3).
DEFAULT_MAX_NODES = 10_000
NODE_LIMIT = "node limit"


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
) -> TreeNode:
    """Walk the graph below ``root`` (a resolved manifest or index descriptor) in ``store``: at most
    ``max_depth`` levels and ``max_nodes`` manifests read; past that, nodes are ``truncated`` (``NODE_LIMIT``) and
    listings not walked are recorded in ``referrers_cut``."""
    return _Walker(store, max_depth, max_nodes, legacy).expand(NodeKind.ROOT, root, None, 0)


class _Walker:
    def __init__(self, store: ArtifactStore, max_depth: int, max_nodes: int, legacy: bool) -> None:
        self.store = store
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self.legacy = legacy
        self.expanded: set[Digest] = set()
        self.nodes = 0  # every node made, cut ones too: a listing at the depth limit is 1,000 cut nodes

    @property
    def full(self) -> bool:
        return self.nodes >= self.max_nodes

    def expand(self, kind: NodeKind | AttachmentKind, desc: Descriptor, tag: str | None, depth: int) -> TreeNode:
        self.nodes += 1
        if desc.digest in self.expanded:
            return TreeNode(kind, desc, tag, truncated="cycle")
        if depth >= self.max_depth:
            return TreeNode(kind, desc, tag, truncated="depth limit")
        if self.full:
            return TreeNode(kind, desc, tag, truncated=NODE_LIMIT)
        self.expanded.add(desc.digest)
        manifest = self.store.get_manifest(desc)
        children: list[TreeNode] = []
        layers: tuple[Descriptor, ...] = ()
        if isinstance(manifest, Index):
            children.extend(
                self.expand(NodeKind.PLATFORM, entry, None, depth + 1)
                for entry in manifest.manifests
                if entry.is_index or entry.is_manifest
            )
        else:
            layers = manifest.layers
        located = locate(self.store, desc.digest, tags=TAG_KINDS if self.legacy else (), diagnose=True)
        referrers, cut = self._referrers(located, depth)
        children.extend(referrers)
        children.extend(self.expand(found.kind, found.descriptor, found.tag, depth + 1) for found in located.tags)
        return TreeNode(kind, desc, tag, tuple(children), layers=layers, referrers_cut=cut)

    def _referrers(self, located: Located, depth: int) -> tuple[list[TreeNode], str | None]:
        if located.damaged is not None:  # the referrers tag is what broke the listing: show it as a node
            damaged = located.damaged
            return [TreeNode(NodeKind.DAMAGED, damaged.descriptor, damaged.tag, truncated=damaged.reason)], None
        if located.listing_error is not None:  # the tag is fine or absent: the error came from elsewhere
            raise located.listing_error
        nodes: list[TreeNode] = []
        for shown, referrer in enumerate(located.referrers):
            if self.full:  # the rest are not even made into nodes: say how many were left out
                left = len(located.referrers) - shown
                return nodes, (f"the tree reached its limit of {self.max_nodes} manifests: {left} more referrers "
                               f"of {located.subject} are not shown")
            nodes.append(self.expand(NodeKind.REFERRER, referrer.descriptor, None, depth + 1))
        return nodes, located.cut
