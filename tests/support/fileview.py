"""A ``FileView`` of a real directory, for the catalogers' tests: every file, directory and symlink under it, the
bytes of the files a ``Wants`` keeps (as the layer walker will), symlinks kept as links (never followed on the
host). The layer walker builds views from images; this builds the same shape from a directory tree."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from supplychain.imagefs.view import EntryKind, FileEntry, FileView, LayerRef, Wants
from supplychain.sbom import distro
from supplychain.sbom.catalog import Catalog, Cataloger, wants_any
from supplychain.sbom.package import Distro

LAYER = LayerRef(0, "sha256:" + "1" * 64, "sha256:" + "2" * 64)


def view_of_directory(root: Path, wants: Wants, *, layer: LayerRef = LAYER) -> FileView:
    entries: dict[str, FileEntry] = {}
    for directory, names, files in os.walk(root):
        for name in [*names, *files]:
            path = Path(directory, name)
            key = path.relative_to(root).as_posix()
            info = path.lstat()
            if path.is_symlink():
                entries[key] = FileEntry(key, EntryKind.SYMLINK, 0, 0o777, layer, (layer,), link=os.readlink(path))
            elif path.is_dir():
                entries[key] = FileEntry(key, EntryKind.DIRECTORY, 0, info.st_mode & 0o7777, layer, (layer,))
            else:
                mode = info.st_mode & 0o7777
                data = path.read_bytes() if wants(key, info.st_size, mode) else None
                entries[key] = FileEntry(key, EntryKind.FILE, info.st_size, mode, layer, (layer,), data=data)
    return FileView(entries, (layer,))


def scan_directory(root: Path, catalogers: tuple[Cataloger, ...]) -> tuple[Distro | None, list[Catalog]]:
    """``root`` cataloged as an image would be: the view keeps what the catalogers (and os-release) want."""
    keep = wants_any(catalogers)
    view = view_of_directory(root, lambda path, size, mode: keep(path, size, mode) or distro.wants(path, size, mode))
    found = distro.read_distro(view)
    return found, [cataloger.catalog(view, found) for cataloger in catalogers]


def refusal(read: Callable[[bytes], object], data: bytes) -> str:
    """The message of the ``ValueError`` ``read(data)`` raises (a test failure when it accepts the data)."""
    try:
        read(data)
    except ValueError as exc:
        return str(exc)
    raise AssertionError(f"accepted {data[:40]!r}")
