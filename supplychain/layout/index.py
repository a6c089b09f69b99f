"""``index.json``, the layout's image index (image-layout.md "index.json file"): read strictly and validated, kept
as a parsed view that is read again only when the file changed, and changed in transactions.

- A view is one version of the file, parsed and validated once, with the lookups every question needs (by tag,
  by digest, and the subject -> referrers index the store builds on first use); an entry equal to one of the
  previous view is not parsed again, so a command asking many questions of a large layout parses it once.
- A transaction locks the layout (``directory.LayoutDirectory.lock``), reads the file again (so no other writer's
  entry is lost), lets the caller change a private copy and replaces the file (temp + rename) if it changed;
  readers need no lock because the rename is atomic.
- ``deferred``: the changes of a block are kept in memory (reads see them) and replayed on the file once at its
  end, under the lock (issue 7, item 5: one rewrite per referrer copied made a copy quadratic).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator
from typing import Any

from supplychain.digest import Digest
from supplychain.errors import InvalidManifestError
from supplychain.files import read_capped
from supplychain.formats.strictjson import JsonFormatError, loads_untrusted
from supplychain.layout.directory import INDEX_FILE, FileKey, LayoutDirectory, file_key
from supplychain.layout.entry import REF_NAME
from supplychain.layout.errors import CorruptLayoutError
from supplychain.oci.model import Descriptor, encode_json

# index.json is local and may list many untagged referrers, so it gets a larger cap than a manifest.
MAX_INDEX_JSON_BYTES = 64 * 1024 * 1024

Change = Callable[[dict[str, Any]], None]


@dataclasses.dataclass(slots=True)
class IndexView:
    """One version of ``index.json``, parsed and validated once, with the lookups every question needs."""

    key: FileKey | None  # the file it was read from (or written to); None: not on disk (yet)
    raw: bytes
    doc: dict[str, Any]  # as read; never changed (a transaction changes a copy)
    entries: tuple[Descriptor, ...]
    by_tag: dict[str, Descriptor] = dataclasses.field(init=False)  # the first entry of each tag
    by_digest: dict[Digest, Descriptor] = dataclasses.field(init=False)  # the first entry of each digest
    referrers: dict[Digest, list[Descriptor]] | None = None  # subject -> referrers, built on first use

    def private_copy(self) -> dict[str, Any]:
        """The document as a copy to change, parsed again from ``raw`` (the bytes it was parsed from and
        validated, read from a file so never empty): faster than ``copy.deepcopy``, and strictly, as every read
        of the layout's files (``formats.strictjson``), so the copy can never say what the view did not."""
        try:
            doc = loads_untrusted(self.raw)
        except JsonFormatError as exc:
            raise CorruptLayoutError(f"{INDEX_FILE} is not valid JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise CorruptLayoutError(f"{INDEX_FILE} is not an image index (no manifests list)")
        return doc

    def __post_init__(self) -> None:
        self.by_tag = {}
        self.by_digest = {}
        for desc in self.entries:
            name = desc.annotations.get(REF_NAME)
            if name is not None:
                self.by_tag.setdefault(name, desc)
            self.by_digest.setdefault(desc.digest, desc)


class LayoutIndex:
    """The ``index.json`` of one layout directory, as last read or written, and the changes made to it."""

    def __init__(self, directory: LayoutDirectory) -> None:
        self._directory = directory
        self._view: IndexView | None = None  # index.json as last read or written
        # ``deferred``: the changes made in the block (replayed on the file at its end), the document they
        # give, its view (built when asked for), and the last such view (whose parsed entries the next reuses).
        self._deferred: list[Change] | None = None
        self._deferred_doc: dict[str, Any] | None = None
        self._deferred_view: IndexView | None = None
        self._reuse_view: IndexView | None = None

    def _read(self) -> tuple[bytes, FileKey]:
        """The bytes of ``index.json`` and the identity of the file they came from (``fstat`` of the same open
        file, so the two always match, whoever renames a new index into place meanwhile)."""
        where = f"{self._directory.name}/{INDEX_FILE}"
        try:
            with self._directory.io("read index.json"), open(self._directory.path / INDEX_FILE, "rb") as handle:
                key = file_key(os.fstat(handle.fileno()))
                raw = read_capped(handle, MAX_INDEX_JSON_BYTES, what=where)
        except FileNotFoundError as exc:
            raise CorruptLayoutError(f"{where} is missing") from exc
        return raw, key

    def _load(self, raw: bytes) -> dict[str, Any]:
        """Parse and validate ``index.json`` (image-layout.md "index.json file": an image index)."""
        where = f"{self._directory.name}/{INDEX_FILE}"
        try:
            doc = loads_untrusted(raw)  # strict: duplicate keys, numbers past int64/uint64, deep nesting refused
        except JsonFormatError as exc:
            raise CorruptLayoutError(f"{where} is not valid JSON: {exc}") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("manifests"), list):
            raise CorruptLayoutError(f"{where} is not an image index (no manifests list)")
        if "config" in doc or "layers" in doc:  # an index and a manifest at once (GHSA-qq97-vm5h-rrhg)
            raise CorruptLayoutError(f"{where} is an image index but has image manifest fields (config, layers)")
        if doc.get("schemaVersion") != 2:
            raise CorruptLayoutError(f"{where} has schemaVersion {doc.get('schemaVersion')!r}, not 2")
        return doc

    def view(self) -> IndexView:
        """``index.json`` as last read: read again only when the file changed (another identity: writers
        rename a new file into place). Inside ``deferred``, the index as this block has changed it."""
        if self._deferred_doc is not None:
            if self._deferred_view is None:
                self._deferred_view = self.build_view(self._deferred_doc, b"", None)
            return self._deferred_view
        view = self._view
        if view is not None:
            try:
                key: FileKey | None = file_key(os.stat(self._directory.path / INDEX_FILE))
            except OSError:
                key = None  # read it, and let that say what is wrong
            if key == view.key:
                return view
        raw, key = self._read()
        return self._remember(raw, key)

    def _remember(self, raw: bytes, key: FileKey) -> IndexView:
        view = self._view
        if view is None or raw != view.raw:
            view = self.build_view(self._load(raw), raw, key)
        view.key = key
        self._view = view
        return view

    def build_view(self, doc: dict[str, Any], raw: bytes, key: FileKey | None) -> IndexView:
        """Validate the entries of ``doc``; an entry equal to one of the current view is not parsed again."""
        known: dict[str, list[tuple[Any, Descriptor]]] = {}
        for previous in (self._view, self._reuse_view):
            if previous is not None:
                for entry, desc in zip(previous.doc["manifests"], previous.entries, strict=True):
                    known.setdefault(entry["digest"], []).append((entry, desc))
        entries = []
        try:
            for i, entry in enumerate(doc["manifests"]):
                digest = entry.get("digest") if isinstance(entry, dict) else None
                same = known.get(digest, []) if isinstance(digest, str) else []
                reused = next((d for e, d in same if e == entry), None)
                entries.append(reused or Descriptor.from_json(entry, where=f"{INDEX_FILE} entry {i}"))
        except InvalidManifestError as exc:
            raise CorruptLayoutError(f"{self._directory.name}: {exc.message}") from exc
        # The view keeps its own list of the entry objects (entries are replaced, never changed in place, so this
        # shallow copy is a snapshot): ``deferred`` goes on changing the document's list.
        return IndexView(key, raw, {**doc, "manifests": list(doc["manifests"])}, tuple(entries))

    def entries(self, doc: dict[str, Any] | None = None) -> list[Descriptor]:
        """The validated descriptors of ``index.json`` (of ``doc`` if given), as of its last change."""
        return list(self.view().entries if doc is None else self.build_view(doc, b"", None).entries)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Within the block, changes are kept in memory (reads see them) and written once at its end, under the
        lock, replayed on the file as it is then (so another writer's entries meanwhile are kept). When the
        block raises, nothing of it is written. The lock is not held in between. Nested blocks join the outer
        one."""
        if self._deferred is not None:
            yield
            return
        self._deferred = []
        try:
            yield
            changes = self._deferred
            self._end_deferral()
            if changes:
                with self._transaction() as doc:
                    for change in changes:
                        change(doc)
        finally:
            self._end_deferral()

    def _end_deferral(self) -> None:
        self._deferred = None
        self._deferred_doc = self._deferred_view = self._reuse_view = None

    def change(self, change: Change) -> None:
        """Apply ``change`` to ``index.json``: now, in one transaction; inside ``deferred``, in memory."""
        if self._deferred is None:
            with self._transaction() as doc:
                change(doc)
            return
        if self._deferred_doc is None:
            self._deferred_doc = self.view().private_copy()
        change(self._deferred_doc)  # raises before it is recorded
        self._deferred.append(change)
        if self._deferred_view is not None:  # its parsed entries serve the next view (not parsed again)
            self._reuse_view, self._deferred_view = self._deferred_view, None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[dict[str, Any]]:
        """Lock, load ``index.json`` and yield it; rewrite it (temp + rename) if the caller changed it.

        Under the lock the file is always read again (bytes compared with the last read, not just its identity),
        so no other writer's entry is lost; only an unchanged file skips parsing. Entries are kept as the raw JSON
        objects another tool wrote, so fields we do not model survive.
        """
        directory = self._directory
        with directory.lock():
            directory.sweep_stale_temp_files()
            raw, key = self._read()
            before = self._remember(raw, key)
            doc = before.private_copy()
            yield doc
            if doc != before.doc:
                encoded = encode_json(doc)
                after = self.build_view(doc, encoded, None)  # never write an index we could not read back
                directory.write_atomic(directory.path / INDEX_FILE, [encoded])
                with directory.io("read index.json"):
                    after.key = file_key(os.stat(directory.path / INDEX_FILE))  # ours: we hold the lock
                self._view = after
