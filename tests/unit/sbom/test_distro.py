"""The distribution from os-release through the view (sbom.distro): etc/os-release first, usr/lib/os-release
after, symlinks followed inside the image root only, the purl distro= qualifier as syft writes it."""

from __future__ import annotations

from supplychain.imagefs.view import EntryKind, FileEntry, FileView, LayerRef
from supplychain.sbom.distro import distro_qualifier, parse_os_release, read_distro, wants
from supplychain.sbom.package import Distro
from tests.support.fileview import view_of_directory
from tests.support.sbom_builds import DEBIAN_FIXTURE

LAYER = LayerRef(0, "sha256:" + "0" * 64, "sha256:" + "0" * 64)
DEBIAN = (DEBIAN_FIXTURE / "usr" / "lib" / "os-release").read_bytes()


def _link(path: str, target: str) -> FileEntry:
    return FileEntry(path, EntryKind.SYMLINK, 0, 0o777, LAYER, (LAYER,), link=target)


def _with_links(files: dict[str, bytes], links: dict[str, str]) -> FileView:
    view = FileView.from_files(files, layer=LAYER)
    entries = dict(view.entries)
    entries["etc"] = FileEntry("etc", EntryKind.DIRECTORY, 0, 0o755, LAYER, (LAYER,))
    entries.update({path: _link(path, target) for path, target in links.items()})
    return FileView(entries, view.layers)


def test_debian_fixture_etc_os_release_is_a_symlink_followed_through_the_view() -> None:
    view = view_of_directory(DEBIAN_FIXTURE, wants)
    assert view.get("etc/os-release").kind is EntryKind.SYMLINK  # type: ignore[union-attr]
    distro = read_distro(view)
    assert distro == Distro("debian", "12", "bookworm", "Debian GNU/Linux 12 (bookworm)")
    assert distro_qualifier(distro) == "debian-12"


def test_usr_lib_os_release_when_etc_has_none() -> None:
    assert read_distro(FileView.from_files({"usr/lib/os-release": DEBIAN})) is not None


def test_an_absolute_link_is_from_the_root_and_an_escaping_one_names_nothing() -> None:
    view = _with_links({"usr/lib/os-release": DEBIAN}, {"etc/os-release": "/usr/lib/os-release"})
    assert read_distro(view) is not None
    # ../../../usr/lib/os-release from etc/ climbs above the root: no file (FileView.resolve never clamps), and
    # never the host's /usr/lib/os-release; with no usr/lib/os-release of its own the image has no distro
    view = _with_links({"usr/share/x": b""}, {"etc/os-release": "../../../usr/lib/os-release"})
    assert view.resolve("etc/os-release") is None
    assert read_distro(view) is None


def test_a_link_loop_names_no_file() -> None:
    view = _with_links({}, {"etc/os-release": "a", "etc/a": "os-release"})
    assert view.resolve("etc/os-release") is None
    assert read_distro(view) is None


def test_os_release_quoting_and_missing_version() -> None:
    distro = parse_os_release('ID="debian"\nPRETTY_NAME="Debian GNU/Linux trixie/sid"\nBROKEN="unterminated\n')
    assert distro == Distro("debian", pretty_name="Debian GNU/Linux trixie/sid")
    assert distro_qualifier(distro) == "debian"
    assert parse_os_release("NAME=nothing\n") is None
