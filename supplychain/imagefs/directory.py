"""A directory on disk as a ``FileView`` (``dir:PATH``, issue 12 item 1): the same index a layer walk gives, so the
catalogers read a root filesystem the same way.

``os.scandir`` without following symlinks: a symlink is an entry with its target as written (``FileView.resolve``
follows it inside the view, never out to the host), a directory reached through a symlink is never entered, and a
wanted file is read only if it is a regular file (``O_NOFOLLOW``: a file swapped for a link between the listing and
the read is refused by the kernel). The same caps as a layer walk: entries, per-file and total kept bytes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from supplychain.errors import InvalidInputError, NotFoundError, SizeLimitError
from supplychain.imagefs.view import EntryKind, FileEntry, FileView, Keeps, LayerRef, Wants
from supplychain.imagefs.walk import WalkLimits

# A directory has no layer: its entries are attributed to one pseudo-layer of zero digests.
DIRECTORY_LAYER = LayerRef(0, "sha256:" + "0" * 64, "sha256:" + "0" * 64)


def scan_directory(root: Path, wants: Wants, caps: WalkLimits | None = None, keeps: Keeps | None = None) -> FileView:
    """Every path under ``root`` (itself excluded), with the bytes of the regular files ``wants`` asks for."""
    caps = caps or WalkLimits()
    if not root.is_dir():
        hint = "dir:PATH names a directory (a root filesystem)"
        if root.exists():
            raise InvalidInputError(f"{root} is not a directory",
                                    hint=f"{hint}; scan an archive as docker-archive:PATH or oci-archive:PATH")
        raise NotFoundError(f"{root}: no such directory", hint=hint)
    entries: dict[str, FileEntry] = {}
    problems: list[str] = []
    held = 0
    history = (DIRECTORY_LAYER,)
    pending = [""]
    while pending:
        relative = pending.pop()
        try:
            listing = sorted(os.scandir(root / relative) if relative else os.scandir(root), key=lambda e: e.name)
        except OSError as exc:
            problems.append(f"{relative or '.'}: not listed: {exc.strerror or exc}")
            continue
        for item in listing:
            key = f"{relative}/{item.name}" if relative else item.name
            if len(entries) >= caps.max_entries:
                raise SizeLimitError(f"{root} holds more than {caps.max_entries} paths (limits.MAX_TAR_ENTRIES)",
                                     hint="scan a smaller directory")
            try:
                info = item.stat(follow_symlinks=False)
            except OSError as exc:
                problems.append(f"{key}: skipped: {exc.strerror or exc}")
                continue
            mode = stat.S_IMODE(info.st_mode)
            link = None
            data = None
            if stat.S_ISLNK(info.st_mode):
                kind = EntryKind.SYMLINK
                link = os.readlink(item.path)
            elif stat.S_ISDIR(info.st_mode):
                kind = EntryKind.DIRECTORY
                pending.append(key)
            elif stat.S_ISREG(info.st_mode):
                kind = EntryKind.FILE
                if wants(key, info.st_size, mode):
                    if info.st_size > caps.max_wanted_file_bytes:
                        problems.append(f"{key!r} is {info.st_size} bytes, over the {caps.max_wanted_file_bytes}-byte "
                                        "cap on a file read (limits.MAX_WANTED_FILE_BYTES): listed, not read")
                    elif held + info.st_size > caps.max_wanted_bytes:
                        problems.append(f"{key!r} not read: the files kept already hold {held} bytes "
                                        "(limits.MAX_WANTED_BYTES)")
                    else:
                        data = _read(item.path, caps.max_wanted_file_bytes, key, problems)
                        if data is not None and keeps is not None:
                            data = keeps(key, mode, data)
                        held += len(data) if data is not None else 0
            else:
                kind = EntryKind.OTHER
            size = info.st_size if kind is EntryKind.FILE else 0
            entries[key] = FileEntry(key, kind, size if data is None else len(data), mode, DIRECTORY_LAYER, history,
                                     link, data)
    return FileView(entries, history, tuple(problems[: caps.max_problems]))


def _read(path: str, cap: int, key: str, problems: list[str]) -> bytes | None:
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        problems.append(f"{key}: not read: {exc.strerror or exc}")
        return None
    with os.fdopen(descriptor, "rb") as handle:
        data = handle.read(cap + 1)
    if len(data) > cap:
        problems.append(f"{key!r} grew past the {cap}-byte cap while it was read: not read")
        return None
    return data


__all__ = ["DIRECTORY_LAYER", "scan_directory"]
