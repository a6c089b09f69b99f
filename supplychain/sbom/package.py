"""The values an SBOM is made of (issue 12, item 3): packages, the distribution, the image, the inventory.

A ``Package`` carries what every output format needs and nothing format-specific: name, version, its package URL
(purl-spec, built with packageurl-python by the cataloger that found it), licences as SPDX license expressions
(Debian's own licence names mapped to ``LicenseRef-``), the paths of the metadata it was read from, and the layer
that last wrote that metadata (tern's attribution: the layer that installed or last upgraded it). ``metadata``
holds a few cataloger-specific facts as sorted ``(key, value)`` pairs (``architecture``, ``source``...), written
as properties.

Everything is immutable and sorted, so the same image gives the same inventory and so the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from supplychain.imagefs.view import LayerRef


@dataclass(frozen=True, slots=True, order=True)
class Package:
    """One installed package; ordered by type, name, version, purl, then locations."""

    type: str  # the purl type: deb, apk, rpm, pypi, npm, golang, maven, cargo, gem
    name: str
    version: str
    purl: str
    locations: tuple[str, ...]  # the metadata files it was read from, normalised image paths
    licenses: tuple[str, ...] = ()  # SPDX license expressions
    layer: LayerRef | None = field(default=None, compare=False)
    cataloger: str = field(default="", compare=False)
    metadata: tuple[tuple[str, str], ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class Distro:
    """The distribution ``etc/os-release`` (or ``usr/lib/os-release``) names (os-release(5) fields)."""

    id: str
    version_id: str | None = None
    version_codename: str | None = None
    pretty_name: str | None = None
    id_like: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Problem:
    """Something a cataloger could not read, and why: reported, never fatal (one broken stanza loses one package)."""

    cataloger: str
    path: str
    message: str


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What was scanned: a name as the user gave it, the manifest digest, the platform, the config's labels."""

    name: str
    digest: str | None = None
    platform: str | None = None  # os/architecture[/variant]
    labels: tuple[tuple[str, str], ...] = ()
    layers: tuple[LayerRef, ...] = ()
    created: str | None = None  # the config's ``created`` (RFC 3339): the documents' timestamp (sbom.formats)


@dataclass(frozen=True, slots=True)
class Inventory:
    """The whole result of a scan: the image, its distribution, its packages (sorted), what could not be read."""

    image: ImageInfo
    distro: Distro | None
    packages: tuple[Package, ...]
    problems: tuple[Problem, ...] = ()


__all__ = ["Distro", "ImageInfo", "Inventory", "Package", "Problem"]
