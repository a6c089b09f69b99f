"""Software bills of materials for images (issue 12; row 6½, store-agnostic): what is installed in an image, found
by catalogers reading its filesystem (``imagefs.FileView``), written as CycloneDX or SPDX.

The names below are the package's public API (``from supplychain.sbom import generate_inventory, write_outputs``);
each submodule loads when one of its names is first used (``supplychain.lazy``). An image to scan is opened with
``supplychain.imagesource.open_image``.

- ``package``: the values: ``Package`` (name, version, purl, licences, where its metadata is, the layer that last
  added it), ``Distro`` (``etc/os-release``), ``ImageInfo`` (what was scanned), ``Inventory`` (all of it, sorted);
- ``catalog``: the one ``Cataloger`` interface every cataloger implements (pip-audit's ``DependencySource`` is
  the model): ``wants`` a path from its tar header, ``keeps`` its bytes once read, then ``catalog`` the view into
  packages and problems; ``catalogers``: one module per ecosystem, ``all_catalogers()``;
- ``generate``: ``generate_inventory``, an image's inventory; ``formats``, ``write``: the output formats and the
  writers; ``validate``: the libraries' validators; ``diff``: packages added, removed and changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supplychain.lazy import lazy_exports

if TYPE_CHECKING:
    from supplychain.sbom.catalog import Catalog, Cataloger
    from supplychain.sbom.catalogers import all_catalogers, catalogers_named
    from supplychain.sbom.diff import SbomDiff, diff_inventories, diff_packages, read_sbom_file
    from supplychain.sbom.formats import OutputSpec, SbomFormat, parse_outputs
    from supplychain.sbom.generate import generate_inventory
    from supplychain.sbom.package import Distro, ImageInfo, Inventory, Package, Problem
    from supplychain.sbom.validate import InvalidSbomError, validate_document
    from supplychain.sbom.write import SbomWriteError, render_sbom, write_outputs

__all__ = [
    "Catalog",
    "Cataloger",
    "Distro",
    "ImageInfo",
    "InvalidSbomError",
    "Inventory",
    "OutputSpec",
    "Package",
    "Problem",
    "SbomDiff",
    "SbomFormat",
    "SbomWriteError",
    "all_catalogers",
    "catalogers_named",
    "diff_inventories",
    "diff_packages",
    "generate_inventory",
    "parse_outputs",
    "read_sbom_file",
    "render_sbom",
    "validate_document",
    "write_outputs",
]

# mypy reads the imports above; a module __getattr__ it could see would make every unknown name Any.
if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, {
        "supplychain.sbom.catalog": ("Catalog", "Cataloger"),
        "supplychain.sbom.catalogers": ("all_catalogers", "catalogers_named"),
        "supplychain.sbom.diff": ("SbomDiff", "diff_inventories", "diff_packages", "read_sbom_file"),
        "supplychain.sbom.formats": ("OutputSpec", "SbomFormat", "parse_outputs"),
        "supplychain.sbom.generate": ("generate_inventory",),
        "supplychain.sbom.package": ("Distro", "ImageInfo", "Inventory", "Package", "Problem"),
        "supplychain.sbom.validate": ("InvalidSbomError", "validate_document"),
        "supplychain.sbom.write": ("SbomWriteError", "render_sbom", "write_outputs"),
    })
