"""Every cataloger, one module each behind ``sbom.catalog.Cataloger`` (issue 12, item 3), in a fixed order: OS
package databases first, then language ecosystems, then binaries and archives. The order is the order their
packages and problems are reported in before sorting, and the order ``wants_any`` asks them in.
"""

from __future__ import annotations

from supplychain.sbom.catalog import Cataloger
from supplychain.sbom.catalogers.apk import ApkCataloger
from supplychain.sbom.catalogers.dpkg import DpkgCataloger
from supplychain.sbom.catalogers.golang import GoCataloger
from supplychain.sbom.catalogers.java import JavaCataloger
from supplychain.sbom.catalogers.npm import NpmCataloger
from supplychain.sbom.catalogers.python import PythonCataloger
from supplychain.sbom.catalogers.rpm import RpmCataloger
from supplychain.sbom.catalogers.ruby import RubyCataloger
from supplychain.sbom.catalogers.rust import RustCataloger


def all_catalogers() -> tuple[Cataloger, ...]:
    """One of each cataloger, in the fixed order (module docstring)."""
    return (
        DpkgCataloger(),
        ApkCataloger(),
        RpmCataloger(),
        PythonCataloger(),
        NpmCataloger(),
        RubyCataloger(),
        JavaCataloger(),
        GoCataloger(),
        RustCataloger(),
    )


def catalogers_named(names: list[str] | tuple[str, ...]) -> tuple[Cataloger, ...]:
    """The catalogers called ``names`` (``dpkg``, ``python``...), in the fixed order; an unknown name is a
    ``KeyError`` naming it."""
    known = {cataloger.name: cataloger for cataloger in all_catalogers()}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise KeyError(f"unknown cataloger(s): {', '.join(unknown)} (known: {', '.join(known)})")
    return tuple(cataloger for cataloger in all_catalogers() if cataloger.name in names)


__all__ = [
    "ApkCataloger", "DpkgCataloger", "GoCataloger", "JavaCataloger", "NpmCataloger", "PythonCataloger",
    "RpmCataloger", "RubyCataloger", "RustCataloger", "all_catalogers", "catalogers_named",
]
