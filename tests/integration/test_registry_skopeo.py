"""Interop with skopeo (containers/image), the independent client: it reads what we push, we read what it pushes."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from supplychain.config import Settings
from supplychain.digest import Digest
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import Descriptor, Manifest, build_manifest, encode_json
from supplychain.registry.client import RegistryClient
from supplychain.registry.repository import RegistryRepository
from tests.support.registry import RegistryProcess, closed_after_test

# skopeo is a required peer (.ci/run installs it): without it these tests fail rather than skip.
pytestmark = pytest.mark.integration


def repo_at(registry: RegistryProcess, name: str, **settings: object) -> RegistryRepository:
    client = RegistryClient(registry.host, Settings(**{"chunked_upload": True, **settings}))  # type: ignore[arg-type]
    closed_after_test(client)
    return client.repository(name)


def skopeo(*args: str) -> str:
    result = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"skopeo {' '.join(args)} failed: {result.stderr}"
    return result.stdout


def tiny_image(payload_size: int = 0) -> tuple[Manifest, dict[Digest, bytes]]:
    """A real, runnable-shaped image: an OCI config and one gzip tar layer (fixed mtimes: same bytes each run)."""
    files = {"etc/hello.txt": b"hello from supplychain\n", "data/random.bin": os.urandom(payload_size)}
    raw_tar = io.BytesIO()
    with tarfile.open(fileobj=raw_tar, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(content), 0, 0o644
            tar.addfile(info, io.BytesIO(content))
    tar_bytes = raw_tar.getvalue()
    layer_bytes = gzip.compress(tar_bytes, mtime=0)
    config = {
        "created": "1970-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {"org.opencontainers.image.title": "tiny"}},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar_bytes).hexdigest()]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "supplychain test"}],
    }
    config_bytes = encode_json(config)
    config_desc = Descriptor.for_bytes(MediaType.OCI_CONFIG, config_bytes)
    layer_desc = Descriptor.for_bytes(MediaType.OCI_LAYER_GZIP, layer_bytes)
    manifest = build_manifest(config_desc, [layer_desc])
    return manifest, {config_desc.digest: config_bytes, layer_desc.digest: layer_bytes}


def write_layout(directory: Path, manifest: Manifest, blobs: dict[Digest, bytes], tag: str) -> None:
    """An OCI image layout by hand (image-spec image-layout.md), so skopeo's reading does not depend on ours."""
    for digest, content in [*blobs.items(), (manifest.digest, manifest.raw)]:
        path = directory / "blobs" / digest.algorithm / digest.hex
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    (directory / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    entry = manifest.descriptor().to_json()
    entry["annotations"] = {"org.opencontainers.image.ref.name": tag}
    (directory / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))


def test_skopeo_reads_what_we_push(registry: RegistryProcess, tmp_path: Path) -> None:
    manifest, blobs = tiny_image(payload_size=300 * 1024)  # the layer goes up in chunked PATCHes
    repo = repo_at(registry, "interop/ours", chunk_size=64 * 1024)
    for desc in (manifest.config, *manifest.layers):
        content = blobs[desc.digest]
        repo.put_blob(desc, (content[i:i + 50_000] for i in range(0, len(content), 50_000)))
    repo.put_manifest(manifest, tag="v1")

    image = f"docker://{registry.host}/interop/ours:v1"
    inspected = json.loads(skopeo("inspect", "--tls-verify=false", image))
    assert inspected["Digest"] == str(manifest.digest)
    assert (inspected["Architecture"], inspected["Os"]) == ("amd64", "linux")
    assert inspected["Labels"] == {"org.opencontainers.image.title": "tiny"}
    assert skopeo("inspect", "--tls-verify=false", "--raw", image).encode() == manifest.raw

    # skopeo copies every blob out, checking each against its digest: our uploads are byte-exact.
    out = tmp_path / "copied"
    skopeo("copy", "--src-tls-verify=false", "--preserve-digests", image, f"oci:{out}:v1")
    for digest, content in blobs.items():
        assert (out / "blobs" / digest.algorithm / digest.hex).read_bytes() == content


def test_we_read_what_skopeo_pushes(registry: RegistryProcess, tmp_path: Path) -> None:
    manifest, blobs = tiny_image(payload_size=4096)
    layout = tmp_path / "layout"
    write_layout(layout, manifest, blobs, "v1")
    skopeo("copy", "--dest-tls-verify=false", "--preserve-digests", f"oci:{layout}:v1",
           f"docker://{registry.host}/interop/theirs:v1")

    repo = repo_at(registry, "interop/theirs")
    assert repo.resolve("v1").digest == manifest.digest
    fetched = repo.get_manifest("v1")
    assert isinstance(fetched, Manifest) and fetched.raw == manifest.raw
    assert repo.get_blob(fetched.config) == blobs[manifest.config.digest]
    with repo.open_blob(fetched.layers[0]) as chunks:
        assert b"".join(chunks) == blobs[manifest.layers[0].digest]


def test_we_read_a_docker_v2s2_image_written_by_skopeo(registry: RegistryProcess, tmp_path: Path) -> None:
    manifest, blobs = tiny_image()
    layout = tmp_path / "layout"
    write_layout(layout, manifest, blobs, "v1")
    skopeo("copy", "--dest-tls-verify=false", "--format", "v2s2", f"oci:{layout}:v1",
           f"docker://{registry.host}/interop/docker:v1")

    repo = repo_at(registry, "interop/docker")
    fetched = repo.get_manifest("v1")
    assert isinstance(fetched, Manifest)
    assert fetched.media_type == MediaType.DOCKER_MANIFEST
    assert fetched.layers[0].media_type == MediaType.DOCKER_LAYER_GZIP
    assert repo.resolve("v1").digest == fetched.digest
    assert repo.get_blob(fetched.layers[0]) == blobs[manifest.layers[0].digest]
    config = json.loads(repo.get_blob(fetched.config))
    assert config["rootfs"]["diff_ids"] == json.loads(blobs[manifest.config.digest])["rootfs"]["diff_ids"]
