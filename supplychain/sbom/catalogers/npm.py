"""npm packages: every ``package.json`` with a name and a version, read with the strict JSON decoder
(``formats.strictjson``): installed ones (``node_modules/<name>/package.json``, ``node_modules/@scope/<name>/
package.json``, at any depth: npm's nested ``node_modules``) and an application's own (``/app/package.json``), as
syft's and trivy's image catalogers both list it.

A package.json over ``limits.MAX_PACKAGE_JSON_BYTES`` (1 MiB) is never read: the cap applies in ``wants``, from the tar
header, and the catalog reports it. What cannot be read is a problem for an installed package.json (npm wrote it, so
it should be one); another package.json without a name or a version, or one that is not JSON (a template, a
fixture), is not a package and is skipped without a word.
"""

from __future__ import annotations

from typing import Any

from supplychain.formats.strictjson import JsonFormatError, loads_untrusted
from supplychain.imagefs.view import FileEntry, FileView
from supplychain.limits import MAX_PACKAGE_JSON_BYTES
from supplychain.sbom.catalog import Catalog, read_each
from supplychain.sbom.catalogers.purl import purl
from supplychain.sbom.license import spdx_expression
from supplychain.sbom.package import Distro, Package, Problem

NAME = "npm"


def _is_manifest(path: str) -> bool:
    return path == "package.json" or path.endswith("/package.json")


def _is_installed(path: str) -> bool:
    """A package.json directly in a package directory under ``node_modules`` (the ones npm reads)."""
    parts = path.split("/")
    if len(parts) < 3 or parts[-1] != "package.json":
        return False
    if parts[-3] == "node_modules":
        return not parts[-2].startswith((".", "@"))
    return len(parts) >= 4 and parts[-4] == "node_modules" and parts[-3].startswith("@")


class NpmCataloger:
    """Installed npm packages (see the module docstring)."""

    name = NAME

    def wants(self, path: str, size: int, mode: int) -> bool:
        return size <= MAX_PACKAGE_JSON_BYTES and _is_manifest(path)

    def keeps(self, path: str, data: bytes) -> bytes | None:
        return data

    def catalog(self, view: FileView, distro: Distro | None) -> Catalog:
        return read_each(view, _is_manifest, read_package_json, cataloger=NAME, cap=MAX_PACKAGE_JSON_BYTES,
                         reports=_is_installed)


def read_package_json(entry: FileEntry) -> tuple[Package | None, Problem | None]:
    """One package.json as a package, or why it is not one."""
    assert entry.data is not None
    try:
        document = loads_untrusted(entry.data, what="package.json")
    except JsonFormatError as exc:
        return None, Problem(NAME, entry.path, str(exc))
    if not isinstance(document, dict):
        return None, Problem(NAME, entry.path, "package.json is not a JSON object")
    name, version = document.get("name"), document.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        return None, Problem(NAME, entry.path, "skipped: no name or version string")
    namespace, _, bare = name.rpartition("/")
    return Package(
        type="npm",
        name=name,
        version=version,
        purl=purl("npm", bare, version, namespace=namespace or None),
        locations=(entry.path,),
        licenses=_licenses(document),
        layer=entry.layer,
        cataloger=NAME,
    ), None


def _licenses(document: dict[str, Any]) -> tuple[str, ...]:
    """``license`` (an SPDX expression, npm's package.json docs) or the deprecated ``license: {type}`` and
    ``licenses: [{type}]`` forms."""
    declared: list[str] = []
    value = document.get("license")
    if isinstance(value, str):
        declared.append(value)
    elif isinstance(value, dict) and isinstance(value.get("type"), str):
        declared.append(value["type"])
    listed = document.get("licenses")
    if isinstance(listed, list):
        declared += [item["type"] for item in listed if isinstance(item, dict) and isinstance(item.get("type"), str)]
        declared += [item for item in listed if isinstance(item, str)]
    found = {expression for text in declared if (expression := spdx_expression(text))}
    return tuple(sorted(found))


__all__ = ["NpmCataloger", "read_package_json"]
