"""Installed Python distributions: ``*.dist-info/METADATA`` (wheels, PEP 376/PEP 627) and ``*.egg-info/PKG-INFO``
(setuptools' eggs, or an ``*.egg-info`` file holding the same headers; an unzipped ``*.egg/EGG-INFO/PKG-INFO``),
read as Core Metadata (an RFC 822 header block, email.parser as packaging.metadata does).

The purl's name is the PEP 503 normalised name (lower case, runs of ``-_.`` as one ``-``), as the purl-spec's
pypi type requires and syft writes; ``Package.name`` keeps the name as the distribution declares it.
Licences, in order of authority: ``License-Expression`` (Core Metadata 2.4, PEP 639, already SPDX), ``License``
when it is a short name rather than the licence's text or the name of the file holding it (``License: LICENSE``,
as oras 0.2.43 declares, says where the licence is, not which), then the ``License ::`` trove classifiers.

Core Metadata is UTF-8 (Core Metadata specification, "Metadata fields"); a file that is not is reported as a
problem and read with replacement characters, and skipped when its Name or Version are unreadable.
"""

from __future__ import annotations

import re

from supplychain.imagefs.view import FileEntry, FileView
from supplychain.limits import MAX_PACKAGE_METADATA_BYTES
from supplychain.sbom.catalog import Catalog, read_each
from supplychain.sbom.catalogers.purl import purl
from supplychain.sbom.license import spdx_expression
from supplychain.sbom.package import Distro, Package, Problem

NAME = "python"
_NORMALISE = re.compile(r"[-_.]+")
# A License field that names the licence's file: LICENSE, LICENSE.txt, COPYING.md, "see LICENSE file".
_LICENSE_FILE = re.compile(r"(?:see\s+)?(?:the\s+)?(?:licen[cs]e|copying)(?:[._-][\w.-]*)?(?:\s+file)?\.?",
                           re.IGNORECASE)
# The trove classifiers' licence names (https://pypi.org/classifiers/) that name one SPDX licence.
_CLASSIFIERS = {
    "MIT License": "MIT",
    "Apache Software License": "Apache-2.0",
    "BSD License": "LicenseRef-BSD",
    "ISC License (ISCL)": "ISC",
    "Python Software Foundation License": "PSF-2.0",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.0-only",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0-or-later",
    "The Unlicense (Unlicense)": "Unlicense",
    "Zope Public License": "ZPL-2.1",
}


def normalise_name(name: str) -> str:
    """PEP 503's normalised project name."""
    return _NORMALISE.sub("-", name).lower()


def _is_metadata(path: str) -> bool:
    """syft's globs: ``*.dist-info/METADATA``, ``*.egg-info/PKG-INFO`` and a single-file ``*.egg-info``, in either
    case (``*.DIST-INFO``), and an unzipped egg's ``*.egg/EGG-INFO/PKG-INFO`` (easy_install's layout)."""
    parent, _, leaf = path.rpartition("/")
    folder = parent.rpartition("/")[2].lower()
    if leaf == "METADATA":
        return folder.endswith(".dist-info")
    if leaf == "PKG-INFO":
        return folder.endswith(".egg-info") or folder == "egg-info"
    return leaf.lower().endswith(".egg-info")  # a single-file egg-info (distutils' install_egg_info)


class PythonCataloger:
    """Installed Python distributions (see the module docstring)."""

    name = NAME

    def wants(self, path: str, size: int, mode: int) -> bool:
        return size <= MAX_PACKAGE_METADATA_BYTES and _is_metadata(path)

    def keeps(self, path: str, data: bytes) -> bytes | None:
        return data

    def catalog(self, view: FileView, distro: Distro | None) -> Catalog:
        return read_each(view, _is_metadata, read_metadata, cataloger=NAME, cap=MAX_PACKAGE_METADATA_BYTES)


def read_metadata(entry: FileEntry) -> tuple[Package | None, Problem | None]:
    """One METADATA/PKG-INFO file as a package, and what was wrong with it."""
    assert entry.data is not None
    problem = None
    try:
        text = entry.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = Problem(NAME, entry.path, f"not UTF-8 at byte {exc.start} (Core Metadata is UTF-8): read with "
                                            "replacement characters")
        text = entry.data.decode("utf-8", errors="replace")
    from email.parser import HeaderParser  # here: 20 ms to load (socket, email.utils), only for images with Python

    headers = HeaderParser().parsestr(text)
    name, version = (headers.get("Name") or "").strip(), (headers.get("Version") or "").strip()
    if not name or not version or "\ufffd" in name + version:
        why = "no Name or Version" if not name or not version else "Name or Version is not readable"
        message = f"{problem.message}; skipped: {why}" if problem else f"skipped: {why}"
        return None, Problem(NAME, entry.path, message)
    package = Package(
        type="pypi",
        name=name,
        version=version,
        purl=purl("pypi", normalise_name(name), version),
        locations=(entry.path,),
        licenses=_licenses(headers.get("License-Expression"), headers.get("License"),
                           headers.get_all("Classifier") or []),
        layer=entry.layer,
        cataloger=NAME,
        metadata=tuple(sorted((k, str(v)) for k, v in (("metadata-version", headers.get("Metadata-Version")),)
                              if v)),
    )
    return package, problem


def _licenses(expression: str | None, license_field: str | None, classifiers: list[str]) -> tuple[str, ...]:
    if expression and expression.strip():
        mapped = spdx_expression(expression)
        return (mapped,) if mapped else ()
    if license_field and license_field.strip() and license_field.strip().upper() != "UNKNOWN":
        short = license_field.strip()
        if "\n" not in short and len(short) <= 100 and not _LICENSE_FILE.fullmatch(short):  # a name: no text, no file
            mapped = spdx_expression(short)
            return (mapped,) if mapped else ()
    found = set()
    for classifier in classifiers:
        parts = [part.strip() for part in classifier.split("::")]
        if parts[0] == "License" and len(parts) > 1 and parts[-1] in _CLASSIFIERS:
            found.add(_CLASSIFIERS[parts[-1]])
    return tuple(sorted(found))


__all__ = ["PythonCataloger", "normalise_name", "read_metadata"]
