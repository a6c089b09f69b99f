"""Taking blobs back, each under the layout lock: ``gc`` (every blob ``index.json`` does not reach), the blobs a
``clean`` left (``oci.store.ReclaimsBlobs``), and what a failed operation of one store instance wrote
(``discard_orphans``, ``abort``), never a blob another writer put there.

Reachability follows index children, configs and layers from the ``index.json`` entries (not subjects: a
referrer is an entry of its own).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from supplychain.digest import Digest
from supplychain.errors import IntegrityError, InvalidManifestError
from supplychain.layout.directory import BLOBS_DIR, INDEX_FILE, LAYOUT_FILE, LayoutDirectory, blob_digest
from supplychain.layout.index import LayoutIndex
from supplychain.oci.mediatype import ALL_MANIFEST_TYPES
from supplychain.oci.model import AnyManifest, Descriptor, Index

logger = logging.getLogger(__name__)


@dataclasses.dataclass(slots=True)
class Writes:
    """What one store instance wrote, so that a failed operation can take back exactly that (``abort``)."""

    created: bool = False  # this instance made the layout (wrote its oci-layout file)
    made_dirs: list[Path] = dataclasses.field(default_factory=list)  # directories it created, outermost first
    blobs: set[Digest] = dataclasses.field(default_factory=set)  # blob files it wrote (not those already present)
    anchored: set[Digest] = dataclasses.field(default_factory=set)  # manifests it put that index.json lists
    references: dict[Digest, tuple[Digest, ...]] = dataclasses.field(default_factory=dict)  # manifest -> blobs

    def known_reachable(self) -> set[Digest]:
        """Blobs reachable from the manifests this instance indexed, following what it put (no reads)."""
        seen: set[Digest] = set()
        stack = list(self.anchored)
        while stack:
            digest = stack.pop()
            if digest not in seen:
                seen.add(digest)
                stack.extend(self.references.get(digest, ()))
        return seen


class Reclaimer:
    """Removes unreachable blobs of one layout; ``read_manifest`` is the store's checked manifest read."""

    def __init__(
        self,
        directory: LayoutDirectory,
        index: LayoutIndex,
        writes: Writes,
        read_manifest: Callable[[Descriptor], AnyManifest],
    ) -> None:
        self._directory = directory
        self._index = index
        self._writes = writes
        self._read_manifest = read_manifest

    def gc(self) -> list[Digest]:
        """Delete blobs unreachable from ``index.json``; return their digests (see ``OciLayout.gc``)."""
        with self._directory.lock():
            keep = self._reachable(strict=True)
            removed = []
            with self._directory.io("garbage-collect blobs"):
                for digest, blob in self._directory.blob_files():
                    if digest not in keep:
                        blob.unlink()
                        removed.append(digest)
        return removed

    def remove_unreachable(self, candidates: Iterable[Digest]) -> list[Digest]:
        """Delete those blobs of ``candidates`` that ``index.json`` no longer reaches (see
        ``OciLayout.remove_unreachable``). When a manifest of ``index.json`` cannot be read, what it reaches is
        unknown: nothing is removed (a warning)."""
        wanted = set(candidates)
        if not wanted:
            return []
        with self._directory.lock():
            try:
                keep = self._reachable(strict=True)
            except (InvalidManifestError, IntegrityError) as exc:
                logger.warning("%s: not removing the blobs the clean left, a manifest is unreadable: %s",
                               self._directory.name, exc)
                return []
            removed = []
            for digest in sorted(wanted - keep):
                blob = self._directory.blob_path(digest)
                with self._directory.io("remove a blob"):
                    if not blob.is_file():
                        continue
                    blob.unlink()
                removed.append(digest)
                self._writes.blobs.discard(digest)
        return removed

    def discard_orphans(self) -> list[Digest]:
        """Delete the blobs this instance wrote that nothing in ``index.json`` reaches; return their digests."""
        if not self._writes.blobs - self._writes.known_reachable():
            return []  # everything written is reachable from manifests this instance indexed: no full walk
        with self._directory.lock():
            return self._discard_orphans_locked()

    def abort(self) -> None:
        """Remove a layout this instance created when it holds nothing another writer put there; otherwise only
        ``discard_orphans``."""
        with self._directory.lock():
            if self._writes.created and self._holds_only_ours():
                self._remove_layout()
                return
            self._discard_orphans_locked()

    def _discard_orphans_locked(self) -> list[Digest]:
        candidates = self._writes.blobs - self._reachable(strict=False)
        removed = []
        for digest in sorted(candidates):
            with self._directory.io("remove a blob"):
                self._directory.blob_path(digest).unlink(missing_ok=True)
            removed.append(digest)
            self._writes.blobs.discard(digest)
        return removed

    def _holds_only_ours(self) -> bool:
        """Every file of the layout is one this instance wrote (no foreign entry, blob or temp file)."""
        path, written = self._directory.path, self._writes.blobs
        with self._directory.io("list the layout"):
            if {p.name for p in path.iterdir()} - {LAYOUT_FILE, INDEX_FILE, BLOBS_DIR}:
                return False  # another writer's temp file, or files that are not ours
            if any(desc.digest not in written for desc in self._index.entries()):
                return False
            blobs = path / BLOBS_DIR
            for algorithm in blobs.iterdir() if blobs.is_dir() else ():
                if not algorithm.is_dir():
                    return False
                if any(blob_digest(blob) not in written for blob in algorithm.iterdir()):
                    return False
        return True

    def _remove_layout(self) -> None:
        """Remove a layout this instance created (``abort``): oci-layout first, so it stops being a layout."""
        path = self._directory.path
        with self._directory.io("remove the layout it created"):
            (path / LAYOUT_FILE).unlink(missing_ok=True)
            (path / INDEX_FILE).unlink(missing_ok=True)
            for _, blob in self._directory.blob_files():
                blob.unlink(missing_ok=True)
        self._writes.blobs.clear()
        blobs = path / BLOBS_DIR
        # Then the directories, innermost first; one another process put files in meanwhile stays.
        for directory in [*sorted(blobs.glob("*")), blobs, *reversed(self._writes.made_dirs)]:
            with contextlib.suppress(OSError):
                directory.rmdir()

    def _reachable(self, *, strict: bool) -> set[Digest]:
        """Digests reachable from ``index.json`` entries (index children, configs, layers; not subjects).
        Strict (gc): an unreadable manifest raises; else it is skipped with a warning (it reaches nothing)."""
        keep: set[Digest] = set()
        stack = self._index.entries()
        while stack:
            desc = stack.pop()
            if desc.digest in keep:
                continue
            keep.add(desc.digest)
            if desc.media_type not in ALL_MANIFEST_TYPES or not self._directory.has_blob(desc.digest):
                continue
            try:
                manifest = self._read_manifest(desc)
            except (InvalidManifestError, IntegrityError) as exc:
                if strict:
                    raise
                logger.warning("%s@%s is unreadable, so what it names counts as unreachable: %s",
                               self._directory.name, desc.digest, exc)
                continue
            stack.extend(manifest.manifests if isinstance(manifest, Index) else [manifest.config, *manifest.layers])
        return keep
