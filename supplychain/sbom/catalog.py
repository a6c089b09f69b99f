"""The one interface every cataloger implements (issue 12, item 3; pip-audit's ``DependencySource`` is the model).

A cataloger is asked three times. While layers stream, ``wants(path, size, mode)`` decides from a tar header alone
whether it needs a regular file's bytes (``imagefs.view.Wants``: the walker reads only those), and ``keeps(path,
data)`` whether to keep the bytes once read (``imagefs.view.Keeps``: the binary catalogers read every executable
and keep only those with build information in them; the others keep whatever they wanted). After the walk,
``catalog(view, distro)`` reads the kept files from the squashed (or one layer's) ``FileView`` and returns the
packages it found and the problems it met: a broken record costs that record, never the scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from supplychain.imagefs.view import FileView, Keeps, Wants
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

    def keeps(self, path: str, data: bytes) -> bool:
        """Whether the bytes of a file it wanted, now read, are worth keeping for ``catalog``."""
        ...

    def catalog(self, view: FileView, distro: Distro | None) -> Catalog:
        """The packages in ``view``; ``distro`` qualifies OS package purls (``distro=debian-12``)."""
        ...


def wants_any(catalogers: Sequence[Cataloger]) -> Wants:
    """One ``Wants`` for the walker: a file is kept when any cataloger wants it."""

    def wants(path: str, size: int, mode: int) -> bool:
        return any(cataloger.wants(path, size, mode) for cataloger in catalogers)

    return wants


def keeps_any(catalogers: Sequence[Cataloger]) -> Keeps:
    """One ``Keeps`` for the walker: a wanted file is kept when a cataloger that wants it keeps it."""

    def keeps(path: str, mode: int, data: bytes) -> bool:
        size = len(data)
        return any(cataloger.wants(path, size, mode) and cataloger.keeps(path, data) for cataloger in catalogers)

    return keeps


__all__ = ["Catalog", "Cataloger", "keeps_any", "wants_any"]
