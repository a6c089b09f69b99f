"""Java archives: jar, war, ear (and Jenkins' jpi/hpi), opened from bytes with zipfile, nested archives inside
them (``WEB-INF/lib/*.jar``, Spring Boot's ``BOOT-INF/lib/``) ``limits.MAX_ARCHIVE_DEPTH`` levels deep.

Each ``META-INF/maven/<groupId>/<artifactId>/pom.properties`` (written by Maven's archiver) is one package,
``pkg:maven/<groupId>/<artifactId>@<version>``. An archive without one falls back to its ``META-INF/MANIFEST.MF``
(JAR File Specification, "JAR Manifest": ``Implementation-Title``/``Bundle-SymbolicName``, ``Implementation-
Version``/``Bundle-Version``...) and its file name (``name-1.2.3.jar``), as syft's java-archive-cataloger does.

A zip bomb is a problem, not a crash: before any entry is read, the archive's entries, their declared expanded
size in total and each entry's expansion ratio are checked against ``limits``; every read is bounded by the
declared size too (a lying header ends the read, zipfile's CRC check refuses the rest).
"""

from __future__ import annotations

import io
import re
import zipfile

from supplychain.imagefs.view import FileEntry, FileView
from supplychain.limits import (
    MAX_ARCHIVE_BYTES,
    MAX_ARCHIVE_DEPTH,
    MAX_ARCHIVE_ENTRIES,
    MAX_ARCHIVE_EXPANDED_BYTES,
    MAX_ARCHIVE_RATIO,
    MAX_PACKAGE_METADATA_BYTES,
)
from supplychain.sbom.catalog import Catalog
from supplychain.sbom.catalogers.purl import purl
from supplychain.sbom.package import Distro, Package, Problem

NAME = "java"
ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".jpi", ".hpi")
_POM_PROPERTIES = re.compile(r"^META-INF/maven/[^/]+/[^/]+/pom\.properties$")
_FILE_VERSION = re.compile(r"^(?P<name>.+?)-(?P<version>\d[\w.+-]*)$")
_RATIO_FLOOR = 1024 * 1024  # small entries compress far (a page of zeros); the ratio is checked above this


class ArchiveError(ValueError):
    """An archive that is not read: not a zip, or over a cap (a zip bomb)."""


class JavaCataloger:
    """Maven packages inside Java archives (see the module docstring)."""

    name = NAME

    def wants(self, path: str, size: int, mode: int) -> bool:
        return path.lower().endswith(ARCHIVE_SUFFIXES) and 0 < size <= MAX_ARCHIVE_BYTES

    def keeps(self, path: str, data: bytes) -> bool:
        return True

    def catalog(self, view: FileView, distro: Distro | None) -> Catalog:
        packages: list[Package] = []
        problems: list[Problem] = []
        for entry in view.files():
            if not entry.path.lower().endswith(ARCHIVE_SUFFIXES) or entry.data is None:
                continue
            _read_archive(entry, entry.data, entry.path, 1, packages, problems)
        return Catalog(tuple(sorted(packages)), tuple(problems))


def _read_archive(entry: FileEntry, data: bytes, virtual: str, depth: int, packages: list[Package],
                  problems: list[Problem]) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = _check(archive)
            found = []
            manifest: dict[str, str] = {}
            for info in members:
                if _POM_PROPERTIES.match(info.filename):
                    properties = _properties(_read(archive, info, MAX_PACKAGE_METADATA_BYTES))
                    package = _pom_package(entry, virtual, info.filename, properties)
                    if package is not None:
                        found.append(package)
                elif info.filename == "META-INF/MANIFEST.MF":
                    manifest = _manifest(_read(archive, info, MAX_PACKAGE_METADATA_BYTES))
            if not found:
                fallback = _manifest_package(entry, virtual, manifest)
                if fallback is not None:
                    found.append(fallback)
            packages += found
            for info in members:
                if not info.filename.lower().endswith(ARCHIVE_SUFFIXES) or info.is_dir():
                    continue
                inner = f"{virtual}:{info.filename}"
                if depth >= MAX_ARCHIVE_DEPTH:
                    problems.append(Problem(NAME, entry.path, f"{inner}: not opened: nested deeper than "
                                                              f"{MAX_ARCHIVE_DEPTH} archives"))
                    continue
                _read_archive(entry, _read(archive, info, MAX_ARCHIVE_BYTES), inner, depth + 1, packages, problems)
    except ArchiveError as exc:
        problems.append(Problem(NAME, entry.path, f"{virtual}: not read: {exc}"))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError) as exc:
        # zipfile's errors for a damaged archive: a bad header or CRC, an unknown compression method, a short read
        problems.append(Problem(NAME, entry.path, f"{virtual}: not a readable zip archive: {exc}"))


def _check(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = archive.infolist()
    if len(members) > MAX_ARCHIVE_ENTRIES:
        raise ArchiveError(f"{len(members)} entries, over the cap of {MAX_ARCHIVE_ENTRIES}")
    expanded = sum(info.file_size for info in members)
    if expanded > MAX_ARCHIVE_EXPANDED_BYTES:
        raise ArchiveError(f"entries expand to {expanded} bytes, over the cap of {MAX_ARCHIVE_EXPANDED_BYTES} "
                           "(a zip bomb?)")
    for info in members:
        if info.file_size > _RATIO_FLOOR and info.file_size > MAX_ARCHIVE_RATIO * max(info.compress_size, 1):
            raise ArchiveError(f"{info.filename} expands {info.file_size // max(info.compress_size, 1)}x, over the "
                               f"cap of {MAX_ARCHIVE_RATIO}x (a zip bomb?)")
    return members


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    if info.file_size > cap:
        raise ArchiveError(f"{info.filename} is {info.file_size} bytes, over the cap of {cap}")
    with archive.open(info) as member:
        data = member.read(info.file_size + 1)
    if len(data) > info.file_size:
        raise ArchiveError(f"{info.filename} expands past its declared size (a zip bomb?)")
    return data


def _properties(data: bytes) -> dict[str, str]:
    """Java ``.properties`` lines (``key=value`` or ``key: value``; ``#``/``!`` comments), as Maven writes them."""
    properties: dict[str, str] = {}
    for raw in data.decode("iso-8859-1").splitlines():  # java.util.Properties' own encoding
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        match = re.match(r"^([^=:\s]+)\s*[=:\s]\s*(.*)$", line)
        if match:
            properties.setdefault(match.group(1), match.group(2).strip())
    return properties


def _manifest(data: bytes) -> dict[str, str]:
    """The main section of a JAR manifest (up to the first blank line; continuation lines start with a space)."""
    attributes: dict[str, str] = {}
    last = None
    for line in data.decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n"):
        if not line.strip():
            break
        if line.startswith(" ") and last:
            attributes[last] += line[1:]
            continue
        key, colon, value = line.partition(":")
        if colon:
            last = key.strip()
            attributes.setdefault(last, value.strip())
    return attributes


def _pom_package(entry: FileEntry, virtual: str, member: str, properties: dict[str, str]) -> Package | None:
    group, artifact, version = properties.get("groupId"), properties.get("artifactId"), properties.get("version")
    if not artifact or not version:
        return None
    return _maven(entry, group, artifact, version, f"{virtual}:{member}")


def _manifest_package(entry: FileEntry, virtual: str, manifest: dict[str, str]) -> Package | None:
    leaf = virtual.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    stem = leaf.rsplit(".", 1)[0]
    from_file = _FILE_VERSION.match(stem)
    name = from_file.group("name") if from_file else stem
    version = (manifest.get("Implementation-Version") or manifest.get("Specification-Version")
               or manifest.get("Bundle-Version") or (from_file.group("version") if from_file else ""))
    if not name or not version:
        return None
    group = manifest.get("Implementation-Vendor-Id") or (manifest.get("Bundle-SymbolicName", "").split(";")[0]
                                                          .rsplit(".", 1)[0] or None) or name
    return _maven(entry, group, name, version, virtual)


def _maven(entry: FileEntry, group: str | None, artifact: str, version: str, virtual: str) -> Package:
    """``pkg:maven/<group>/<artifact>@<version>``; ``virtual`` the archive path (``outer.war:inner.jar:...``)."""
    metadata = [("group-id", group or ""), ("virtual-path", virtual)]
    return Package(
        type="maven",
        name=artifact,
        version=version,
        purl=purl("maven", artifact, version, namespace=group),
        locations=(entry.path,),
        layer=entry.layer,
        cataloger=NAME,
        metadata=tuple(sorted((key, value) for key, value in metadata if value)),
    )


__all__ = ["ArchiveError", "JavaCataloger"]
