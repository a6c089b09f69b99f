"""An image of many small layers in an OCI layout, for the concurrent-copy tests: random layer bytes (distinct
digests), a real image config naming them, and a tag."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from supplychain.layout import OciLayout
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import Descriptor, Manifest, build_manifest


def layered_image(path: Path, layers: int, size: int, *, tag: str = "img", seed: int = 0) -> Manifest:
    """Write an image of ``layers`` layers of ``size`` bytes each into the layout at ``path`` (created), tagged
    ``tag``; its manifest. The bytes come from ``seed``, so a test can rebuild them."""
    layout = OciLayout(path, create=True)
    rng = random.Random(seed)
    descs = []
    for _ in range(layers):
        data = rng.randbytes(size)
        desc = Descriptor.for_bytes(MediaType.OCI_LAYER_GZIP, data)
        layout.put_blob(desc, [data])
        descs.append(desc)
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(str(d.digest).encode()).hexdigest()}"
                                                  for d in descs]},
    }).encode()
    config_desc = Descriptor.for_bytes(MediaType.OCI_CONFIG, config)
    layout.put_blob(config_desc, [config])
    manifest = build_manifest(config_desc, descs)
    layout.put_manifest(manifest, tag=tag)
    return manifest


def corrupt_blob(path: Path, desc: Descriptor) -> None:
    """Flip the last byte of a blob of the layout at ``path``: same size, another digest."""
    blob = path / "blobs" / desc.digest.algorithm / desc.digest.hex
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF
    blob.write_bytes(bytes(data))
