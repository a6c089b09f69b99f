"""The fixture layout and ``OciLayout``'s writes are valid for real peers: skopeo and umoci read what we write,
and we read (and verify) what they write."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from supplychain.digest import Digest
from supplychain.layout import REF_NAME, OciLayout
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, AnyManifest, Descriptor, Index, build_manifest
from tests.unit.test_fixtures import MULTI_DIGEST, SINGLE_DIGEST

pytestmark = pytest.mark.integration

SKOPEO = "/usr/bin/skopeo"
UMOCI = "/usr/bin/umoci"


def _run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{argv} failed: {done.stderr}"
    return done.stdout


def _skopeo(*argv: str) -> str:
    # --insecure-policy: local layouts only; the test must not depend on the host's policy.json.
    return _run(SKOPEO, "--insecure-policy", *argv)


def _verify_everything(layout: OciLayout, desc: Descriptor) -> AnyManifest:
    """Read a manifest and every blob below it through our store (each read is digest-checked)."""
    manifest = layout.get_manifest(desc)
    if isinstance(manifest, Index):
        for child in manifest.manifests:
            _verify_everything(layout, child)
    else:
        for blob in [manifest.config, *manifest.layers]:
            with layout.open_blob(blob) as chunks:
                assert sum(len(c) for c in chunks) == blob.size
    return manifest


def _copy(source: OciLayout, desc: Descriptor, destination: OciLayout, tag: str | None = None) -> None:
    """Copy an image between layouts with our store API only (blobs streamed, children first)."""
    manifest = source.get_manifest(desc)
    if isinstance(manifest, Index):
        for child in manifest.manifests:
            _copy(source, child, destination)
    else:
        for blob in [manifest.config, *manifest.layers]:
            with source.open_blob(blob) as chunks:
                destination.put_blob(blob, chunks)
    destination.put_manifest(manifest, tag=tag)


# -- skopeo and umoci read the fixture ----------------------------------------------------------------------


def test_skopeo_inspects_single(fixture_layout: Path):
    info = json.loads(_skopeo("inspect", f"oci:{fixture_layout}:single"))
    assert info["Digest"] == SINGLE_DIGEST
    assert (info["Os"], info["Architecture"]) == ("linux", "amd64")
    assert info["Labels"]["org.opencontainers.image.title"] == "supplychain-fixture"
    manifest = OciLayout(fixture_layout).get_manifest("single")
    assert info["Layers"] == [str(layer.digest) for layer in manifest.layers]  # type: ignore[union-attr]
    raw = _skopeo("inspect", "--raw", f"oci:{fixture_layout}:single").encode()
    assert f"sha256:{hashlib.sha256(raw).hexdigest()}" == SINGLE_DIGEST


def test_skopeo_inspects_multi(fixture_layout: Path):
    raw = _skopeo("inspect", "--raw", f"oci:{fixture_layout}:multi").encode()
    assert f"sha256:{hashlib.sha256(raw).hexdigest()}" == MULTI_DIGEST
    assert raw == OciLayout(fixture_layout).get_manifest("multi").raw
    arm = json.loads(
        _skopeo("--override-arch", "arm64", "--override-variant", "v8", "inspect", f"oci:{fixture_layout}:multi")
    )
    # skopeo reports the index digest, and the arm64 image's config and layers as our store reads them.
    layout = OciLayout(fixture_layout)
    arm_manifest = layout.get_manifest(layout.get_manifest("multi").manifests[1])  # type: ignore[union-attr]
    assert (arm["Architecture"], arm["Digest"]) == ("arm64", MULTI_DIGEST)
    assert arm["Layers"] == [str(layer.digest) for layer in arm_manifest.layers]  # type: ignore[union-attr]
    assert arm["Layers"][0] != json.loads(_skopeo("inspect", f"oci:{fixture_layout}:single"))["Layers"][0]


def test_umoci_lists_the_tags(fixture_layout: Path):
    assert set(_run(UMOCI, "ls", "--layout", str(fixture_layout)).split()) == {"single", "multi"}


def test_umoci_unpacks_single_with_whiteouts_applied(fixture_layout_copy: Path, tmp_path: Path):
    bundle = tmp_path / "bundle"
    _run(UMOCI, "unpack", "--rootless", "--image", f"{fixture_layout_copy}:single", str(bundle))
    rootfs = bundle / "rootfs"
    assert "bookworm" in (rootfs / "etc/os-release").read_text()
    assert "Package: libc6" in (rootfs / "var/lib/dpkg/status").read_text()
    assert (rootfs / "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA").is_file()
    assert json.loads((rootfs / "app/node_modules/express/package.json").read_text())["version"] == "4.18.2"
    # .wh.<name> deleted the lower layer's file; the opaque whiteout emptied the apt cache directory.
    assert (rootfs / "var/lib/apt/lists").is_dir()
    assert not (rootfs / "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease").exists()
    assert (rootfs / "var/cache/apt").is_dir() and list((rootfs / "var/cache/apt").iterdir()) == []
    assert not list(rootfs.rglob(".wh.*"))


# -- we read what skopeo writes -----------------------------------------------------------------------------


def test_we_read_and_verify_what_skopeo_copies(fixture_layout: Path, tmp_path: Path):
    other = tmp_path / "other"
    _skopeo("copy", f"oci:{fixture_layout}:single", f"oci:{other}:copied")
    _skopeo("copy", "--all", f"oci:{fixture_layout}:multi", f"oci:{other}:everything")
    layout = OciLayout(other)
    assert sorted(layout.tags()) == ["copied", "everything"]
    assert str(layout.resolve("copied").digest) == SINGLE_DIGEST
    assert str(layout.resolve("everything").digest) == MULTI_DIGEST
    _verify_everything(layout, layout.resolve("copied"))
    _verify_everything(layout, layout.resolve("everything"))


def test_we_write_into_a_skopeo_layout_without_breaking_it(fixture_layout: Path, tmp_path: Path):
    other = tmp_path / "other"
    _skopeo("copy", f"oci:{fixture_layout}:single", f"oci:{other}:copied")
    layout = OciLayout(other)
    subject = layout.resolve("copied")
    layout.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
    note = Descriptor.for_bytes("application/vnd.example.note", b"reviewed")
    layout.put_blob(note, [b"reviewed"])
    referrer = build_manifest(EMPTY_DESCRIPTOR, [note], subject=subject, artifact_type=note.media_type)
    layout.put_manifest(referrer, tag="note")
    assert [d.digest for d in layout.referrers(subject.digest)] == [referrer.digest]
    # skopeo still reads its own tag, and reads ours.
    assert json.loads(_skopeo("inspect", f"oci:{other}:copied"))["Digest"] == SINGLE_DIGEST
    raw = _skopeo("inspect", "--raw", f"oci:{other}:note").encode()
    assert raw == referrer.raw


# -- skopeo and umoci read what we write ---------------------------------------------------------------------


def test_peers_read_what_we_write(fixture_layout: Path, tmp_path: Path):
    source = OciLayout(fixture_layout)
    ours = OciLayout(tmp_path / "ours", create=True)
    _copy(source, source.resolve("single"), ours, tag="mine")
    _copy(source, source.resolve("multi"), ours, tag="all")
    subject = ours.resolve("mine")
    ours.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
    sbom = Descriptor.for_bytes("application/spdx+json", b'{"spdxVersion":"SPDX-2.3"}')
    ours.put_blob(sbom, [b'{"spdxVersion":"SPDX-2.3"}'])
    ours.put_manifest(build_manifest(EMPTY_DESCRIPTOR, [sbom], subject=subject, artifact_type=sbom.media_type))

    assert json.loads(_skopeo("inspect", f"oci:{ours.path}:mine"))["Digest"] == SINGLE_DIGEST
    raw = _skopeo("inspect", "--raw", f"oci:{ours.path}:all").encode()
    assert str(Digest.of(raw)) == MULTI_DIGEST
    assert set(_run(UMOCI, "ls", "--layout", str(ours.path)).split()) == {"mine", "all"}
    # Untagged entries (platform manifests, the referrer) do not confuse skopeo's copy of a tag.
    again = tmp_path / "again"
    _skopeo("copy", "--all", f"oci:{ours.path}:all", f"oci:{again}:all")
    entries = json.loads((again / "index.json").read_bytes())["manifests"]
    assert [(e["digest"], e["annotations"][REF_NAME]) for e in entries] == [(MULTI_DIGEST, "all")]
    bundle = tmp_path / "bundle"
    _run(UMOCI, "unpack", "--rootless", "--image", f"{ours.path}:mine", str(bundle))
    assert (bundle / "rootfs/etc/os-release").is_file()
    assert MediaType.OCI_MANIFEST in {e["mediaType"] for e in json.loads((ours.path / "index.json").read_bytes())
                                     ["manifests"]}
