"""Images built in a test (or a benchmark) through the store protocol: a multi-platform index of small images, for
``sign --recursive`` on a registry or an OCI layout."""

from __future__ import annotations

import json

from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import Descriptor, Platform, build_index, build_manifest
from supplychain.oci.store import ArtifactStore

# Twenty distinct os/architecture[/variant] pairs, as a large multi-platform release lists.
PLATFORMS = tuple(Platform.parse(p) for p in (
    "linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/386", "linux/ppc64le", "linux/s390x",
    "linux/riscv64", "linux/mips64le", "linux/loong64", "windows/amd64", "windows/arm64", "freebsd/amd64",
    "freebsd/arm64", "darwin/amd64", "darwin/arm64", "netbsd/amd64", "openbsd/amd64", "solaris/amd64",
    "illumos/amd64",
))


def put_platform_index(
    store: ArtifactStore, count: int = 20, *, tag: str = "multi"
) -> tuple[Descriptor, list[Descriptor]]:
    """Push an index of ``count`` one-layer images (one per platform of ``PLATFORMS``, cycling with a variant
    suffix past 20) tagged ``tag``; the index and its platform manifests, in index order."""
    children: list[Descriptor] = []
    for n in range(count):
        base = PLATFORMS[n % len(PLATFORMS)]
        platform = base if n < len(PLATFORMS) else Platform(base.os, base.architecture, f"v{n}")
        layer = f"layer of image {n}\n".encode()
        layer_desc = Descriptor.for_bytes(MediaType.OCI_LAYER, layer)
        config = json.dumps({"architecture": platform.architecture, "os": platform.os,
                             "rootfs": {"type": "layers", "diff_ids": [str(layer_desc.digest)]}},
                            sort_keys=True).encode()
        config_desc = Descriptor.for_bytes(MediaType.OCI_CONFIG, config)
        store.put_blob(layer_desc, [layer])
        store.put_blob(config_desc, [config])
        manifest = build_manifest(config_desc, [layer_desc])
        store.put_manifest(manifest)
        desc = manifest.descriptor()
        children.append(Descriptor(desc.media_type, desc.digest, desc.size, platform=platform))
    index = build_index(children)
    return store.put_manifest(index, tag=tag).descriptor, children
