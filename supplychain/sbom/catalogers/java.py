"""Java archives: jar, war, ear (and Jenkins' jpi/hpi), opened from bytes with zipfile, nested archives inside
them (``WEB-INF/lib/*.jar``, Spring Boot's ``BOOT-INF/lib/``) ``limits.MAX_ARCHIVE_DEPTH`` levels deep.

The packages of one archive are the ones syft 1.18.1's java-archive-cataloger finds (archive_parser.go), so that
the two agree on a purl (tests/integration/test_sbom_accuracy.py):

- an archive with a ``META-INF/MANIFEST.MF`` (JAR File Specification, "JAR Manifest") is one main package, unless
  the manifest has ``Weave-Classes`` (New Relic's instrumentation jars, named after what they instrument);
- its name, version and group come from the ``META-INF/maven/<groupId>/<artifactId>/pom.properties`` (written by
  Maven's archiver) whose artifactId matches the file name, else: the name from the Apache Maven Bundle Plugin's
  ``Bundle-SymbolicName``, the file name (``name-1.2.3.jar``; a dotted name's last part), then the manifest's
  ``Name``/``Bundle-Name``/``Short-Name``/``Extension-Name``/``Implementation-Title``; the version from the file
  name, then ``Implementation-Version``/``Specification-Version``/``Plugin-Version``/``Bundle-Version``; the
  group from the first (in sorted order) manifest value of syft's group-id fields that starts with a top-level
  domain (``com``, ``org``, ``net``, ``io``, ``be``), else the name;
- every other ``pom.properties`` (a shaded dependency) is a package of its own;
- an archive without a manifest is no package (its nested archives still are).

One rule we do not share: syft names a Maven Bundle Plugin jar after its ``Bundle-SymbolicName`` with any OSGi
directive left on (``bundle;singleton:=true``); we drop the directive, as we do for the group.

Where syft also consults its table of well-known artifactIds' groupIds (cpegenerate's java_groupid_map.go, data
taken from Maven Central), we use the manifest: the two differ for a jar with neither a matching pom.properties
nor a group-id field (``ant-1.10.12.jar``: syft org.apache.ant, we ant).

A zip bomb is a problem, not a crash: before any entry is read, the archive's entries, their declared expanded
size in total and each entry's expansion ratio are checked against ``limits``; every read is bounded by the
declared size too (a lying header ends the read, zipfile's CRC check refuses the rest).
"""

from __future__ import annotations

import io
import re
import zipfile

from supplychain.imagefs.view import EntryKind, FileEntry, FileView
from supplychain.limits import (
    MAX_ARCHIVE_BYTES,
    MAX_ARCHIVE_DEPTH,
    MAX_ARCHIVE_ENTRIES,
    MAX_ARCHIVE_EXPANDED_BYTES,
    MAX_ARCHIVE_RATIO,
    MAX_PACKAGE_METADATA_BYTES,
)
from supplychain.sbom.catalog import Catalog, over_cap
from supplychain.sbom.catalogers.purl import purl
from supplychain.sbom.package import Distro, Package, Problem

NAME = "java"
ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".jpi", ".hpi")
_POM_PROPERTIES = re.compile(r"^META-INF/maven/[^/]+/[^/]+/pom\.properties$")
# syft's archive_filename.go patterns, in Python: nameAndVersionPattern is RE2 with (?U), every quantifier lazy;
# [[:alpha:]] and [[:word:]] are ASCII classes there.
_VERSION = r"(?P<version>\d.*{q}|build\d+{p}.*{q}|rc{o}\d+{p}(?:^[A-Za-z].*{q}){o})"
_NAME_AND_VERSION = re.compile(
    r"^(?P<name>(?:[A-Za-z][0-9A-Za-z_.]*?(?:\.[A-Za-z][0-9A-Za-z_.]*?)*?-??)+?)(?:-"
    + _VERSION.format(q="?", p="?", o="??") + r")??$", re.IGNORECASE)
_SECONDARY_VERSION = re.compile(r"(?:[._-]" + _VERSION.format(q="", p="", o="?") + r")?$")
_SEPARATOR = re.compile(r"[=:]")
# cpegenerate/java.go: the manifest fields a group id is taken from, first these, then the secondary ones, and
# only values that start with one of the domains (a plain prefix test: "commons-io" starts with "com").
_GROUP_FIELDS = ("Group-Id", "Bundle-SymbolicName", "Extension-Name", "Specification-Vendor", "Implementation-Vendor",
                 "Implementation-Vendor-Id", "Implementation-Title", "Bundle-Activator")
_SECONDARY_GROUP_FIELDS = ("Automatic-Module-Name", "Main-Class", "Package")
_DOMAINS = ("com", "org", "net", "io", "be")
_NAME_FIELDS = ("Name", "Bundle-Name", "Short-Name", "Extension-Name", "Implementation-Title")
_VERSION_FIELDS = ("Implementation-Version", "Specification-Version", "Plugin-Version", "Bundle-Version")
_IDENTIFIER_START = re.compile(r"[^\W\d]|[$_]")  # a letter (any script), a currency sign or a connector
_RATIO_FLOOR = 1024 * 1024  # small entries compress far (a page of zeros); the ratio is checked above this


class ArchiveError(ValueError):
    """An archive that is not read: not a zip, or over a cap (a zip bomb)."""


class JavaCataloger:
    """Maven packages inside Java archives (see the module docstring)."""

    name = NAME

    def wants(self, path: str, size: int, mode: int) -> bool:
        return path.lower().endswith(ARCHIVE_SUFFIXES) and 0 < size <= MAX_ARCHIVE_BYTES

    def keeps(self, path: str, data: bytes) -> bytes | None:
        return data

    def catalog(self, view: FileView, distro: Distro | None) -> Catalog:
        packages: list[Package] = []
        problems: list[Problem] = []
        for entry in view.files():
            if not entry.path.lower().endswith(ARCHIVE_SUFFIXES) or entry.kind is not EntryKind.FILE:
                continue
            if entry.data is None:
                if entry.size > MAX_ARCHIVE_BYTES:  # wants left it unread
                    problems.append(over_cap(NAME, entry, MAX_ARCHIVE_BYTES, limit="limits.MAX_ARCHIVE_BYTES"))
                continue
            _read_archive(entry, entry.data, entry.path, 1, packages, problems)
        return Catalog(tuple(sorted(packages)), tuple(problems))


def _read_archive(entry: FileEntry, data: bytes, virtual: str, depth: int, packages: list[Package],
                  problems: list[Problem]) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = _check(archive)
            poms: list[tuple[str, dict[str, str]]] = []
            manifest: list[dict[str, str]] | None = None
            for info in members:
                if _POM_PROPERTIES.match(info.filename):
                    properties = _properties(_read(archive, info, MAX_PACKAGE_METADATA_BYTES))
                    if properties.get("artifactId") and properties.get("version"):
                        poms.append((info.filename, properties))
                elif info.filename == "META-INF/MANIFEST.MF":
                    manifest = _manifest(_read(archive, info, MAX_PACKAGE_METADATA_BYTES))
            if manifest is not None and not _get(manifest, "Weave-Classes", main_only=True):
                packages += _archive_packages(entry, virtual, manifest, sorted(poms))
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
    """``pom.properties`` as Maven writes it and syft reads it: ``key=value`` (or ``key:value``) lines split at
    the first separator, both sides stripped, ``#`` comments; a later key wins. Decoded as ISO 8859-1,
    java.util.Properties' own encoding."""
    properties: dict[str, str] = {}
    for line in data.decode("iso-8859-1").splitlines():
        if not line.strip() or line.lstrip(" ").startswith("#"):
            continue
        separator = _SEPARATOR.search(line)
        if separator is not None:
            properties[line[:separator.start()].strip()] = line[separator.end():].strip()
    return properties


def _manifest(data: bytes) -> list[dict[str, str]]:
    """A JAR manifest's sections, the main one first, as syft parses them: a blank line ends a section, a line
    starting with a space continues the last value (stripped), the first of a repeated key is kept."""
    sections: list[dict[str, str]] = []
    last = None
    for line in data.decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n"):
        if not line:
            last = None
            continue
        if line.startswith(" "):
            if last is not None:
                sections[-1][last] += line.strip()
            continue
        key, colon, value = line.partition(":")
        key = key.strip()
        if not colon or not key:
            continue
        if last is None:
            sections.append({})
        sections[-1].setdefault(key, value.strip())
        last = key
    return sections or [{}]


def _get(manifest: list[dict[str, str]], field: str, *, main_only: bool = False) -> str:
    """A field's value in the main section, else (unless ``main_only``) in the first section that has one."""
    for section in manifest[:1] if main_only else manifest:
        if section.get(field):
            return section[field]
    return ""


def _filename(virtual: str) -> tuple[str, str]:
    """The archive's file name as syft splits it: (name, version), either possibly empty."""
    leaf = virtual.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    stem = leaf.rsplit(".", 1)[0] if "." in leaf else leaf
    match = _NAME_AND_VERSION.match(stem)
    name, version = (match.group("name") or "", match.group("version") or "") if match else ("", "")
    if not version:
        secondary = _SECONDARY_VERSION.search(name)
        version = secondary.group("version") or "" if secondary else ""
        if version:
            name = name[:len(name) - len(version) - 1]
    return name, version


def _group_from_manifest(manifest: list[dict[str, str]]) -> str:
    for fields in (_GROUP_FIELDS, _SECONDARY_GROUP_FIELDS):
        found = sorted(_clean_group(section[field]) for field in fields for section in manifest
                       if field in section and section[field].startswith(_DOMAINS))
        if found:
            return found[0]
    return ""


def _clean_group(value: str) -> str:
    return value.partition(";")[0].strip()  # an OSGi Bundle-SymbolicName's directives (";singleton:=true") dropped


def _group_from_pom(properties: dict[str, str]) -> str:
    if properties.get("groupId"):
        return _clean_group(properties["groupId"])
    artifact = properties.get("artifactId", "")
    return _clean_group(artifact) if "." in artifact else ""


def _select_name(manifest: list[dict[str, str]], file_name: str) -> str:
    if "Apache Maven Bundle Plugin" in manifest[0].get("Created-By", ""):
        symbolic = manifest[0].get("Bundle-SymbolicName", "")
        if symbolic and manifest[0].get("Implementation-Vendor-Id", "") != symbolic:
            # syft keeps an OSGi directive in the name ("bundle;singleton:=true"); it is no part of the name
            return _clean_group(symbolic).split(".")[-1]
    if "." in file_name and not file_name.startswith("org.eclipse."):
        parts = file_name.split(".")
        if all(part and _IDENTIFIER_START.match(part[0]) for part in parts):
            return parts[-1]
    if file_name:
        return file_name
    return next((manifest[0][field] for field in _NAME_FIELDS if manifest[0].get(field)), "")


def _archive_packages(entry: FileEntry, virtual: str, manifest: list[dict[str, str]],
                      poms: list[tuple[str, dict[str, str]]]) -> list[Package]:
    """The main package of an archive with a manifest, and one package per other pom.properties (see the
    module docstring)."""
    file_name, file_version = _filename(virtual)
    artifacts = {properties["artifactId"] for _, properties in poms}
    matched = next((properties for _, properties in poms
                    if _matches_filename(properties["artifactId"], file_name, artifacts)), None)
    name = matched["artifactId"] if matched else _select_name(manifest, file_name)
    version = matched["version"] if matched else (file_version or next(
        (value for field in _VERSION_FIELDS if (value := _get(manifest, field))), ""))
    main_pom: dict[str, str] | None = None
    group = _group_from_manifest(manifest)
    found: list[Package] = []
    for member, properties in poms:
        pom_group = _group_from_pom(properties)
        identical = (pom_group, properties["artifactId"], properties["version"]) == (
            _group_from_pom(main_pom) if main_pom else group, name, version)
        if identical or properties["artifactId"] == name:
            # syft's updateParentPackage: the pom names the main package (the first such pom keeps its group)
            name, version = properties["artifactId"], properties["version"]
            main_pom = main_pom or properties
            continue
        found.append(_maven(entry, pom_group or properties["artifactId"], properties["artifactId"],
                            properties["version"], f"{virtual}:{member}"))
    if main_pom is not None:
        group = _group_from_pom(main_pom) or group
    if not name:
        return found
    return [_maven(entry, group or name, name, version, virtual), *found]


def _matches_filename(artifact: str, file_name: str, artifacts: set[str]) -> bool:
    """syft's artifactIDMatchesFilename: the exact name when some pom.properties has it, else a prefix/suffix."""
    if not artifact or not file_name:
        return False
    if file_name in artifacts:
        return artifact == file_name
    return artifact.startswith(file_name) or file_name.endswith(artifact)


def _maven(entry: FileEntry, group: str, artifact: str, version: str, virtual: str) -> Package:
    """``pkg:maven/<group>/<artifact>@<version>``; ``virtual`` the archive path (``outer.war:inner.jar:...``)."""
    metadata = [("group-id", group), ("virtual-path", virtual)]
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
