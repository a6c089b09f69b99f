"""Debian packages: dpkg's status database (``var/lib/dpkg/status``, deb-control(5) stanzas) and distroless's one
file per package (``var/lib/dpkg/status.d/<name>``), licences from ``usr/share/doc/<name>/copyright``.

Only installed packages are listed: dpkg's ``Status: want ok installed`` (dpkg(1), "Package states": an entry in
``config-files`` or ``not-installed`` state left after ``apt-get remove`` is not on the filesystem as a package).
syft 1.18.1 lists every stanza with a Package field, those ``deinstall ok config-files`` entries too (the issue's
comparison keeps that disagreement and says so).

Layer attribution (tern's idea): dpkg rewrites the whole ``status`` file for every install, so the layer that last
wrote it is merely the last layer that ran apt. The per-package ``var/lib/dpkg/info/<name>[:<arch>].list`` and
``.md5sums`` are written only when that package is unpacked, so the layer that last wrote them is the layer that
installed (or last upgraded) it; the status file's layer is the fallback when neither exists.

Without an os-release the purl has no namespace and no ``distro=`` (``pkg:deb/bash@5.2.15-2?arch=amd64``); syft
writes no purl at all then.

Licences: a machine-readable copyright file (DEP-5) names them in ``License:`` fields; each distinct one is mapped
to SPDX (``sbom.license``: ``GPL-2+`` is ``GPL-2.0-or-later``, unknown names ``LicenseRef-``). A copyright file that
is not DEP-5 gives the licences it names by their path in ``/usr/share/common-licenses/``, as syft reads them.
"""

from __future__ import annotations

import re

from supplychain.imagefs.view import EntryKind, FileEntry, FileView, LayerRef
from supplychain.limits import MAX_PACKAGE_DB_BYTES, MAX_PACKAGE_METADATA_BYTES
from supplychain.sbom.catalog import Catalog, located, may_hold, over_cap
from supplychain.sbom.catalogers.purl import purl
from supplychain.sbom.distro import distro_qualifier
from supplychain.sbom.license import spdx_expression, spdx_id
from supplychain.sbom.package import Distro, Package, Problem

NAME = "dpkg"
STATUS = "var/lib/dpkg/status"
STATUS_D = "var/lib/dpkg/status.d"
_DOC = re.compile(r"^usr/share/doc/[^/]+/copyright$")
_FIELD = re.compile(r"^([!-9;-~][!-9;-~]*):(.*)$")  # deb822(5): a field name is printable US-ASCII but ':'
_LICENSE_FIELD = re.compile(r"^license:(.*)$", re.IGNORECASE | re.MULTILINE)  # the field's first line: the name
_COMMON_LICENSE = re.compile(r"/usr/share/common-licenses/([0-9A-Za-z_.+-]+)")
_SOURCE = re.compile(r"^(\S+)(?:\s+\((\S+)\))?$")  # "Source: glibc (2.36-9)" when the versions differ


class DpkgCataloger:
    """dpkg's database: installed Debian packages (see the module docstring)."""

    name = NAME

    def wants(self, path: str, size: int, mode: int) -> bool:
        # var/lib/dpkg (or a parent) may be a symlink: the database's real path ends the same way (catalog.may_hold)
        if may_hold(path, STATUS) or may_hold(path.rpartition("/")[0], STATUS_D):
            return size <= MAX_PACKAGE_DB_BYTES and not path.endswith(".md5sums")
        return bool(_DOC.match(path)) and size <= MAX_PACKAGE_METADATA_BYTES

    def keeps(self, path: str, data: bytes) -> bytes | None:
        return data

    def catalog(self, view: FileView, distro: Distro | None) -> Catalog:
        packages: list[Package] = []
        problems: list[Problem] = []
        databases = [entry for entry in (located(view, STATUS),) if entry is not None]
        status_d = located(view, STATUS_D, (EntryKind.DIRECTORY,))  # distroless; through a symlinked parent too
        if status_d is not None:
            databases += [entry for entry in view.under(status_d.path) if not entry.path.endswith(".md5sums")]
        for entry in databases:
            if entry.data is None:
                if entry.kind is EntryKind.FILE:
                    problems.append(over_cap(NAME, entry, MAX_PACKAGE_DB_BYTES, limit="limits.MAX_PACKAGE_DB_BYTES"))
                continue
            found, bad = _read_database(view, entry, distro)
            packages += found
            problems += bad
        return Catalog(tuple(sorted(packages)), tuple(problems))


def parse_stanzas(text: str) -> tuple[list[tuple[int, dict[str, str]]], list[tuple[int, str]]]:
    """deb822(5) paragraphs as ``(first line, fields)``, and ``(line, why)`` for each paragraph refused whole
    (a line that is neither a field nor a continuation, a field given twice, a continuation before any field)."""
    stanzas: list[tuple[int, dict[str, str]]] = []
    broken: list[tuple[int, str]] = []
    fields: dict[str, str] = {}
    start, last, error = 0, None, None
    lines = text.split("\n")
    for number, line in enumerate([*lines, ""], start=1):
        if not line.strip():
            if error is not None:
                broken.append(error)
            elif fields:
                stanzas.append((start, fields))
            fields, last, error = {}, None, None
            continue
        if not fields and last is None and error is None:
            start = number
        if error is not None:
            continue
        if line[0] in " \t":
            if last is None:
                error = (number, "a continuation line before any field")
            else:
                fields[last] += "\n" + line[1:]
            continue
        match = _FIELD.match(line)
        if match is None:
            error = (number, f"not a field: {line[:60]!r}")
            continue
        key = match.group(1).lower()
        if key in fields:
            error = (number, f"field {match.group(1)} given twice")
            continue
        fields[key], last = match.group(2).strip(), key
    return stanzas, broken


def _read_database(view: FileView, entry: FileEntry, distro: Distro | None) -> tuple[list[Package], list[Problem]]:
    assert entry.data is not None
    problems: list[Problem] = []
    try:
        text = entry.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(NAME, entry.path, f"not UTF-8 at byte {exc.start}: read with replacements"))
        text = entry.data.decode("utf-8", errors="replace")
    stanzas, broken = parse_stanzas(text)
    problems += [Problem(NAME, entry.path, f"line {line}: stanza skipped: {why}") for line, why in broken]
    packages: list[Package] = []
    for line, fields in stanzas:
        name, version = fields.get("package", ""), fields.get("version", "")
        if not name or not version:
            missing = "Package" if not name else "Version"
            problems.append(Problem(NAME, entry.path, f"line {line}: stanza skipped: no {missing} field"))
            continue
        status = fields.get("status", "install ok installed").split()  # distroless stanzas have no Status
        if status[-1:] != ["installed"]:
            continue
        packages.append(_package(view, entry, fields, distro))
    return packages, problems


def _package(view: FileView, status: FileEntry, fields: dict[str, str], distro: Distro | None) -> Package:
    name, version = fields["package"], fields["version"]
    architecture = fields.get("architecture", "")
    source_name, source_version = "", ""
    source = _SOURCE.match(fields.get("source", ""))
    if source:
        source_name, source_version = source.group(1), source.group(2) or ""
    # syft: upstream=<source> when the source package is named differently, <source>@<version> when its version
    # differs too (syft's pkg/cataloger/debian package.go, packageURL).
    upstream = None
    if source_name and source_name != name:
        upstream = f"{source_name}@{source_version}" if source_version else source_name
    elif source_version and source_version != version:
        upstream = f"{name}@{source_version}"
    qualifiers = {"arch": architecture, "upstream": upstream, "distro": distro_qualifier(distro)}
    locations = [status.path]
    licenses: tuple[str, ...] = ()
    # usr/share/doc/<name> is often a symlink to a sibling's directory (libgcc-s1 -> gcc-12-base)
    copyright_entry = view.resolve(f"usr/share/doc/{name}/copyright")
    if copyright_entry is not None and copyright_entry.data is not None:
        licenses = copyright_licenses(copyright_entry.data)
        locations.append(copyright_entry.path)
    metadata = [("architecture", architecture), ("source", source_name), ("source-version", source_version)]
    return Package(
        type="deb",
        name=name,
        version=version,
        purl=purl("deb", name, version, namespace=distro.id if distro else None, qualifiers=qualifiers),
        locations=tuple(locations),
        licenses=licenses,
        layer=_installer_layer(view, status, name, architecture),
        cataloger=NAME,
        metadata=tuple(sorted((key, value) for key, value in metadata if value)),
    )


def _installer_layer(view: FileView, status: FileEntry, name: str, architecture: str) -> LayerRef:
    """The layer that last wrote the package's own info files (module docstring), else the status file's."""
    database, _, leaf = status.path.rpartition("/")
    if leaf != "status":
        return status.layer  # distroless: the stanza's file in status.d is the package's own
    info = f"{database}/info/" if database else "info/"  # beside the status file: var/lib/dpkg, or where it links
    candidates = []
    for stem in (name, f"{name}:{architecture}"):
        for suffix in (".list", ".md5sums"):
            entry = view.get(f"{info}{stem}{suffix}")
            if entry is not None:
                candidates.append(entry.layer)
    if not candidates:
        return status.layer
    return max(candidates, key=lambda layer: layer.index)


def copyright_licenses(data: bytes) -> tuple[str, ...]:
    """The distinct licences a DEP-5 copyright file's ``License:`` fields name, as SPDX expressions (sorted)."""
    text = data.decode("utf-8", errors="replace")
    found = {expression for name in _LICENSE_FIELD.findall(text) if (expression := spdx_expression(name.strip()))}
    if not found:  # not DEP-5: the licences it points at in common-licenses, as syft reads them
        found = {spdx_id(name.rstrip(".")) for name in _COMMON_LICENSE.findall(text)}
    return tuple(sorted(found))


__all__ = ["DpkgCataloger", "copyright_licenses", "parse_stanzas"]
