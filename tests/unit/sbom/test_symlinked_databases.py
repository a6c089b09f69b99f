"""Package databases behind a symlinked parent (issue 12, item 3): the walk decides what to keep from each tar
header alone, before it knows the image's links, so a cataloger's database found through ``var/lib/dpkg ->
../../usr/lib/dpkg``, ``var/lib -> /data/lib``, usr-merge's ``lib -> usr/lib`` or Fedora's ``var/lib/rpm ->
../../usr/lib/sysimage/rpm`` is kept by its path's tail (``sbom.catalog.may_hold``) and read through the links
(``located``): as syft finds them. Real database bytes (fixtures/sbom, the rpm test build) in real tar layers."""

from __future__ import annotations

from pathlib import Path

from supplychain.imagefs.walk import walk_layers
from supplychain.sbom.catalog import Cataloger, keeps_any, wants_any
from supplychain.sbom.catalogers.apk import ApkCataloger
from supplychain.sbom.catalogers.dpkg import DpkgCataloger
from supplychain.sbom.catalogers.rpm import RpmCataloger
from supplychain.sbom.package import Package
from tests.support.sbom_builds import ALPINE_FIXTURE, DEBIAN_FIXTURE
from tests.unit.imagefs.layers import directory, file, layer, symlink

STATUS = (DEBIAN_FIXTURE / "var/lib/dpkg/status").read_bytes()
INSTALLED = (ALPINE_FIXTURE / "lib/apk/db/installed").read_bytes()


def catalog(cataloger: Cataloger, *items: object) -> tuple[list[Package], tuple[str, ...]]:
    files = walk_layers([layer(list(items))], wants_any([cataloger]), keeps=keeps_any([cataloger]))  # type: ignore[arg-type]
    found = cataloger.catalog(files.squashed, None)
    return list(found.packages), tuple(p.message for p in found.problems)


def test_dpkg_behind_a_symlinked_dpkg_directory_and_a_symlinked_parent() -> None:
    plain, _ = catalog(DpkgCataloger(), directory("var/lib/dpkg"), file("var/lib/dpkg/status", STATUS))
    assert len(plain) == 10  # the fixture's installed stanzas (less is deinstalled)
    linked, problems = catalog(DpkgCataloger(), directory("usr/lib/dpkg"), file("usr/lib/dpkg/status", STATUS),
                               directory("var/lib"), symlink("var/lib/dpkg", "../../usr/lib/dpkg"))
    assert [p.name for p in linked] == [p.name for p in plain] and problems == ()
    assert {p.locations[0] for p in linked} == {"usr/lib/dpkg/status"}  # the real path, as syft's location
    parent, _ = catalog(DpkgCataloger(), directory("data/lib/dpkg"), file("data/lib/dpkg/status", STATUS),
                        directory("var"), symlink("var/lib", "/data/lib"))
    assert [p.name for p in parent] == [p.name for p in plain]


def test_dpkg_keeps_a_status_elsewhere_but_reads_only_what_var_lib_dpkg_leads_to() -> None:
    """A copy of a status file somewhere else (a backup, a build context) is no installed database."""
    found, _ = catalog(DpkgCataloger(), directory("srv/backup/dpkg"), file("srv/backup/dpkg/status", STATUS))
    assert found == []


def test_distroless_status_d_behind_a_symlink() -> None:
    stanza = b"Package: tzdata\nStatus: install ok installed\nVersion: 2024a-0+deb12u1\nArchitecture: all\n"
    found, _ = catalog(DpkgCataloger(), directory("usr/lib/dpkg/status.d"), file("usr/lib/dpkg/status.d/tzdata",
                                                                                 stanza),
                       directory("var/lib"), symlink("var/lib/dpkg", "/usr/lib/dpkg"))
    assert [(p.name, p.locations) for p in found] == [("tzdata", ("usr/lib/dpkg/status.d/tzdata",))]


def test_apk_under_usr_merge() -> None:
    found, problems = catalog(ApkCataloger(), directory("usr/lib/apk/db"), file("usr/lib/apk/db/installed",
                                                                                INSTALLED),
                              symlink("lib", "usr/lib"))
    assert len(found) == 7 and problems == ()
    assert {p.locations for p in found} == {("usr/lib/apk/db/installed",)}


def test_rpm_behind_fedoras_var_lib_rpm_link_is_read_once(rpm_root: Path) -> None:
    database = (rpm_root / "var/lib/rpm/rpmdb.sqlite").read_bytes()
    found, problems = catalog(RpmCataloger(), directory("usr/lib/sysimage/rpm"),
                              file("usr/lib/sysimage/rpm/rpmdb.sqlite", database), directory("var/lib"),
                              symlink("var/lib/rpm", "../../usr/lib/sysimage/rpm"))
    names = [p.name for p in found]
    assert sorted(names) == sorted(set(names)) and "tiny" in names and problems == ()
