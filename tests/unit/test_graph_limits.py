"""``build_tree`` over a store whose every manifest has referrers with referrers of their own (issue 7, item 3):
each listing is capped by the store, but the fan-out multiplies them level by level; the tree stops at its node
limit, reads nothing past it, and says what it left out."""

from __future__ import annotations

import json
from collections.abc import Iterator

from supplychain.digest import Digest
from supplychain.errors import NotFoundError
from supplychain.graph import NODE_LIMIT, build_tree
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import EMPTY_DESCRIPTOR, AnyManifest, Descriptor, parse_manifest

FAN_OUT = 30


class FanOutStore:
    """Every manifest it serves has ``FAN_OUT`` referrers, made on demand (an endless, hostile graph)."""

    name = "fan-out"

    def __init__(self) -> None:
        self.manifests: dict[Digest, bytes] = {}
        self.reads = 0

    def _make(self, subject: Descriptor | None, label: str) -> Descriptor:
        doc: dict[str, object] = {"schemaVersion": 2, "mediaType": MediaType.OCI_MANIFEST,
                                  "config": EMPTY_DESCRIPTOR.to_json(), "layers": [], "annotations": {"n": label}}
        if subject is not None:
            doc["artifactType"] = "application/vnd.example.note"
            doc["subject"] = {"mediaType": subject.media_type, "digest": str(subject.digest), "size": subject.size}
        raw = json.dumps(doc).encode()
        self.manifests[Digest.of(raw)] = raw
        return Descriptor(MediaType.OCI_MANIFEST, Digest.of(raw), len(raw),
                          artifact_type="application/vnd.example.note" if subject else None)

    def root(self) -> Descriptor:
        return self._make(None, "root")

    def get_manifest(self, ref: Descriptor) -> AnyManifest:
        self.reads += 1
        return parse_manifest(self.manifests[ref.digest], MediaType.OCI_MANIFEST)

    def referrers(self, subject: Digest) -> list[Descriptor]:
        raw = self.manifests[subject]
        desc = Descriptor(MediaType.OCI_MANIFEST, subject, len(raw))
        return [self._make(desc, f"{subject.hex[:8]}-{i}") for i in range(FAN_OUT)]

    def resolve(self, ref: str) -> Descriptor:
        raise NotFoundError(f"{ref} not found")

    def tags(self) -> Iterator[str]:
        return iter(())


def test_a_fanning_out_graph_stops_at_the_node_limit():
    store = FanOutStore()
    tree = build_tree(store, store.root(), max_nodes=200)  # type: ignore[arg-type]
    nodes = tree.walk()
    read = [node for node in nodes if node.truncated is None]
    assert store.reads == len(read) <= 200  # nothing is read past the limit
    assert len(nodes) <= 200 + 8  # every node counts, cut ones too (at most one more per level being walked)
    cuts = [node.referrers_cut for node in nodes if node.referrers_cut]
    assert cuts and all("the tree reached its limit of 200 manifests" in cut for cut in cuts)


def test_a_graph_under_the_limit_is_whole():
    """The control: with a limit above its size (depth 2: 1 + 30 + 900 manifests) nothing is cut."""
    store = FanOutStore()
    tree = build_tree(store, store.root(), max_depth=2, max_nodes=10_000)  # type: ignore[arg-type]
    nodes = tree.walk()
    assert len(nodes) == 1 + FAN_OUT + FAN_OUT * FAN_OUT
    assert not any(node.referrers_cut for node in nodes)
    assert not any(node.truncated == NODE_LIMIT for node in nodes)
