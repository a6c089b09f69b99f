"""The filesystem an image's layers leave, as an index (issue 12, item 2).

A ``FileView`` maps each normalised path (POSIX, relative to the image root, no leading ``/``, no ``.`` or ``..``
parts: ``usr/lib/os-release``) to a ``FileEntry``: what is there (file, directory, symlink, hard link), its size
and mode, the layer that last wrote it and every layer that wrote it, oldest first. Only files a reader asked for
(``Wants``, decided from the tar header alone: path, size, mode) keep their bytes; everything else is metadata.

Layers are named by ``LayerRef``: their position (0 is the base layer), the digest of the blob as stored and the
digest of its uncompressed tar (the config's ``rootfs.diff_ids[i]``, the ``layerID`` syft and tern report).
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum

# Linux's MAXSYMLINKS (fs/namei.c): the links followed in one path lookup before ELOOP.
MAX_SYMLINK_HOPS = 40

Wants = Callable[[str, int, int], bool]
"""``wants(path, size, mode)``: whether a reader needs the bytes of the regular file at ``path`` (normalised),
decided from its tar header before any of its content is read."""

Keeps = Callable[[str, int, bytes], "bytes | None"]
"""``keeps(path, mode, data)``: a second look at a wanted file, once its bytes are read: what of them to keep, all
(``data`` itself), a part its reader reads the same way, or nothing (``None``). A binary cataloger wants every
executable (a tar header cannot tell a Go binary from a shell script) but keeps only the section it reads of those
that have it (``sbom.elf.condense``: a few KB of a 100 MB Go binary), so a scan holds one executable at a time."""


class EntryKind(Enum):
    """What a path is, as its tar header says (POSIX ustar ``typeflag``)."""

    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    OTHER = "other"  # devices, FIFOs: listed, never read


@dataclass(frozen=True, slots=True)
class LayerRef:
    """One layer of an image: its position from the base (0), its blob digest, and its uncompressed digest."""

    index: int
    digest: str
    diff_id: str


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A path in the view: what it is, and which layers wrote it (``history`` oldest first; ``layer`` the last)."""

    path: str
    kind: EntryKind
    size: int
    mode: int
    layer: LayerRef
    history: tuple[LayerRef, ...]
    link: str | None = None  # a symlink's target as written, or a hard link's (normalised) target path
    data: bytes | None = None  # the content, only for a regular file a reader wanted


def normalise(path: str) -> str | None:
    """``path`` as a view key (``./usr//lib/`` -> ``usr/lib``), or ``None`` when it leaves the root (``..`` past
    the top). An absolute path is taken relative to the root, as a container runtime extracts it."""
    # Most tar names are normal already but for a leading "./" or a directory's trailing "/": answer those without
    # splitting (the walk normalises every header's name).
    fast = path[2:] if path.startswith("./") else path
    if fast.endswith("/"):
        fast = fast[:-1]
    if not fast.startswith(("/", ".")) and "//" not in fast and "/." not in fast and not fast.endswith("/"):
        return fast
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


@dataclass(frozen=True)
class FileView:
    """An immutable index of paths to entries (see the module docstring); ``layers`` oldest first."""

    entries: Mapping[str, FileEntry]
    layers: tuple[LayerRef, ...]
    problems: tuple[str, ...] = field(default=())  # what was skipped and why (a hostile entry, a cap reached)

    def get(self, path: str) -> FileEntry | None:
        """The entry at ``path`` itself (a symlink is not followed)."""
        key = normalise(path)
        return None if key is None else self.entries.get(key)

    @functools.cached_property
    def _paths(self) -> tuple[str, ...]:
        # Sorted once: every cataloger walks the view in path order (cached_property writes the instance __dict__,
        # which a frozen dataclass without slots allows).
        return tuple(sorted(self.entries))

    def files(self) -> Iterator[FileEntry]:
        """Every entry, sorted by path."""
        entries = self.entries
        for key in self._paths:
            yield entries[key]

    def wanted(self) -> Iterator[FileEntry]:
        """The regular files whose bytes were kept, sorted by path."""
        for entry in self.files():
            if entry.data is not None:
                yield entry

    def under(self, directory: str) -> Iterator[FileEntry]:
        """The entries below ``directory`` (not itself), sorted by path."""
        key = normalise(directory)
        if key is None:
            return
        prefix = f"{key}/" if key else ""
        for path in self._paths:
            if path.startswith(prefix) and path != key:
                yield self.entries[path]

    def resolve(self, path: str, *, max_hops: int = MAX_SYMLINK_HOPS) -> FileEntry | None:
        """The entry ``path`` names once every symlink on the way is followed inside the root (an absolute target
        from the root, a relative one from its directory), or ``None``: a missing path, a link that climbs above the
        root (``..`` past the top: never clamped, an escape is an answer of its own), more than ``max_hops`` links
        (a loop), or a path through something that is not a directory. A hard link is returned as itself (it
        carries its target's size and bytes)."""
        key = normalise(path)
        if key is None:
            return None
        pending = key.split("/")[::-1] if key else []  # components still to walk, next last
        resolved: list[str] = []
        hops = 0
        entry: FileEntry | None = None
        while pending:
            part = pending.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if not resolved:
                    return None
                resolved.pop()
                entry = None
                continue
            if entry is not None and entry.kind is not EntryKind.DIRECTORY:
                return None  # "a/b" where "a" is a file
            resolved.append(part)
            entry = self.entries.get("/".join(resolved))
            if entry is None:
                return None
            if entry.kind is EntryKind.SYMLINK:
                hops += 1
                if hops > max_hops:
                    return None
                target = entry.link or ""
                resolved.pop()
                if target.startswith("/"):
                    resolved = []
                pending.extend(target.split("/")[::-1])
                entry = self.entries.get("/".join(resolved)) if resolved else None
        return self.entries.get("/".join(resolved)) if resolved else None

    @classmethod
    def from_files(cls, files: Mapping[str, bytes], *, layer: LayerRef | None = None) -> FileView:
        """A view of regular files with their bytes, all from one layer: for ``dir:``-like inputs and tests."""
        ref = layer or LayerRef(0, "sha256:" + "0" * 64, "sha256:" + "0" * 64)
        entries: dict[str, FileEntry] = {}
        for path, data in files.items():
            key = normalise(path)
            if not key:
                raise ValueError(f"{path!r} is not a path inside the root")
            entries[key] = FileEntry(key, EntryKind.FILE, len(data), 0o644, ref, (ref,), data=data)
            parent = posixpath.dirname(key)
            while parent and parent not in entries:
                entries[parent] = FileEntry(parent, EntryKind.DIRECTORY, 0, 0o755, ref, (ref,))
                parent = posixpath.dirname(parent)
        return cls(entries, (ref,))


__all__ = ["MAX_SYMLINK_HOPS", "EntryKind", "FileEntry", "FileView", "Keeps", "LayerRef", "Wants", "normalise"]
