"""The fixture layout and ``OciLayout``'s writes are valid for real peers: skopeo and umoci read what we write,
and we read (and verify) what they write."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from supplychain.digest import Digest
from supplychain.layout import REF_NAME, OciLayout
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, AnyManifest, Descriptor, Index, build_manifest
from tests.support.fixture import MULTI_DIGEST, SINGLE_DIGEST

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


# -- references and entries as skopeo reads them (through the CLI) ------------------------------------------


def _cli(*args: str) -> tuple[int, str, str]:
    from tests.support.signatures import run_cli

    result = run_cli(list(args))
    return result.code, result.stdout, result.stderr


def _entries(path: Path) -> list[tuple[str, str | None]]:
    doc = json.loads((path / "index.json").read_bytes())
    return [(e["digest"], (e.get("annotations") or {}).get(REF_NAME)) for e in doc["manifests"]]


def test_ref_names_with_slashes_and_colons_both_ways(fixture_layout: Path, tmp_path: Path):
    # containers/image splits oci:PATH:REF at the first ':' and REF is an org.opencontainers.image.ref.name.
    sk1 = tmp_path / "sk1"
    _skopeo("copy", f"oci:{fixture_layout}:single", f"oci:{sk1}:a/b")
    for ref in (f"oci:{sk1}:a/b", f"oci:{sk1}@{SINGLE_DIGEST}", f"oci:{sk1}:@{SINGLE_DIGEST}"):
        code, out, err = _cli("inspect", ref, "-o", "json")
        assert code == 0, err
        assert json.loads(out)["digest"] == SINGLE_DIGEST

    tagtest = tmp_path / "tagtest"
    for tag in ("a/b", "example.com/app:1.0"):
        code, out, err = _cli("copy", f"oci:{fixture_layout}:single", f"oci:{tagtest}:{tag}")
        assert code == 0, err
        assert out.strip() == f"oci:{tagtest}:{tag}@{SINGLE_DIGEST}"
        assert json.loads(_skopeo("inspect", f"oci:{tagtest}:{tag}"))["Digest"] == SINGLE_DIGEST
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sk1", "tagtest"]  # no "tagtest:a" directory
    assert _entries(tagtest) == [(SINGLE_DIGEST, "a/b"), (SINGLE_DIGEST, "example.com/app:1.0")]
    assert set(_run(UMOCI, "ls", "--layout", str(tagtest)).split()) == {"a/b", "example.com/app:1.0"}


def test_skopeo_inspects_a_copied_index_without_a_tag_and_after_re_signing(fixture_layout: Path, tmp_path: Path):
    from supplychain import keys
    from supplychain.signing import sign_image

    out1 = tmp_path / "out1"
    code, _, err = _cli("copy", f"oci:{fixture_layout}:multi", f"oci:{out1}:m")
    assert code == 0, err
    assert _entries(out1) == [(MULTI_DIGEST, "m")]  # the platform manifests are blobs, not entries
    # One entry: skopeo picks it without a tag (it refuses "more than one image in oci, choose an image").
    assert json.loads(_skopeo("inspect", "--raw", f"oci:{out1}"))["mediaType"] == MediaType.OCI_INDEX
    assert json.loads(_skopeo("inspect", f"oci:{out1}"))["Digest"] == MULTI_DIGEST

    layout = OciLayout(out1)
    pair = keys.generate_key_pair("ecdsa-p256")
    for _ in range(3):
        sign_image(layout, layout.resolve("m"), pair.private_key, docker_reference="registry.example/app")
    sig_tag = f"sha256-{MULTI_DIGEST.removeprefix('sha256:')}.sig"
    assert [ref for _, ref in _entries(out1)] == ["m", sig_tag]  # no stale untagged .sig entries
    assert json.loads(_skopeo("inspect", f"oci:{out1}:m"))["Digest"] == MULTI_DIGEST
    assert sorted(p.name for p in out1.iterdir()) == ["blobs", "index.json", "oci-layout"]  # no lock file


def test_docker_typed_images_are_kept_with_a_warning(fixture_layout: Path, registry: Any, tmp_path: Path):
    # A Docker schema 2 image and manifest list, pushed by skopeo, copied into a layout byte for byte.
    repo = f"{registry.host}/peers/docker-typed"
    _skopeo("copy", "--dest-tls-verify=false", "--format", "v2s2", f"oci:{fixture_layout}:single",
            f"docker://{repo}:v2s2")
    _skopeo("copy", "--dest-tls-verify=false", "--format", "v2s2", "--all", f"oci:{fixture_layout}:multi",
            f"docker://{repo}:list")
    out = tmp_path / "out"
    for tag, count in (("v2s2", 1), ("list", 3)):
        code, stdout, err = _cli("copy", f"{repo}:{tag}", f"oci:{out}:{tag}")
        assert code == 0, err
        raw = _skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{repo}:{tag}").encode()
        assert stdout.strip() == f"oci:{out}:{tag}@{Digest.of(raw)}"  # the digest is kept: no conversion
        warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
        assert len(warnings) == 1
        assert f"{count} Docker-typed manifest(s)" in warnings[0]
        assert "skopeo and umoci do not read Docker-typed manifests from an OCI layout" in warnings[0]
        assert OciLayout(out).get_manifest(tag).raw == raw
    # Why the warning: skopeo finds no (OCI) descriptor for the tag.
    done = subprocess.run([SKOPEO, "inspect", f"oci:{out}:v2s2"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "no descriptor found" in done.stderr
    code, _, err = _cli("copy", f"oci:{fixture_layout}:single", f"oci:{out}:oci")
    assert code == 0 and "warning" not in err


def _blob_names(path: Path) -> set[str]:
    return {f"{p.parent.name}:{p.name}" for p in (path / "blobs").glob("*/*")}


def test_clean_leaves_no_blob_umoci_gc_would_remove(fixture_layout_copy: Path, tmp_path: Path):
    # Issue 8.19: clean removed the tags but left the signed payloads in blobs/ (umoci gc removed them).
    from supplychain import keys
    from supplychain.signing import SignatureFormat, sign_image

    pair = keys.generate_key_pair("ecdsa-p256")
    layout = OciLayout(fixture_layout_copy)
    before = _blob_names(fixture_layout_copy)
    for image in ("single", "multi"):
        for signature_format in SignatureFormat:
            sign_image(layout, layout.resolve(image), pair.private_key, docker_reference="registry.example/app",
                       signature_format=signature_format)
    signed = _blob_names(fixture_layout_copy)
    assert len(signed - before) >= 10
    code, _, err = _cli("clean", f"oci:{fixture_layout_copy}:single", "--type", "all", "-f")
    assert code == 0, err
    assert "unreferenced blobs from" in err
    cleaned = _blob_names(fixture_layout_copy)
    # umoci's garbage collection (on a copy) finds nothing more to remove, and multi's signatures are intact.
    umoci_copy = tmp_path / "umoci"
    subprocess.run(["cp", "-a", str(fixture_layout_copy), str(umoci_copy)], check=True)
    _run(UMOCI, "gc", "--layout", str(umoci_copy))
    assert _blob_names(umoci_copy) == cleaned
    assert before <= cleaned and cleaned - before  # the fixture and multi's attachments stay
    code, _, err = _cli("verify", f"oci:{fixture_layout_copy}:multi", "--key", str(_write_pub(pair, tmp_path)),
                        "--insecure-ignore-tlog")
    assert code == 0, err
    code, _, err = _cli("clean", f"oci:{fixture_layout_copy}:multi", "--type", "all", "-f")
    assert code == 0, err
    assert _blob_names(fixture_layout_copy) == before  # back to the fixture's blobs exactly


def _write_pub(pair: Any, tmp_path: Path) -> Path:
    path = tmp_path / "cosign.pub"
    path.write_bytes(pair.public_key.pem())
    return path
