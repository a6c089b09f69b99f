"""RPM packages: rpm's SQLite database ``var/lib/rpm/rpmdb.sqlite`` (rpm >= 4.16, Fedora 33+, RHEL 9, the
default now; also ``usr/lib/sysimage/rpm/rpmdb.sqlite``), each row of its ``Packages`` table one header blob.

The header blob (rpm's lib/header.c, ``headerImport``; the "Header structure" of the RPM file format in the
LSB spec, without the 8-byte magic): two big-endian int32, the index entry count and the data length, then the
16-byte index entries (tag, type, offset, count), then the data store. Tags read: NAME 1000, VERSION 1001,
RELEASE 1002, EPOCH 1003, LICENSE 1014, ARCH 1022, SOURCERPM 1044, VENDOR 1011. Every count, offset and length is
checked against the blob.

The database is opened from its bytes with ``sqlite3`` ``Connection.deserialize`` (nothing written to disk);
rpm keeps it in WAL mode, which an in-memory database cannot use, so the header's file format bytes are set
back to rollback-journal (the SQLite file format, "The Database Header", offsets 18-19) in that copy. Changes
still only in ``rpmdb.sqlite-wal`` are not seen (rpm checkpoints when it closes the database).

The older BerkeleyDB ``Packages`` (rpm < 4.16: CentOS 7/8, RHEL 8) and ndb ``Packages.db`` (SUSE) databases are
found and reported as a problem, not read (unless an ``rpmdb.sqlite`` sits beside them: then they are what
``rpmdb --rebuilddb`` migrated from, and the SQLite database is the current one).

purls as syft writes them: ``pkg:rpm/<distro id>/<name>@<version>-<release>?arch=..&epoch=..&upstream=<source
rpm>&distro=<id>-<version_id>``.
"""

from __future__ import annotations

import struct

from supplychain.imagefs.view import FileEntry, FileView
from supplychain.limits import MAX_PACKAGE_DB_BYTES
from supplychain.sbom.catalog import Catalog, located, may_hold, over_cap
from supplychain.sbom.catalogers.purl import purl
from supplychain.sbom.distro import distro_qualifier
from supplychain.sbom.license import spdx_expression
from supplychain.sbom.package import Distro, Package, Problem

NAME = "rpm"
DIRECTORIES = ("var/lib/rpm/", "usr/lib/sysimage/rpm/")
SQLITE = "rpmdb.sqlite"
UNREAD = {"Packages": "BerkeleyDB", "Packages.db": "ndb"}
_NAME, _VERSION, _RELEASE, _EPOCH, _VENDOR, _LICENSE, _ARCH, _SOURCERPM = 1000, 1001, 1002, 1003, 1011, 1014, 1022, 1044
_STRING, _INT32, _STRING_ARRAY, _I18NSTRING = 6, 4, 8, 9
_MAX_INDEX_ENTRIES = 65_536  # rpm's own hdrchkTags limit (lib/header.c: 0x0000ffff)


class HeaderError(ValueError):
    """A header blob that does not parse."""


class RpmCataloger:
    """rpm's SQLite database (see the module docstring)."""

    name = NAME

    def wants(self, path: str, size: int, mode: int) -> bool:
        return any(may_hold(path, directory + SQLITE) for directory in DIRECTORIES) and size <= MAX_PACKAGE_DB_BYTES

    def keeps(self, path: str, data: bytes) -> bytes | None:
        return data

    def catalog(self, view: FileView, distro: Distro | None) -> Catalog:
        packages: list[Package] = []
        problems: list[Problem] = []
        seen: set[str] = set()
        for directory in DIRECTORIES:  # either may be a symlink to the other (Fedora's var/lib/rpm)
            entry = located(view, directory + SQLITE)
            for leaf, kind in UNREAD.items():
                other = located(view, directory + leaf)
                if other is not None and entry is None and other.path not in seen:
                    seen.add(other.path)
                    problems.append(Problem(NAME, other.path, f"a {kind} rpm database: not read (only the SQLite "
                                                              "rpmdb.sqlite of rpm >= 4.16 is)"))
            if entry is None or entry.path in seen:
                continue
            seen.add(entry.path)
            if entry.data is None:
                problems.append(over_cap(NAME, entry, MAX_PACKAGE_DB_BYTES, limit="limits.MAX_PACKAGE_DB_BYTES"))
                continue
            found, bad = _read_database(entry, distro)
            packages += found
            problems += bad
        return Catalog(tuple(sorted(packages)), tuple(problems))


def _read_database(entry: FileEntry, distro: Distro | None) -> tuple[list[Package], list[Problem]]:
    assert entry.data is not None
    data = bytearray(entry.data)
    if data[:16] != b"SQLite format 3\0":
        return [], [Problem(NAME, entry.path, "not an SQLite database")]
    if data[18:20] == b"\x02\x02":
        data[18:20] = b"\x01\x01"  # WAL -> rollback journal for the in-memory copy (module docstring)
    import sqlite3  # here, not at the top: most images have no rpm database, and the module costs 8 ms to load

    connection = sqlite3.connect(":memory:")
    problems: list[Problem] = []
    packages: list[Package] = []
    try:
        connection.deserialize(bytes(data))
        rows = connection.execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
    except sqlite3.Error as exc:
        return [], [Problem(NAME, entry.path, f"not read: {exc}")]
    finally:
        connection.close()
    for number, blob in rows:
        try:
            tags = parse_header(bytes(blob))
        except HeaderError as exc:
            problems.append(Problem(NAME, entry.path, f"package {number}: header skipped: {exc}"))
            continue
        name, version, release = tags.get(_NAME), tags.get(_VERSION), tags.get(_RELEASE)
        if not isinstance(name, str) or not isinstance(version, str) or not isinstance(release, str):
            problems.append(Problem(NAME, entry.path, f"package {number}: no NAME, VERSION or RELEASE"))
            continue
        if name == "gpg-pubkey":
            continue  # an imported signing key rpm stores as a pseudo-package; syft leaves it out too
        epoch = tags.get(_EPOCH)
        arch, source = tags.get(_ARCH), tags.get(_SOURCERPM)
        license_text = tags.get(_LICENSE)
        licenses = (spdx_expression(license_text),) if isinstance(license_text, str) and license_text else ()
        qualifiers = {
            "arch": arch if isinstance(arch, str) else None,
            "epoch": str(epoch) if isinstance(epoch, int) else None,
            "upstream": source if isinstance(source, str) else None,
            "distro": distro_qualifier(distro),
        }
        full_version = f"{epoch}:{version}-{release}" if isinstance(epoch, int) else f"{version}-{release}"
        metadata = [("architecture", qualifiers["arch"] or ""), ("source-rpm", qualifiers["upstream"] or ""),
                    ("vendor", str(tags.get(_VENDOR) or ""))]
        packages.append(Package(
            type="rpm",
            name=name,
            version=full_version,
            purl=purl("rpm", name, f"{version}-{release}", namespace=distro.id if distro else None,
                      qualifiers=qualifiers),
            locations=(entry.path,),
            licenses=tuple(expression for expression in licenses if expression),
            layer=entry.layer,
            cataloger=NAME,
            metadata=tuple(sorted((key, value) for key, value in metadata if value)),
        ))
    return packages, problems


def parse_header(blob: bytes) -> dict[int, str | int]:
    """The string and int32 tags of an rpm header blob (module docstring); the first value of arrays."""
    if len(blob) < 8:
        raise HeaderError("shorter than its 8-byte preamble")
    count, length = struct.unpack_from(">II", blob, 0)
    if count > _MAX_INDEX_ENTRIES:
        raise HeaderError(f"{count} index entries, over rpm's limit of {_MAX_INDEX_ENTRIES}")
    store = 8 + 16 * count
    if store + length > len(blob):
        raise HeaderError(f"{count} index entries and {length} data bytes do not fit in {len(blob)} bytes")
    data = blob[store:store + length]
    tags: dict[int, str | int] = {}
    for index in range(count):
        tag, kind, offset, items = struct.unpack_from(">IIII", blob, 8 + 16 * index)
        if tag not in (_NAME, _VERSION, _RELEASE, _EPOCH, _VENDOR, _LICENSE, _ARCH, _SOURCERPM):
            continue
        if offset >= length:
            raise HeaderError(f"tag {tag}: offset {offset} is past the data store ({length} bytes)")
        if kind in (_STRING, _STRING_ARRAY, _I18NSTRING):
            end = data.find(b"\0", offset)
            if end == -1:
                raise HeaderError(f"tag {tag}: an unterminated string")
            tags[tag] = data[offset:end].decode("utf-8", errors="replace")
        elif kind == _INT32 and items >= 1:
            if offset + 4 > length:
                raise HeaderError(f"tag {tag}: an int32 past the data store")
            (tags[tag],) = struct.unpack_from(">I", data, offset)
    return tags


__all__ = ["HeaderError", "RpmCataloger", "parse_header"]
