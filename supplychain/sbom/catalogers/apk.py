"""Alpine packages: apk's installed database, ``lib/apk/db/installed``.

The format (apk-tools, "Installed Database" in the Alpine wiki's apk spec): one paragraph per package,
paragraphs separated by a blank line, each line ``<letter>:<value>``: ``P`` name, ``V`` version, ``A``
architecture, ``L`` licence, ``o`` origin (the source package, aports' directory), ``T`` description, ``m``
maintainer, ``U`` URL, ``C`` checksum, then ``F``/``R``/``Z``... for the files it owns. Every package in it is
installed (apk removes a package's paragraph when it removes the package).

Without an os-release the purl has no namespace and no ``distro=`` (``pkg:apk/musl@1.2.4-r1?arch=x86_64``):
apk is also Wolfi's and postmarketOS's, so "alpine" would be a guess. syft writes no purl at all then.
"""

from __future__ import annotations

from supplychain.imagefs.view import FileView
from supplychain.limits import MAX_PACKAGE_DB_BYTES
from supplychain.sbom.catalog import Catalog, located, may_hold, over_cap
from supplychain.sbom.catalogers.purl import purl
from supplychain.sbom.distro import distro_qualifier
from supplychain.sbom.license import spdx_expression
from supplychain.sbom.package import Distro, Package, Problem

NAME = "apk"
INSTALLED = "lib/apk/db/installed"
_METADATA = {"A": "architecture", "o": "origin", "m": "maintainer", "U": "url", "C": "checksum"}


class ApkCataloger:
    """apk's installed database (see the module docstring)."""

    name = NAME

    def wants(self, path: str, size: int, mode: int) -> bool:
        return may_hold(path, INSTALLED, depth=3) and size <= MAX_PACKAGE_DB_BYTES

    def keeps(self, path: str, data: bytes) -> bytes | None:
        return data

    def catalog(self, view: FileView, distro: Distro | None) -> Catalog:
        entry = located(view, INSTALLED)  # lib/ may be usr-merge's symlink to usr/lib
        if entry is None:
            return Catalog(())
        if entry.data is None:
            return Catalog((), (over_cap(NAME, entry, MAX_PACKAGE_DB_BYTES, limit="limits.MAX_PACKAGE_DB_BYTES"),))
        problems: list[Problem] = []
        packages: list[Package] = []
        text = entry.data.decode("utf-8", errors="replace")
        for line, fields in _paragraphs(text):
            name, version = fields.get("P", ""), fields.get("V", "")
            if not name or not version:
                missing = "P (name)" if not name else "V (version)"
                problems.append(Problem(NAME, entry.path, f"line {line}: package skipped: no {missing}"))
                continue
            origin = fields.get("o")
            # syft writes upstream= only when the origin (source package) is named differently
            upstream = origin if origin and origin != name else None
            qualifiers = {"arch": fields.get("A"), "upstream": upstream, "distro": distro_qualifier(distro)}
            packages.append(
                Package(
                    type="apk",
                    name=name,
                    version=version,
                    purl=purl("apk", name, version, namespace=distro.id if distro else None, qualifiers=qualifiers),
                    locations=(entry.path,),
                    licenses=apk_licenses(fields.get("L", "")),
                    layer=entry.layer,
                    cataloger=NAME,
                    metadata=tuple(sorted((_METADATA[k], v) for k, v in fields.items() if k in _METADATA and v)),
                )
            )
        return Catalog(tuple(sorted(packages)), tuple(problems))


def apk_licenses(declared: str) -> tuple[str, ...]:
    """``L:`` as SPDX: an expression as written (``MIT AND BSD-2-Clause``), or, as aports often writes it, a
    space-separated list of names (``MIT BSD GPL2+``), one licence each."""
    words = declared.split()
    if any(word.upper() in ("AND", "OR", "WITH") for word in words) or len(words) <= 1:
        expression = spdx_expression(declared)
        return (expression,) if expression else ()
    return tuple(sorted({expression for word in words if (expression := spdx_expression(word))}))


def _paragraphs(text: str) -> list[tuple[int, dict[str, str]]]:
    paragraphs: list[tuple[int, dict[str, str]]] = []
    fields: dict[str, str] = {}
    start = 1
    for number, line in enumerate([*text.split("\n"), ""], start=1):
        if not line.strip():
            if fields:
                paragraphs.append((start, fields))
            fields = {}
            start = number + 1
            continue
        key, colon, value = line.partition(":")
        if colon and len(key) == 1 and key not in fields:  # the first P/V/...; F/R/Z repeat per file
            fields[key] = value
    return paragraphs


__all__ = ["ApkCataloger", "apk_licenses"]
