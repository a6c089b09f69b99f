"""The fixture images: byte-for-byte reproducible, pinned, and carrying the content later SBOM work relies on."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from supplychain.digest import Digest
from supplychain.layout import OciLayout
from supplychain.oci.model import Descriptor, Index, Manifest, Platform
from tests.support.fixture import MULTI_DIGEST, SINGLE_DIGEST, build_fixture_layout, build_images_module, fixture_path


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_builds_are_identical_byte_for_byte(tmp_path: Path):
    first = build_fixture_layout(tmp_path / "a")
    second = build_fixture_layout(tmp_path / "b")
    files = _tree(first)
    assert files == _tree(second)
    assert {"oci-layout", "index.json"} <= set(files)
    assert len([f for f in files if f.startswith("blobs/sha256/")]) == 10


def test_digests_are_pinned(tmp_path: Path):
    tags = build_images_module().build_layout(tmp_path / "layout")
    assert tags == {"single": SINGLE_DIGEST, "multi": MULTI_DIGEST}


def test_layout_is_small(fixture_layout: Path):
    assert sum(len(c) for c in _tree(fixture_layout).values()) < 100 * 1024


def test_script_runs_from_the_command_line(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, str(fixture_path("build_images.py")), str(tmp_path / "out")],
        capture_output=True, text=True, check=True,
    )
    assert done.stdout.splitlines() == [f"single {SINGLE_DIGEST}", f"multi {MULTI_DIGEST}"]
    assert _tree(tmp_path / "out") == _tree(build_fixture_layout(tmp_path / "again"))


def test_script_without_outdir_prints_usage():
    done = subprocess.run([sys.executable, str(fixture_path("build_images.py"))], capture_output=True, text=True)
    assert done.returncode == 2
    assert "usage" in done.stderr


# -- structure, read through our own layout store (which checks every digest) -------------------------------


@pytest.fixture(scope="module")
def store(fixture_layout: Path) -> OciLayout:
    return OciLayout(fixture_layout)


def _layers(store: OciLayout, manifest: Manifest) -> list[tuple[Descriptor, bytes]]:
    return [(layer, gzip.decompress(store.get_blob(layer))) for layer in manifest.layers]


def _files(tar_bytes: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        return {m.name: m for m in tar.getmembers()}


def _read(tar_bytes: bytes, name: str) -> str:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        member = tar.extractfile(name)
        assert member is not None
        return member.read().decode()


def test_tags_and_platforms(store: OciLayout):
    assert list(store.tags()) == ["single", "multi"]
    assert str(store.resolve("single").digest) == SINGLE_DIGEST
    index = store.get_manifest("multi")
    assert isinstance(index, Index)
    assert [d.platform for d in index.manifests] == [Platform("linux", "amd64"), Platform("linux", "arm64", "v8")]
    assert str(index.manifests[0].digest) == SINGLE_DIGEST  # single is the amd64 image of multi


@pytest.mark.parametrize(("position", "arch", "variant"), [(0, "amd64", None), (1, "arm64", "v8")])
def test_configs_are_distinct_and_complete(store: OciLayout, position: int, arch: str, variant: str | None):
    index = store.get_manifest("multi")
    assert isinstance(index, Index)
    manifest = store.get_manifest(index.manifests[position])
    assert isinstance(manifest, Manifest)
    config = json.loads(store.get_blob(manifest.config))
    assert (config["os"], config["architecture"], config.get("variant")) == ("linux", arch, variant)
    labels = config["config"]["Labels"]
    for key in ("source", "version", "revision", "title", "licenses"):
        assert labels[f"org.opencontainers.image.{key}"]
    assert labels["org.opencontainers.image.created"] == config["created"] == "2024-01-01T00:00:00Z"
    assert config["config"]["Env"] and config["config"]["Cmd"]
    # rootfs.diff_ids are the sha256 of the uncompressed layer tars, in order (image-spec config.md).
    layers = _layers(store, manifest)
    assert config["rootfs"]["diff_ids"] == [str(Digest.of(tar)) for _, tar in layers]
    assert len([h for h in config["history"] if not h.get("empty_layer")]) == len(layers)


def test_layers_are_reproducible_archives(store: OciLayout):
    manifest = store.get_manifest("single")
    assert isinstance(manifest, Manifest)
    for layer in manifest.layers:
        raw = store.get_blob(layer)
        # RFC 1952 header: FLG 0 (no file name), MTIME 0.
        assert raw[:4] == b"\x1f\x8b\x08\x00" and raw[4:8] == b"\x00\x00\x00\x00"
        members = list(_files(gzip.decompress(raw)).values())
        names = [m.name for m in members]
        assert names == sorted(names)
        assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(1704067200, 0, 0, "root", "root")}


def test_package_metadata_is_present(store: OciLayout):
    manifest = store.get_manifest("single")
    assert isinstance(manifest, Manifest)
    base, python, node, cleanup = (tar for _, tar in _layers(store, manifest))
    assert 'VERSION_CODENAME=bookworm' in _read(base, "etc/os-release")
    status = _read(base, "var/lib/dpkg/status")
    stanzas = {s.split("\n")[0].removeprefix("Package: "): s for s in status.strip().split("\n\n")}
    assert {"base-files", "libc6", "zlib1g", "ca-certificates", "tzdata"} <= set(stanzas)
    assert "Version: 1:1.2.13.dfsg-1" in stanzas["zlib1g"] and "Architecture: amd64" in stanzas["zlib1g"]
    assert "Version: 2.36-9+deb12u4" in stanzas["libc6"] and "Maintainer: " in stanzas["libc6"]
    site = "usr/lib/python3/dist-packages"
    metadata = _read(python, f"{site}/requests-2.31.0.dist-info/METADATA")
    assert "Name: requests\nVersion: 2.31.0\n" in metadata and "Requires-Dist: urllib3" in metadata
    assert "License: MPL-2.0" in _read(python, f"{site}/certifi-2023.7.22.dist-info/METADATA")
    python_files = set(_files(python))
    for dist in ("urllib3-2.0.7", "idna-3.4", "charset_normalizer-3.2.0"):
        assert {f"{site}/{dist}.dist-info/METADATA", f"{site}/{dist}.dist-info/RECORD"} <= python_files
    # RECORD hashes are right (urlsafe base64 sha256, then size).
    record = _read(python, f"{site}/idna-3.4.dist-info/RECORD").splitlines()
    path, hash_field, size = record[0].split(",")
    content = _read(python, f"{site}/{path}").encode()
    assert hash_field == "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
    assert int(size) == len(content)
    express = json.loads(_read(node, "app/node_modules/express/package.json"))
    assert express["version"] == "4.18.2" and express["dependencies"]["send"] == "0.18.0"
    assert json.loads(_read(node, "app/node_modules/lodash/package.json"))["version"] == "4.17.21"
    assert json.loads(_read(node, "app/node_modules/send/node_modules/ms/package.json"))["version"] == "2.1.3"
    whiteouts = {n for n in _files(cleanup) if n.rsplit("/", 1)[-1].startswith(".wh.")}
    assert whiteouts == {
        "var/lib/apt/lists/.wh.deb.debian.org_debian_dists_bookworm_InRelease",
        "var/cache/apt/.wh..wh..opq",
    }
    # The whiteout deletes a file that a lower layer really has.
    assert "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease" in _files(base)


def test_arm64_dpkg_status_names_its_architecture(store: OciLayout):
    index = store.get_manifest("multi")
    assert isinstance(index, Index)
    arm = store.get_manifest(index.manifests[1])
    assert isinstance(arm, Manifest)
    status = _read(gzip.decompress(store.get_blob(arm.layers[0])), "var/lib/dpkg/status")
    assert "Package: libc6\nStatus: install ok installed" in status
    assert "Architecture: arm64" in status and "Architecture: amd64" not in status
