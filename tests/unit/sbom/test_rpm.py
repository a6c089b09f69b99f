"""rpm (sbom.catalogers.rpm): a real rpmdb.sqlite made with Debian's rpm (rpm --initdb, packages built with
rpmbuild, installed with --justdb; tests.support.sbom_builds), header blobs parsed in Python, read from bytes
(sqlite3 deserialize), and the databases it does not read said so."""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

from supplychain.imagefs.view import FileView
from supplychain.sbom.catalogers.rpm import HeaderError, RpmCataloger, parse_header
from supplychain.sbom.package import Distro
from tests.support.fileview import scan_directory

DATABASE = "var/lib/rpm/rpmdb.sqlite"


def test_real_sqlite_database(rpm_root: Path) -> None:
    distro, [catalog] = scan_directory(rpm_root, (RpmCataloger(),))
    assert distro == Distro("fedora", "39", pretty_name="Fedora Linux 39 (Container Image)")
    assert catalog.problems == ()
    packages = {package.name: package for package in catalog.packages}
    assert packages["tiny"].purl == ("pkg:rpm/fedora/tiny@1.0-3?arch=noarch&distro=fedora-39&epoch=2"
                                     "&upstream=tiny-1.0-3.src.rpm")
    assert packages["tiny"].version == "2:1.0-3"
    assert packages["tiny"].licenses == ("MIT AND (GPL-2.0-or-later OR LicenseRef-BSD)",)
    assert packages["other-tool"].purl == ("pkg:rpm/fedora/other-tool@0.5-1?arch=noarch&distro=fedora-39"
                                           "&upstream=other-tool-0.5-1.src.rpm")
    assert packages["other-tool"].locations == (DATABASE,)


def test_damaged_header_blob_costs_that_package(rpm_root: Path, tmp_path: Path) -> None:
    copy = tmp_path / "rpmdb.sqlite"
    copy.write_bytes((rpm_root / DATABASE).read_bytes())
    with sqlite3.connect(copy) as connection:
        connection.execute("PRAGMA journal_mode=DELETE")
        hnum = connection.execute("SELECT min(hnum) FROM Packages").fetchone()[0]
        connection.execute("UPDATE Packages SET blob = ? WHERE hnum = ?", (struct.pack(">II", 3, 999), hnum))
    connection.close()
    catalog = RpmCataloger().catalog(FileView.from_files({DATABASE: copy.read_bytes()}), None)
    assert len(catalog.packages) == 1
    assert "header skipped" in catalog.problems[0].message and "do not fit" in catalog.problems[0].message


def test_berkeleydb_and_ndb_databases_are_said_to_be_skipped() -> None:
    view = FileView.from_files({"var/lib/rpm/Packages": b"\0" * 64, "usr/lib/sysimage/rpm/Packages.db": b"x"})
    catalog = RpmCataloger().catalog(view, None)
    assert catalog.packages == ()
    messages = sorted(problem.message for problem in catalog.problems)
    assert messages[0].startswith("a BerkeleyDB rpm database: not read")
    assert messages[1].startswith("a ndb rpm database: not read")


def test_not_sqlite_is_a_problem() -> None:
    catalog = RpmCataloger().catalog(FileView.from_files({DATABASE: b"garbage" * 10}), None)
    assert catalog.problems[0].message == "not an SQLite database"


def test_header_bounds() -> None:
    for blob in (b"", struct.pack(">II", 100_000, 0), struct.pack(">II", 1, 4) + struct.pack(">IIII", 1000, 6, 9, 1)
                 + b"abcd", struct.pack(">II", 1, 4) + struct.pack(">IIII", 1000, 6, 0, 1) + b"abcd"):
        try:
            parse_header(blob)
        except HeaderError:
            continue
        raise AssertionError(f"accepted {blob!r}")
