"""The one interface every cataloger implements (issue 12, item 3; pip-audit's ``DependencySource`` is the model).

A cataloger is asked three times. While layers stream, ``wants(path, size, mode)`` decides from a tar header alone
whether it needs a regular file's bytes (``imagefs.view.Wants``: the walker reads only those), and ``keeps(path,
data)`` whether to keep the bytes once read (``imagefs.view.Keeps``: the binary catalogers read every executable
and keep only those with build information in them; the others keep whatever they wanted). After the walk,
``catalog(view, distro)`` reads the kept files from the squashed (or one layer's) ``FileView`` and returns the
packages it found and the problems it met: a broken record costs that record, never the scan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from supplychain.imagefs.view import EntryKind, FileEntry, FileView, Keeps, Wants
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

    def keeps(self, path: str, data: bytes) -> bytes | None:
        """What ``catalog`` needs of the bytes of a file it wanted, now read: ``data`` itself, a part it reads the
        same way (the binary catalogers' one ELF section, ``sbom.elf.condense``), or ``None``."""
        ...

    def catalog(self, view: FileView, distro: Distro | None) -> Catalog:
        """The packages in ``view``; ``distro`` qualifies OS package purls (``distro=debian-12``)."""
        ...


def wants_any(catalogers: Sequence[Cataloger]) -> Wants:
    """One ``Wants`` for the walker: a file is kept when any cataloger wants it."""

    checks = tuple(cataloger.wants for cataloger in catalogers)

    def wants(path: str, size: int, mode: int) -> bool:
        # A loop, not any() over a generator: this runs for every file of the image.
        for check in checks:  # noqa: SIM110
            if check(path, size, mode):
                return True
        return False

    return wants


def keeps_any(catalogers: Sequence[Cataloger]) -> Keeps:
    """One ``Keeps`` for the walker: what the catalogers that want a file keep of it; when two keep different
    parts of it (a binary with both Go's and cargo-auditable's section), all of it."""

    def keeps(path: str, mode: int, data: bytes) -> bytes | None:
        size = len(data)
        kept = None
        for cataloger in catalogers:
            if not cataloger.wants(path, size, mode):
                continue
            part = cataloger.keeps(path, data)
            if part is None or part is kept:
                continue
            if kept is not None and part != kept:
                return data
            kept = part
        return kept

    return keeps


# A hard link carries its target's size and bytes (imagefs.walk): a regular file to a cataloger.
_REGULAR = (EntryKind.FILE, EntryKind.HARDLINK)


def may_hold(path: str, fixed: str, *, depth: int = 2) -> bool:
    """Whether the tar path ``path`` may be where the database at ``fixed`` really lives: ``fixed`` itself, or any
    path ending in its last ``depth`` components, for when a parent of ``fixed`` is a symlink (``var/lib/dpkg ->
    ../../usr/lib/dpkg``, usr-merge's ``lib -> usr/lib``), which the walk, deciding from each header alone, cannot
    follow yet. Such a file is kept; the cataloger reads it only when ``located(view, fixed)`` leads to it."""
    tail = "/".join(fixed.split("/")[-depth:])
    return path == fixed or path.endswith(f"/{tail}")


def located(view: FileView, fixed: str, kinds: tuple[EntryKind, ...] = _REGULAR) -> FileEntry | None:
    """The entry of one of ``kinds`` (by default a regular file, or a hard link to one) at ``fixed``, with every
    symlink on the way followed inside the view (``FileView.resolve``); ``None`` when there is none."""
    entry = view.get(fixed)  # the usual case, found without walking the parents
    if entry is None or entry.kind is EntryKind.SYMLINK:
        entry = view.resolve(fixed)
    return entry if entry is not None and entry.kind in kinds else None


def over_cap(cataloger: str, entry: FileEntry, cap: int, *, limit: str = "", what: str = "not read") -> Problem:
    """The problem of a file a cataloger needs and the walk left unread, its size (from the tar header) over the
    cataloger's ``cap``: ``what`` was not done, ``limit`` the constant that sets the cap (``limits.MAX_...``)."""
    named = f" ({limit})" if limit else ""
    return Problem(cataloger, entry.path, f"{what}: {entry.size} bytes is over the {cap}-byte cap{named}")


def read_each(view: FileView, matches: Callable[[str], bool], read: Callable[[FileEntry], Read], *, cataloger: str,
              cap: int, reports: Callable[[str], bool] = lambda path: True) -> Catalog:
    """The one loop of the catalogers that read one metadata file per package (python, npm, ruby): every regular file
    (or hard link to one) of ``view`` whose path ``matches``, read by ``read`` into a package and what was wrong
    with it; a matching file over ``cap`` (the walker did not keep it) is a problem. ``reports(path)`` says
    whether a file's problems are reported (npm's: only for a package.json npm installed)."""
    packages: list[Package] = []
    problems: list[Problem] = []
    for entry in view.files():
        if entry.kind not in _REGULAR or not matches(entry.path):
            continue
        if entry.data is None:
            if entry.size > cap and reports(entry.path):
                problems.append(over_cap(cataloger, entry, cap))
            continue
        package, problem = read(entry)
        if problem is not None and reports(entry.path):
            problems.append(problem)
        if package is not None:
            packages.append(package)
    return Catalog(tuple(sorted(packages)), tuple(problems))


Read = tuple[Package | None, Problem | None]
"""What reading one metadata file gave: its package (if it names one) and what was wrong with it (if anything)."""


__all__ = ["Catalog", "Cataloger", "Read", "keeps_any", "located", "may_hold", "over_cap", "read_each", "wants_any"]
