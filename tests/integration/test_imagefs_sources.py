"""Image sources against real peers: the fixture image in an OCI layout, as skopeo writes it to a docker-archive, an
oci-archive, a zstd layout and a registry (Debian's docker-registry), a layer with real whiteouts made by umoci
repack, and umoci's unpacked root filesystem as ``dir:``. Attribution is checked against ground truth computed here
from the layers with the standard library's tarfile, independently of the walker."""

from __future__ import annotations

import gzip
import io
import json
import os
import posixpath
import subprocess
import tarfile
from pathlib import Path

import pytest
import zstandard

from supplychain.config import Settings
from supplychain.errors import ExitCode, NotFoundError
from supplychain.imagefs.archive import ArchiveError
from supplychain.imagefs.image import Image
from supplychain.imagefs.scan import scan_image
from supplychain.imagefs.view import EntryKind, FileView
from supplychain.imagefs.walk import Scope
from supplychain.imagesource import open_image
from supplychain.oci.model import Platform
from tests.support.fixture import build_fixture_layout
from tests.support.registry import RegistryProcess

pytestmark = pytest.mark.integration

AMD64 = Platform.parse("linux/amd64")
WANTED = ("etc/os-release", "var/lib/dpkg/status", "app/package.json", "added/by-umoci.txt")


def wants(path: str, size: int, mode: int) -> bool:
    return path in WANTED or path.endswith("/METADATA")


def run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, f"{argv} failed: {done.stderr}"
    return done.stdout


def skopeo(*argv: str) -> str:
    return run("skopeo", "--insecure-policy", *argv)


@pytest.fixture(scope="module")
def fixture_layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fixture_layout(tmp_path_factory.mktemp("imagefs"))


def scan(source: str, *, platform: Platform | None = AMD64, scope: Scope = Scope.SQUASHED) -> tuple[Image, FileView]:
    with open_image(source, Settings(), platform=platform) as image:
        return image, scan_image(image, wants, scope=scope).squashed


def summary(view: FileView) -> dict[str, tuple[str, int, int, bytes | None]]:
    return {e.path: (e.kind.value, e.size, e.layer.index, e.data) for e in view.files()}


# -- ground truth, from the layers with tarfile ------------------------------------------------------------------


def _inflate(blob: bytes) -> bytes:
    if blob[:2] == b"\x1f\x8b":
        return gzip.decompress(blob)
    if blob[:4] == b"\x28\xb5\x2f\xfd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(blob)
    return blob


def ground_truth(layer_tars: list[bytes]) -> dict[str, list[int]]:
    """path -> the layers that wrote it since it last appeared, by the image-spec rules written out plainly."""
    state: dict[str, list[int]] = {}
    for index, raw in enumerate(layer_tars):
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            members = tar.getmembers()
        names = [(posixpath.normpath(m.name.lstrip("/")), m) for m in members]
        deleted: set[str] = set()
        emptied: set[str] = set()
        written: dict[str, tarfile.TarInfo] = {}
        for name, member in names:
            base = posixpath.basename(name)
            if base == ".wh..wh..opq":
                emptied.add(posixpath.dirname(name))
            elif base.startswith(".wh."):
                deleted.add(posixpath.join(posixpath.dirname(name), base[4:]))
            elif name != ".":
                written[name] = member
        for path in list(state):
            if path in deleted or any(path.startswith(d + "/") for d in deleted | emptied):
                del state[path]
        for path in written:
            state[path] = [*state.get(path, []), index]
            parent = posixpath.dirname(path)
            while parent and parent not in state:
                state[parent] = [index]
                parent = posixpath.dirname(parent)
    return state


def layout_layer_tars(layout: Path, image: Image) -> list[bytes]:
    return [_inflate((layout / "blobs" / "sha256" / layer.digest.hex).read_bytes()) for layer in image.layers]


def assert_matches_ground_truth(view: FileView, truth: dict[str, list[int]]) -> None:
    assert sorted(view.entries) == sorted(truth)
    for path, layers in truth.items():
        entry = view.entries[path]
        assert [ref.index for ref in entry.history] == layers, path
        assert entry.layer.index == layers[-1], path


# -- the sources -----------------------------------------------------------------------------------------------------


def test_oci_layout_matches_ground_truth_whiteouts_included(fixture_layout: Path) -> None:
    image, view = scan(f"oci:{fixture_layout}:single")
    truth = ground_truth(layout_layer_tars(fixture_layout, image))
    assert_matches_ground_truth(view, truth)
    assert not any(path.startswith("var/cache/apt/") for path in view.entries)  # the fixture's opaque whiteout
    assert view.get("etc/os-release").data.startswith(b"PRETTY_NAME=")
    assert image.platform == "linux/amd64" and image.digest and len(image.layers) == 4
    assert view.problems == ()


def test_an_index_is_resolved_to_the_platform_asked_for(fixture_layout: Path) -> None:
    image, _ = scan(f"oci:{fixture_layout}:multi", platform=Platform.parse("linux/arm64"))
    assert image.platform and image.platform.startswith("linux/arm64")
    with pytest.raises(NotFoundError, match="no manifest for platform linux/s390x") as caught:
        scan(f"oci:{fixture_layout}:multi", platform=Platform.parse("linux/s390x"))
    assert "--platform" in caught.value.hint


def test_docker_archive_from_skopeo_gives_the_same_view(fixture_layout: Path, tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    skopeo("copy", "-q", f"oci:{fixture_layout}:single", f"docker-archive:{archive}:example.test/app:1")
    _, expected = scan(f"oci:{fixture_layout}:single")
    image, view = scan(f"docker-archive:{archive}")
    assert summary(view) == summary(expected)
    assert [ref.diff_id for ref in view.layers] == [ref.diff_id for ref in expected.layers]
    assert image.digest is None and image.config_digest and image.platform == "linux/amd64"
    _, by_tag = scan(f"docker-archive:{archive}:example.test/app:1")
    assert summary(by_tag) == summary(expected)
    with pytest.raises(NotFoundError, match="no image tagged"):
        scan(f"docker-archive:{archive}:example.test/app:2")


def test_a_docker_archive_name_is_matched_as_a_docker_reference(fixture_layout: Path, tmp_path: Path) -> None:
    """skopeo stores ``foo/bar:1`` as ``docker.io/foo/bar:1`` in RepoTags, and accepts either spelling; so do we,
    and a tag left out is ``latest``."""
    archive = tmp_path / "hub.tar"
    skopeo("copy", "-q", f"oci:{fixture_layout}:single", f"docker-archive:{archive}:foo/bar:1",
           "--additional-tag=realistic:latest")
    _, expected = scan(f"oci:{fixture_layout}:single")
    for name in ("foo/bar:1", "docker.io/foo/bar:1", "realistic", "docker.io/library/realistic:latest"):
        assert summary(scan(f"docker-archive:{archive}:{name}")[1]) == summary(expected), name
    with pytest.raises(NotFoundError, match="no image tagged"):
        scan(f"docker-archive:{archive}:foo/bar:2")


def test_oci_archive_from_skopeo_gives_the_same_view(fixture_layout: Path, tmp_path: Path) -> None:
    archive = tmp_path / "image-oci.tar"
    skopeo("copy", "-q", f"oci:{fixture_layout}:single", f"oci-archive:{archive}:single")
    image, view = scan(f"oci-archive:{archive}")
    _, expected = scan(f"oci:{fixture_layout}:single")
    assert summary(view) == summary(expected)
    assert image.name == f"oci-archive:{archive}"
    assert summary(scan(f"oci-archive:{archive}:single")[1]) == summary(expected)


def test_zstd_layers_written_by_skopeo_give_the_same_view(fixture_layout: Path, tmp_path: Path) -> None:
    target = tmp_path / "zstd"
    skopeo("copy", "-q", "--dest-compress-format", "zstd", f"oci:{fixture_layout}:single", f"oci:{target}:z")
    image, view = scan(f"oci:{target}:z")
    assert all(layer.media_type.endswith("+zstd") for layer in image.layers)
    _, expected = scan(f"oci:{fixture_layout}:single")
    assert {p: v[:2] + v[3:] for p, v in summary(view).items()} == {
        p: v[:2] + v[3:] for p, v in summary(expected).items()}
    assert_matches_ground_truth(view, ground_truth(layout_layer_tars(target, image)))


def test_registry_reference_gives_the_same_view(fixture_layout: Path, registry: RegistryProcess) -> None:
    skopeo("copy", "-q", "--dest-tls-verify=false", f"oci:{fixture_layout}:single",
           f"docker://{registry.host}/imagefs/app:1")
    image, view = scan(f"{registry.host}/imagefs/app:1")
    _, expected = scan(f"oci:{fixture_layout}:single")
    assert summary(view) == summary(expected)
    assert image.name == f"{registry.host}/imagefs/app:1"


def test_umoci_repack_whiteouts_are_applied_and_attributed(fixture_layout: Path, tmp_path: Path) -> None:
    """umoci writes the whiteouts of what was deleted in the bundle; the walk agrees with tarfile's ground truth."""
    layout = tmp_path / "umoci"
    skopeo("copy", "-q", f"oci:{fixture_layout}:single", f"oci:{layout}:base")
    bundle = tmp_path / "bundle"
    run("umoci", "unpack", "--rootless", "--image", f"{layout}:base", str(bundle))
    rootfs = bundle / "rootfs"
    (rootfs / "usr/share/doc/zlib1g/copyright").unlink()
    (rootfs / "usr/share/doc/zlib1g").rmdir()
    (rootfs / "etc/debian_version").unlink()
    (rootfs / "added").mkdir()
    (rootfs / "added/by-umoci.txt").write_bytes(b"new\n")
    (rootfs / "etc/os-release").write_bytes(b"ID=changed\n")
    run("umoci", "repack", "--image", f"{layout}:next", str(bundle))
    image, view = scan(f"oci:{layout}:next")
    top_tar = _inflate((layout / "blobs" / "sha256" / image.layers[-1].digest.hex).read_bytes())
    with tarfile.open(fileobj=io.BytesIO(top_tar)) as tar:
        assert any(".wh." in name for name in tar.getnames())  # real whiteouts from umoci
    assert_matches_ground_truth(view, ground_truth(layout_layer_tars(layout, image)))
    for gone in ("usr/share/doc/zlib1g", "usr/share/doc/zlib1g/copyright", "etc/debian_version"):
        assert view.get(gone) is None
    top = len(image.layers) - 1
    assert view.get("added/by-umoci.txt").layer.index == top
    assert view.get("etc/os-release").data == b"ID=changed\n"
    assert [ref.index for ref in view.get("etc/os-release").history] == [0, top]


def test_dir_source_lists_a_root_filesystem_and_keeps_links_inside(fixture_layout: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    run("umoci", "unpack", "--rootless", "--image", f"{fixture_layout}:single", str(bundle))
    rootfs = bundle / "rootfs"
    os.symlink("/etc/os-release", rootfs / "abs-link")
    os.symlink("../../../../../../etc/passwd", rootfs / "escape")
    _, view = scan(f"dir:{rootfs}")
    _, image_view = scan(f"oci:{fixture_layout}:single")
    assert set(view.entries) - {"abs-link", "escape"} == set(image_view.entries)
    assert view.get("etc/os-release").data == image_view.get("etc/os-release").data
    assert view.resolve("abs-link") == view.get("etc/os-release")  # from the view's root, not the host's
    assert view.resolve("escape") is None
    assert view.get("escape").kind is EntryKind.SYMLINK


def test_all_layers_scope_from_a_layout(fixture_layout: Path) -> None:
    with open_image(f"oci:{fixture_layout}:single", Settings(), platform=AMD64) as image:
        files = scan_image(image, wants, scope=Scope.ALL_LAYERS)
    assert len(files.layers) == len(image.layers)
    assert files.layers[0].get("etc/os-release") is not None
    deleted = ["var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", "var/cache/apt/pkgcache.bin"]
    written_by = [next(i for i, own in enumerate(files.layers) if path in own.entries) for path in deleted]
    assert all(files.squashed.get(path) is None for path in deleted)  # the clean-up layer's whiteouts
    assert written_by == [written_by[0]] * 2
    assert files.layers[written_by[0]].get(deleted[0]).layer.index == written_by[0]
    assert all(path not in files.layers[-1].entries for path in deleted)  # markers are not paths


def test_a_compressed_archive_is_refused_with_a_hint(fixture_layout: Path, tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    skopeo("copy", "-q", f"oci:{fixture_layout}:single", f"docker-archive:{archive}")
    packed = tmp_path / "image.tar.gz"
    packed.write_bytes(gzip.compress(archive.read_bytes(), mtime=0))
    with pytest.raises(ArchiveError, match="compressed archive") as caught:
        scan(f"docker-archive:{packed}")
    assert caught.value.exit_code is ExitCode.INVALID_INPUT and "gunzip" in caught.value.hint


def test_a_docker_archive_layer_that_is_not_its_diff_id_is_refused(fixture_layout: Path, tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    skopeo("copy", "-q", f"oci:{fixture_layout}:single", f"docker-archive:{archive}")
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest[0]["Layers"]
    changed = tmp_path / "changed.tar"
    with tarfile.open(archive) as source, tarfile.open(changed, "w") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else b""  # type: ignore[union-attr]
            if member.name == manifest[0]["Layers"][0]:
                data = data.replace(b"Debian", b"Ubuntu")
            member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    with pytest.raises(Exception, match=r"diff_id|digest mismatch") as caught:
        scan(f"docker-archive:{changed}")
    assert getattr(caught.value, "exit_code", None) is ExitCode.INTEGRITY
