"""dpkg (sbom.catalogers.dpkg): installed packages only, from real status stanzas and DEP-5 copyright files of
this machine (fixtures/sbom/debian), distroless status.d, broken stanzas reported one by one, and each package
attributed to the layer that last wrote its own info files (tern's idea), not the status file's."""

from __future__ import annotations

from dataclasses import replace

from supplychain.imagefs.view import EntryKind, FileEntry, FileView, LayerRef
from supplychain.sbom.catalogers.dpkg import DpkgCataloger, copyright_licenses, parse_stanzas
from supplychain.sbom.package import Distro
from tests.support.fileview import scan_directory
from tests.support.sbom_builds import DEBIAN_FIXTURE

BOOKWORM = Distro("debian", "12", "bookworm")
STATUS = (DEBIAN_FIXTURE / "var/lib/dpkg/status").read_bytes()
BASE = LayerRef(0, "sha256:" + "a" * 64, "sha256:" + "b" * 64)
APT = LayerRef(1, "sha256:" + "c" * 64, "sha256:" + "d" * 64)


def _by_name(catalog):  # type: ignore[no-untyped-def]
    return {package.name: package for package in catalog.packages}


def test_real_status_lists_installed_packages_with_syft_purls() -> None:
    _, [catalog] = scan_directory(DEBIAN_FIXTURE, (DpkgCataloger(),))
    packages = _by_name(catalog)
    assert catalog.problems == ()
    bash = packages["bash"]
    assert bash.purl == "pkg:deb/debian/bash@5.2.15-2%2Bb8?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2"
    assert packages["libc6"].purl.endswith("&upstream=glibc")
    assert packages["zlib1g"].version == "1:1.2.13.dfsg-1"
    assert ("source", "glibc") in packages["libc6"].metadata
    assert ("architecture", "amd64") in bash.metadata
    assert bash.locations == ("var/lib/dpkg/status", "usr/share/doc/bash/copyright")
    assert bash.cataloger == "dpkg"


def test_deinstall_entries_are_not_packages() -> None:
    # The fixture keeps less's stanza as `apt-get remove` leaves it: "deinstall ok config-files". syft 1.18.1
    # lists it (test_catalogers_syft says so); dpkg itself no longer has it installed.
    assert b"Package: less\nStatus: deinstall ok config-files" in STATUS
    catalog = DpkgCataloger().catalog(FileView.from_files({"var/lib/dpkg/status": STATUS}), BOOKWORM)
    assert "less" not in _by_name(catalog)
    assert len(catalog.packages) == 10


def test_dep5_copyright_licences_are_spdx() -> None:
    _, [catalog] = scan_directory(DEBIAN_FIXTURE, (DpkgCataloger(),))
    packages = _by_name(catalog)
    assert "GPL-3.0-or-later" in packages["bash"].licenses
    assert packages["zlib1g"].licenses == ("Zlib",)
    assert "Artistic-1.0-Perl OR GPL-1.0-or-later" in packages["libssl3"].licenses
    # libc6's copyright is not DEP-5: the common-licenses it points at, as syft reads them
    assert packages["libc6"].licenses == ("GPL-2.0-only", "LGPL-2.1-only")
    assert all(" " not in part for licence in packages["bash"].licenses for part in licence.split(" AND "))


def test_broken_stanzas_cost_only_themselves() -> None:
    broken = (b"Package: good\nStatus: install ok installed\nVersion: 1.0\nArchitecture: all\n\n"
              b"Package: noversion\nStatus: install ok installed\n\n"
              b"Package: garbage\nthis line is no field\nVersion: 2\n\n"
              b" continuation first\nPackage: x\n\n"
              b"Package: twice\nVersion: 1\nVersion: 2\n\n"
              b"Package: also-good\nStatus: install ok installed\nVersion: 3\nDescription: one\n more\n")
    catalog = DpkgCataloger().catalog(FileView.from_files({"var/lib/dpkg/status": broken}), BOOKWORM)
    assert sorted(_by_name(catalog)) == ["also-good", "good"]
    messages = [problem.message for problem in catalog.problems]
    assert len(messages) == 4, messages
    assert any("no Version field" in message for message in messages)
    assert any("not a field: 'this line is no field'" in message for message in messages)
    assert any("continuation line before any field" in message for message in messages)
    assert any("given twice" in message for message in messages)
    assert all(problem.path == "var/lib/dpkg/status" for problem in catalog.problems)


def test_not_utf8_status_is_a_problem_and_still_read() -> None:
    data = b"Package: p\nStatus: install ok installed\nVersion: 1\nMaintainer: J\xe9r\xf4me\n"
    catalog = DpkgCataloger().catalog(FileView.from_files({"var/lib/dpkg/status": data}), None)
    assert [package.name for package in catalog.packages] == ["p"]
    assert "not UTF-8" in catalog.problems[0].message
    assert catalog.packages[0].purl == "pkg:deb/p@1"  # no distro: no namespace, no distro= qualifier


def test_distroless_status_d_files_are_packages_of_their_own_layer() -> None:
    stanza = b"Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n"
    view = FileView.from_files({"var/lib/dpkg/status.d/base-files": stanza,
                                "var/lib/dpkg/status.d/base-files.md5sums": b"0123 etc/debian_version\n"},
                               layer=APT)
    catalog = DpkgCataloger().catalog(view, BOOKWORM)
    assert [(package.name, package.layer) for package in catalog.packages] == [("base-files", APT)]


def test_layer_is_the_one_that_wrote_the_package_info_files() -> None:
    """The status file was rewritten by the apt layer (1); bash's .list was last written by the base layer (0),
    curl's by the apt layer: bash belongs to the base layer, curl to the apt layer."""
    stanzas = (b"Package: bash\nStatus: install ok installed\nVersion: 5\nArchitecture: amd64\n\n"
               b"Package: curl\nStatus: install ok installed\nVersion: 7\nArchitecture: amd64\n\n"
               b"Package: libc6\nStatus: install ok installed\nVersion: 2\nArchitecture: amd64\n")
    view = FileView.from_files({"var/lib/dpkg/status": stanzas}, layer=APT)
    entries = dict(view.entries)

    def info(path: str, layer: LayerRef) -> None:
        entries[path] = FileEntry(path, EntryKind.FILE, 10, 0o644, layer, (layer,))

    info("var/lib/dpkg/info/bash.list", BASE)
    info("var/lib/dpkg/info/curl.list", APT)
    info("var/lib/dpkg/info/libc6:amd64.md5sums", BASE)  # Multi-Arch: same packages carry the arch
    catalog = DpkgCataloger().catalog(replace(view, entries=entries), BOOKWORM)
    assert {package.name: package.layer for package in catalog.packages} == {"bash": BASE, "curl": APT,
                                                                             "libc6": BASE}


def test_wants_only_databases_and_copyright_files() -> None:
    cataloger = DpkgCataloger()
    assert cataloger.wants("var/lib/dpkg/status", 3_000_000, 0o644)
    assert cataloger.wants("var/lib/dpkg/status.d/tzdata", 900, 0o644)
    assert not cataloger.wants("var/lib/dpkg/status.d/tzdata.md5sums", 900, 0o644)
    assert not cataloger.wants("var/lib/dpkg/status-old", 900, 0o644)
    assert cataloger.wants("usr/share/doc/bash/copyright", 9000, 0o644)
    assert not cataloger.wants("usr/share/doc/bash/copyright", 2 * 1024 * 1024, 0o644)
    assert not cataloger.wants("usr/share/doc/bash/README", 10, 0o644)


def test_a_symlinked_doc_directory_gives_its_target_copyright() -> None:
    """Debian links usr/share/doc/<pkg> to a sibling's directory (libgcc-s1 -> gcc-12-base here)."""
    stanza = b"Package: libgcc-s1\nStatus: install ok installed\nVersion: 12\nArchitecture: amd64\n"
    view = FileView.from_files({"var/lib/dpkg/status": stanza, "usr/share/doc/gcc-12-base/copyright":
                                b"Format: x\n\nFiles: *\nLicense: GPL-3+\n"})
    entries = dict(view.entries)
    entries["usr/share/doc/libgcc-s1"] = FileEntry("usr/share/doc/libgcc-s1", EntryKind.SYMLINK, 0, 0o777, BASE,
                                                   (BASE,), link="gcc-12-base")
    [package] = DpkgCataloger().catalog(replace(view, entries=entries), BOOKWORM).packages
    assert package.licenses == ("GPL-3.0-or-later",)
    assert package.locations == ("var/lib/dpkg/status", "usr/share/doc/gcc-12-base/copyright")


def test_parse_stanzas_keeps_continuations() -> None:
    stanzas, broken = parse_stanzas("Package: a\nDescription: short\n long line\n .\n")
    assert broken == []
    assert stanzas == [(1, {"package": "a", "description": "short\nlong line\n."})]
    assert copyright_licenses(b"Format: x\n\nFiles: *\nLicense: GPL-2+\n") == ("GPL-2.0-or-later",)
