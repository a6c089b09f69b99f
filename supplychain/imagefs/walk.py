"""Walk an image's layers once each into a ``FileView`` (issue 12, item 2): never unpacked, memory bounded.

Each layer streams once: the blob's digest is checked as it arrives (``digest.verify_stream``; a store's own
checked stream is not hashed twice), its compression is the one its media type names and its first bytes show
(``compression``), it is inflated in bounded pieces under the decompression-bomb caps, the uncompressed tar is
checked against the config's ``rootfs.diff_ids[i]`` (``verify_stream`` again: a mismatch is raised before the
stream ends, so no view of wrong bytes is ever returned) and its headers are walked (``tar``). Only the files a
reader ``wants`` keep their bytes, each capped and all of them capped together.

Layers apply as the OCI image spec's changesets (layer.md, "Representing Changes" and "Whiteouts"):

- a whiteout ``DIR/.wh.NAME`` deletes ``DIR/NAME`` and everything below it from the *lower* layers; an opaque
  marker ``DIR/.wh..wh..opq`` deletes everything below ``DIR`` from the lower layers (``DIR`` stays). Neither hides
  what its own layer writes, whatever the order in the tar; the markers themselves are not paths of the view;
- an entry replaces the one a lower layer wrote at its path; a non-directory over a directory removes what was below
  it (as runtimes extract it); a path whose parents no entry names gets them as directories of its layer;
- ``history`` lists every layer that wrote a path since it last appeared (a deletion starts it again), oldest
  first; ``layer`` is the last.

Hostile tars are answered entry by entry where the rest can still be read, each with a line in
``FileView.problems``: a path that leaves the root (``../x``; an absolute path is taken relative to the root, as
runtimes do), a whiteout of ``..``, a hard link to a path that does not exist (or leaves the root), an entry a layer
writes twice (the later counts, as tar extraction does), a wanted file over ``limits.MAX_WANTED_FILE_BYTES`` or past
``limits.MAX_WANTED_BYTES`` of kept bytes (listed without its bytes). What cannot be read on is refused with an error
(exit code in parentheses): a layer whose bytes are not its declared compression, a corrupt or truncated stream, a
tar header with a bad checksum (``LayerFormatError``, 3); a wrong blob or uncompressed digest
(``DigestMismatchError``, 7); a decompression bomb (``limits.MAX_UNCOMPRESSED_BYTES`` over the image,
``limits.MAX_COMPRESSION_RATIO`` per layer) or more than ``limits.MAX_TAR_ENTRIES`` entries (``SizeLimitError``, 7).
Symlinks are kept as written; ``FileView.resolve`` follows them inside the root with a hop cap.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import Enum

from supplychain import limits
from supplychain.digest import Digest, verify_stream
from supplychain.errors import InvalidInputError, SizeLimitError
from supplychain.imagefs.compression import (
    Compression,
    Inflation,
    LayerFormatError,
    declared_compression,
    inflate,
    sniff,
)
from supplychain.imagefs.tar import TarWalker
from supplychain.imagefs.view import EntryKind, FileEntry, FileView, Keeps, LayerRef, Wants, normalise
from supplychain.parallel import produced_ahead

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
_FEW_MARKERS = 64  # up to this many whiteouts and opaque markers in a layer, they are tested as path prefixes


class Scope(Enum):
    """What a scan reads: the squashed filesystem a container sees (syft's and trivy's default), or that and every
    layer's own view (``--scope all-layers``: per-layer attribution, packages deleted later)."""

    SQUASHED = "squashed"
    ALL_LAYERS = "all-layers"


@dataclass(frozen=True, slots=True)
class LayerSource:
    """One layer as an image source hands it over: what its descriptor says, its config's ``diff_id``, and how to
    open its blob (a store's ``open_blob``, an archive member, a file)."""

    media_type: str | None  # None: no descriptor (a ``docker save`` archive): the magic bytes decide
    digest: Digest  # of the blob as stored
    size: int | None  # the descriptor's, checked as it streams; None: not declared
    diff_id: Digest  # the config's rootfs.diff_ids[i]: the digest of the uncompressed tar
    open: Callable[[], AbstractContextManager[Iterable[bytes]]]


@dataclass(frozen=True, slots=True)
class WalkLimits:
    """The caps of one walk (``limits`` for the defaults, README's Limits table)."""

    max_uncompressed_bytes: int = limits.MAX_UNCOMPRESSED_BYTES
    max_compression_ratio: int = limits.MAX_COMPRESSION_RATIO
    compression_ratio_floor: int = limits.COMPRESSION_RATIO_FLOOR
    max_entries: int = limits.MAX_TAR_ENTRIES
    max_tar_header_bytes: int = limits.MAX_TAR_HEADER_BYTES
    max_wanted_file_bytes: int = limits.MAX_WANTED_FILE_BYTES
    max_wanted_bytes: int = limits.MAX_WANTED_BYTES
    max_problems: int = limits.MAX_PROBLEMS


@dataclass(frozen=True, slots=True)
class ImageFiles:
    """A walk's result: the squashed view (every problem met is in its ``problems``) and, with
    ``Scope.ALL_LAYERS``, each layer's own view (the entries that layer wrote, with their history up to it)."""

    squashed: FileView
    layers: tuple[FileView, ...] = field(default=())


# An entry while the walk runs: kind, size, mode, link, data; then the layer index and the history of indices.
_Own = tuple[EntryKind, int, int, str | None, bytes | None]
_Rec = tuple[EntryKind, int, int, str | None, bytes | None, int, tuple[int, ...]]


def _no_progress(ref: LayerRef, done: int) -> None:
    return None


def walk_layers(
    layers: Sequence[LayerSource],
    wants: Wants,
    *,
    scope: Scope = Scope.SQUASHED,
    caps: WalkLimits | None = None,
    progress: Callable[[LayerRef, int], None] = _no_progress,
    keeps: Keeps | None = None,
) -> ImageFiles:
    """Stream every layer once, base first, into the view ``scope`` asks for (module docstring).

    ``progress(layer, compressed_bytes)`` is called once per layer when it has been walked; ``keeps`` (when
    given) decides, from a wanted file's bytes, whether they are kept."""
    walk = _Walk(layers, wants, scope, caps or WalkLimits(), keeps)
    for index, layer in enumerate(layers):
        walk.layer(index, layer)
        progress(walk.refs[index], walk.compressed[index])
    return walk.result()


class _Walk:
    """The state of one walk: the squashed records, the kept bytes, the problems."""

    def __init__(self, layers: Sequence[LayerSource], wants: Wants, scope: Scope, caps: WalkLimits,
                 keeps: Keeps | None = None) -> None:
        self.sources = layers
        self.refs = tuple(LayerRef(i, str(layer.digest), str(layer.diff_id)) for i, layer in enumerate(layers))
        self.wants = wants
        self.keeps = keeps
        self.scope = scope
        self.caps = caps
        self.squashed: dict[str, _Rec] = {}
        self.own_views: list[FileView] = []
        self.problems: list[str] = []
        self.more_problems = 0
        self.entries = 0
        self.unpacked = 0
        self.held = 0
        self.compressed: list[int] = []
        self._histories: dict[tuple[int, ...], tuple[LayerRef, ...]] = {}

    def problem(self, text: str) -> None:
        if len(self.problems) < self.caps.max_problems:
            self.problems.append(text)
        else:
            self.more_problems += 1

    # -- one layer ---------------------------------------------------------------------------------------------

    def layer(self, index: int, source: LayerSource) -> None:
        what = f"layer {index} ({source.digest.short})"
        inflation = Inflation(what=what, budget=self.caps.max_uncompressed_bytes - self.unpacked,
                              max_ratio=self.caps.max_compression_ratio,
                              ratio_floor=self.caps.compression_ratio_floor)
        with source.open() as chunks:
            blob = verify_stream(chunks, source.digest, size=source.size, what=what)
            head, rest = _peek(blob, 4)
            found = sniff(head)
            declared = found if source.media_type is None else declared_compression(source.media_type, what=what)
            if declared is not found:
                raise LayerFormatError(
                    f"{what} is declared {declared.value} ({source.media_type}) but its bytes are {found.value}",
                    hint="the manifest and the blob disagree: the image was written by a broken or hostile tool")
            # Three stages, each on a thread of its own: reading and hashing the blob; inflating it; hashing the
            # tar and walking its headers (this thread). Hashing and inflating are C code that releases the GIL,
            # so on two cores the walk costs little more than the inflating alone; with the tar's hash on the
            # inflating thread instead, that thread did 0.1 s more on the realistic image (bench/sbom.py) and the
            # walk waited for it.
            with contextlib.closing(produced_ahead(rest)) as blob_ahead:
                try:
                    with contextlib.closing(produced_ahead(
                            inflate(itertools.chain([head], blob_ahead), found, inflation))) as inflated:
                        tar = verify_stream(inflated, source.diff_id,
                                            what=f"{what}'s uncompressed tar (the config's rootfs.diff_ids[{index}])")
                        own, whiteouts, opaque = self._read(index, what, TarWalker(
                            tar, what=what, max_header_bytes=self.caps.max_tar_header_bytes))
                        for _ in tar:  # the walker stops at the end-of-archive blocks; the digests need every byte
                            pass
                except InvalidInputError:
                    # Bytes that do not inflate or are no tar: if they are not the blob the manifest names either,
                    # that is the error to report (exit 7: the data was changed, not merely malformed). Reading on
                    # costs what is left of one blob, and only on the way to an error. (The inflating thread has
                    # stopped: leaving the block above closed it.)
                    for _ in blob_ahead:
                        pass
                    raise
                for _ in blob_ahead:
                    pass
        if found is Compression.NONE and source.media_type is None and inflation.produced == 0:
            raise LayerFormatError(f"{what} is empty: not a tar")
        self.unpacked += inflation.produced
        self.compressed.append(inflation.compressed)
        self._apply(index, own, whiteouts, opaque)

    def _read(self, index: int, what: str, walker: TarWalker) -> tuple[dict[str, _Own], set[str], set[str]]:
        own: dict[str, _Own] = {}
        whiteouts: set[str] = set()
        opaque: set[str] = set()
        caps = self.caps
        wants = self.wants
        for header in walker:
            self.entries += 1
            if self.entries > caps.max_entries:
                raise SizeLimitError(
                    f"the image's layers hold more than {caps.max_entries} tar entries (limits.MAX_TAR_ENTRIES); "
                    f"{what} went past it",
                    hint="no real image has that many paths: it is malformed or hostile (README, Limits)")
            key = normalise(header.name)
            if key is None:
                self.problem(f"{what}: skipped {header.name!r}: the path leaves the image root")
                continue
            if not key:
                continue  # the root itself ("./")
            parent, _, base = key.rpartition("/")
            if base.startswith(WHITEOUT_PREFIX):
                if base == OPAQUE_MARKER:
                    opaque.add(parent)
                else:
                    name = base[len(WHITEOUT_PREFIX):]
                    if name in ("", ".", ".."):
                        self.problem(f"{what}: ignored the whiteout {header.name!r}: it names no file")
                    else:
                        whiteouts.add(f"{parent}/{name}" if parent else name)
                continue
            if key in own:
                self.problem(f"{what}: {key!r} is written twice in the layer; the later entry counts")
                self._drop(own[key][4])
            kind, size, mode = header.kind, header.size, header.mode
            link: str | None = None
            data: bytes | None = None
            if kind is EntryKind.FILE:
                if wants(key, size, mode):
                    data = self._keep(walker, what, key, size, mode)
            elif kind is EntryKind.SYMLINK:
                link = header.link
            elif kind is EntryKind.HARDLINK:
                target = normalise(header.link)
                found = None if not target else (own.get(target) or self._visible(target, whiteouts, opaque))
                if found is None or target is None:
                    self.problem(f"{what}: skipped the hard link {key!r}: its target {header.link!r} "
                                 + ("leaves the image root" if target is None else "does not exist"))
                    continue
                if found[0] is not EntryKind.FILE:
                    self.problem(f"{what}: skipped the hard link {key!r}: its target {target!r} is a "
                                 f"{found[0].value}, not a regular file")
                    continue
                link, size = target, found[1]
                if wants(key, size, mode):
                    data = found[4]  # the same bytes object: a hard link costs no memory
                    if data is None and size and not wants(target, size, found[2]):
                        # A tar holds a hard link's bytes once, at its target, which streamed past unread: a path
                        # no cataloger asked for. Said, so that a package missing is explained. (A target that was
                        # wanted was read: its bytes were dropped by ``keeps``, or over a cap, said for it.)
                        self.problem(f"{what}: {key!r} is a hard link to {target!r}, whose contents were not kept "
                                     "when it was walked: listed, not read")
            own[key] = (kind, size, mode, link, data)
        return own, whiteouts, opaque

    def _visible(self, path: str, whiteouts: set[str], opaque: set[str]) -> _Own | None:
        """What a lower layer left at ``path``, unless this layer's markers hide it."""
        rec = self.squashed.get(path)
        if rec is None or _hidden(path, whiteouts, opaque):
            return None
        return rec[:5]

    def _keep(self, walker: TarWalker, what: str, key: str, size: int, mode: int) -> bytes | None:
        if size > self.caps.max_wanted_file_bytes:
            self.problem(f"{what}: {key!r} is {size} bytes, over the {self.caps.max_wanted_file_bytes}-byte cap on "
                         "a file read (limits.MAX_WANTED_FILE_BYTES): listed, not read")
            return None
        if self.held + size > self.caps.max_wanted_bytes:
            self.problem(f"{what}: {key!r} not read: the files kept already hold {self.held} bytes, and the cap is "
                         f"{self.caps.max_wanted_bytes} (limits.MAX_WANTED_BYTES)")
            return None
        data: bytes | None = walker.read()
        if self.keeps is not None and data is not None:
            data = self.keeps(key, mode, data)
        if data is None:
            return None
        self.held += len(data)
        return data

    def _drop(self, data: bytes | None) -> None:
        """Bytes no view will hold any more (in ``all-layers`` scope a layer's own view keeps them)."""
        if data is not None and self.scope is Scope.SQUASHED:
            self.held -= len(data)

    # -- a layer's changes applied -----------------------------------------------------------------------------

    def _apply(self, index: int, own: dict[str, _Own], whiteouts: set[str], opaque: set[str]) -> None:
        squashed = self.squashed
        # A non-directory written over a lower directory: what was below it is gone, as if opaque.
        for path, rec in own.items():
            lower = squashed.get(path)
            if lower is not None and lower[0] is EntryKind.DIRECTORY and rec[0] is not EntryKind.DIRECTORY:
                opaque.add(path)
        if "" in opaque:
            gone = list(squashed)
        elif len(whiteouts) + len(opaque) <= _FEW_MARKERS:
            # Each marker hides its path's subtree: one C-level prefix test per path instead of a walk up its parents.
            below = tuple(f"{path}/" for path in itertools.chain(whiteouts, opaque))
            gone = [path for path in squashed if path in whiteouts or path.startswith(below)] if below else []
        else:
            gone = [path for path in squashed if _hidden(path, whiteouts, opaque)]
        if gone:
            for path in gone:
                self._drop(squashed.pop(path)[4])
        implicit: dict[str, _Own] = {}
        for path in own:
            parent = path.rpartition("/")[0]
            while parent and parent not in own and parent not in implicit and parent not in squashed:
                implicit[parent] = (EntryKind.DIRECTORY, 0, 0o755, None, None)
                parent = parent.rpartition("/")[0]
        own.update(implicit)
        for path, (kind, size, mode, link, data) in own.items():
            lower = squashed.get(path)
            if lower is not None:
                self._drop(lower[4])
                history = (*lower[6], index)
            else:
                history = (index,)
            squashed[path] = (kind, size, mode, link, data, index, history)
        if self.scope is Scope.ALL_LAYERS:
            entries = {path: self._entry(path, squashed[path]) for path in own}
            self.own_views.append(FileView(entries, self.refs[: index + 1]))

    # -- the result --------------------------------------------------------------------------------------------

    def _entry(self, path: str, rec: _Rec) -> FileEntry:
        kind, size, mode, link, data, index, history = rec
        refs = self._histories.get(history)
        if refs is None:
            refs = self._histories[history] = tuple(self.refs[i] for i in history)
        return FileEntry(path, kind, size, mode, self.refs[index], refs, link, data)

    def result(self) -> ImageFiles:
        problems = list(self.problems)
        if self.more_problems:
            problems.append(f"... and {self.more_problems} more problems (limits.MAX_PROBLEMS)")
        entries = {path: self._entry(path, rec) for path, rec in self.squashed.items()}
        squashed = FileView(entries, self.refs, tuple(problems))
        return ImageFiles(squashed, tuple(self.own_views))


def _hidden(path: str, whiteouts: set[str], opaque: set[str]) -> bool:
    """Whether a lower layer's ``path`` is deleted by a whiteout of it or of a parent, or an opaque parent."""
    if path in whiteouts:
        return True
    while True:
        cut = path.rfind("/")
        if cut < 0:
            return "" in opaque
        path = path[:cut]
        if path in whiteouts or path in opaque:
            return True


def _peek(chunks: Iterator[bytes], count: int) -> tuple[bytes, Iterator[bytes]]:
    """The first ``count`` bytes (fewer at the end of the stream) and an iterator over the rest."""
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= count:
            break
    return head, chunks


__all__ = ["OPAQUE_MARKER", "WHITEOUT_PREFIX", "ImageFiles", "LayerSource", "Scope", "WalkLimits", "walk_layers"]
