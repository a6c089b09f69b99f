"""The one interface every cataloger implements (issue 12, item 3; pip-audit's ``DependencySource`` is the model).

A cataloger is asked twice. While layers stream, ``wants(path, size, mode)`` decides from a tar header alone
whether it needs a regular file's bytes (``imagefs.view.Wants``: the walker keeps only those). After the walk,
``catalog(view, distro)`` reads the kept files from the squashed (or one layer's) ``FileView`` and returns the
packages it found and the problems it met: a broken record costs that record, never the scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from supplychain.imagefs.view import FileView, Wants
from supplychain.sbom.package import Distro, Package, Problem


@dataclass(frozen=True, slots=True)
class Catalog:
    """What one cataloger found."""

    packages: tuple[Package, ...]
    problems: tuple[Problem, ...] = ()


class Cataloger(Protocol):
    """Finds one ecosystem's packages in an image's filesystem."""

    name: str  # short and stable: dpkg, apk, rpm, python, npm, go, java, rust, ruby

    def wants(self, path: str, size: int, mode: int) -> bool:
        """Whether the bytes of the regular file at ``path`` (normalised) are needed."""
        ...

    def catalog(self, view: FileView, distro: Distro | None) -> Catalog:
        """The packages in ``view``; ``distro`` qualifies OS package purls (``distro=debian-12``)."""
        ...


def wants_any(catalogers: Sequence[Cataloger]) -> Wants:
    """One ``Wants`` for the walker: a file is kept when any cataloger wants it."""

    def wants(path: str, size: int, mode: int) -> bool:
        return any(cataloger.wants(path, size, mode) for cataloger in catalogers)

    return wants


__all__ = ["Catalog", "Cataloger", "wants_any"]
