"""Installed Ruby gems: the ``specifications/*.gemspec`` files RubyGems writes for each installed gem (under a
gem directory: ``usr/lib/ruby/gems/3.1.0/specifications/``, ``usr/local/bundle/specifications/``,
``var/lib/gems/*/specifications/``), and Ruby's default gems in ``specifications/default/``.

A gemspec is Ruby source; it is never evaluated. RubyGems writes installed specifications in one shape
(``Gem::Specification#to_ruby``): ``s.name = "rake".freeze``, ``s.version = "13.0.6"``, ``s.licenses =
["MIT".freeze]``; those assignments are read with regular expressions, as syft's gemspec cataloger does.
"""

from __future__ import annotations

import re

from supplychain.imagefs.view import FileEntry, FileView
from supplychain.limits import MAX_PACKAGE_METADATA_BYTES
from supplychain.sbom.catalog import Catalog, Read, read_each
from supplychain.sbom.catalogers.purl import purl
from supplychain.sbom.license import spdx_expression
from supplychain.sbom.package import Distro, Package, Problem

NAME = "ruby"
_STRING = r"""["']([^"'\\]*)["'](?:\.freeze)?"""
_ASSIGN = re.compile(rf"^\s*\w+\.(name|version)\s*=\s*{_STRING}", re.MULTILINE)
_LICENSES = re.compile(r"^\s*\w+\.licen[sc]es?\s*=\s*\[?([^\]\n]*)\]?", re.MULTILINE)
_ITEM = re.compile(_STRING)


def _is_gemspec(path: str) -> bool:
    """Whether ``path`` is under a ``specifications`` directory, at any depth: syft's glob
    ``**/specifications/**/*.gemspec``, which takes in Ruby's default gems (``specifications/default/json-2.6.1
    .gemspec``: the gems bundled with Ruby itself, dozens in the official ruby images)."""
    parent, _, leaf = path.rpartition("/")
    return leaf.endswith(".gemspec") and "/specifications/" in f"/{parent}/"


class RubyCataloger:
    """Installed gems' specifications (see the module docstring)."""

    name = NAME

    def wants(self, path: str, size: int, mode: int) -> bool:
        return size <= MAX_PACKAGE_METADATA_BYTES and _is_gemspec(path)

    def keeps(self, path: str, data: bytes) -> bytes | None:
        return data

    def catalog(self, view: FileView, distro: Distro | None) -> Catalog:
        return read_each(view, _is_gemspec, _read, cataloger=NAME, cap=MAX_PACKAGE_METADATA_BYTES)


def _read(entry: FileEntry) -> Read:
    package = read_gemspec(entry)
    return package, None if package is not None else Problem(NAME, entry.path, "skipped: no name or version assignment")


def read_gemspec(entry: FileEntry) -> Package | None:
    """One installed gemspec as a package (``None`` when it names no name or version)."""
    assert entry.data is not None
    text = entry.data.decode("utf-8", errors="replace")
    fields: dict[str, str] = {}
    for key, value in _ASSIGN.findall(text):
        fields.setdefault(key, value)
    name, version = fields.get("name"), fields.get("version")
    if not name or not version:
        return None
    licenses: set[str] = set()
    for listed in _LICENSES.findall(text):
        licenses |= {expression for item in _ITEM.findall(listed) if (expression := spdx_expression(item))}
    return Package(
        type="gem",
        name=name,
        version=version,
        purl=purl("gem", name, version),
        locations=(entry.path,),
        licenses=tuple(sorted(licenses)),
        layer=entry.layer,
        cataloger=NAME,
    )


__all__ = ["RubyCataloger", "read_gemspec"]
