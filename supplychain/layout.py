"""An OCI image layout directory as an ``ArtifactStore`` (``oci:PATH`` references).

The on-disk format is OCI image-spec image-layout.md: an ``oci-layout`` file (``{"imageLayoutVersion":"1.0.0"}``),
an ``index.json`` image index whose entries are the layout's entry points, and content-addressed blobs at
``blobs/<alg>/<hex>``. Tags are ``org.opencontainers.image.ref.name`` annotations of ``index.json`` entries
(annotations.md, "Pre-Defined Annotation Keys"); a tag is unique, so putting a tag moves it.

Safety (``supplychain.oci.store`` contract):
- every write is atomic: bytes go to a temp file in the layout directory while they are hashed, are fsynced, and
  are renamed into place only when digest and size match; a failure removes the temp file;
- ``index.json`` is read, changed and replaced (temp file + rename) under an exclusive ``flock`` on the layout
  directory itself (no lock file is left in the layout), so concurrent writers (threads or processes) never lose
  each other's entries; readers need no lock because the rename is atomic;
- every blob and manifest read is checked against its digest; manifests are capped at 4 MiB;
- an instance remembers the blobs it wrote, so a failed copy can take back exactly those that nothing in
  ``index.json`` reaches (``discard_orphans``, ``abort``), never a blob another writer put there.

``index.json`` lists the layout's entry points only, so that skopeo and umoci (which read one image per entry
and refuse an untagged layout of several) keep working: a tagged manifest gets an entry; an untagged one only
when it has a ``subject`` (a referrer: a layout has no referrers API, so ``referrers()`` finds them by scanning
the entries, which carry ``artifactType`` and annotations); a manifest a tag moved away from loses its entry
unless it has a subject or another tag. Other manifests (the platform manifests of an index, untagged images)
are blobs only and resolve by digest. ``referrers()`` also merges the referrers tag ``<alg>-<hex>``
(distribution spec 1.1, "Referrers tag schema") when another tool keeps one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import json
import logging
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Self

from supplychain.config import Settings
from supplychain.digest import Digest, verify_stream
from supplychain.errors import (
    IntegrityError,
    InvalidDigestError,
    InvalidInputError,
    InvalidManifestError,
    InvalidReferenceError,
    NotFoundError,
    SizeLimitError,
)
from supplychain.files import PUBLIC_MODE, read_capped, write_atomic
from supplychain.formats.strictjson import JsonFormatError, loads_untrusted
from supplychain.oci.mediatype import ALL_MANIFEST_TYPES, MediaType
from supplychain.oci.model import AnyManifest, Descriptor, Index, encode_json, parse_manifest
from supplychain.oci.referrers import ReferrerListing, filter_by_type, referrers_in, referrers_tag, without_referrer
from supplychain.oci.store import PushResult
from supplychain.reference import is_ref_name

logger = logging.getLogger(__name__)

LAYOUT_FILE = "oci-layout"
INDEX_FILE = "index.json"
BLOBS_DIR = "blobs"
LAYOUT_VERSION = "1.0.0"
REF_NAME = "org.opencontainers.image.ref.name"
# Lock file of earlier versions (the lock is now the directory itself): tolerated in a directory to create into.
LEGACY_LOCK_FILE = ".supplychain.lock"
TEMP_PREFIX = ".supplychain-tmp-"
# A temp file no writer holds and untouched for this long (seconds) was left by a killed writer: swept.
STALE_TEMP_SECONDS = 300
# index.json is local and may list many untagged referrers, so it gets a larger cap than a manifest.
MAX_INDEX_JSON_BYTES = 64 * 1024 * 1024
_CHUNK = 1024 * 1024
_REF_NAME_HINT = (
    "a layout tag is an org.opencontainers.image.ref.name: letters and digits separated by one of - . _ : @ + "
    "or --, in components joined by / (e.g. v1.0, app/v1)"
)
_BLOB_LIMIT_HINT = "raise SUPPLYCHAIN_MAX_BLOB_SIZE (bytes) only if you trust the source"


class LayoutError(InvalidInputError):
    """A directory that cannot be used as an OCI image layout."""

    default_hint = (
        "give the directory of an OCI image layout (oci-layout, index.json, blobs/), as written by "
        "skopeo, oras, umoci or `supplychain copy IMAGE oci:DIR`"
    )


class NotALayoutError(LayoutError):
    """The directory has no ``oci-layout`` file, or one of an unsupported version, or is not a directory."""


class LayoutNotFoundError(NotFoundError):
    """The layout directory does not exist (exit status 4, as for a missing image)."""

    default_hint = "check the path, or create a layout with `supplychain copy IMAGE oci:DIR[:tag]`"


class CorruptLayoutError(LayoutError):
    """``index.json`` (or ``oci-layout``) is missing or malformed."""

    default_hint = "the layout was damaged or half-written by another tool; recreate it (e.g. skopeo copy)"


class LayoutIOError(InvalidInputError):
    """The filesystem refused an operation (permissions, disk full, read-only mount).

    Exit status 3, "invalid input: ... file", as for a key file that cannot be written (``keys.KeyFileError``):
    a local file-system failure is about the path the user gave, not a network peer being unavailable (6)."""

    default_hint = "check the layout directory's permissions, free space, and that it is not on a read-only mount"


class OciLayout:
    """An OCI image layout directory implementing ``supplychain.oci.store.ArtifactStore``.

    ``create=True`` makes the layout when the directory is absent or empty; otherwise the directory must
    already be a layout (``NotALayoutError`` / ``CorruptLayoutError`` with a hint if not).
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = False, settings: Settings | None = None):
        self.path = Path(path)
        self._settings = settings or Settings()
        # digest -> (subject digest, referrer descriptor): content-addressed and verified once, so never stale.
        self._subjects: dict[Digest, tuple[Digest | None, Descriptor]] = {}
        self._index_view: _IndexView | None = None  # index.json as last read or written
        # ``deferred_index``: the changes made in the block (replayed on the file at its end), the document they
        # give, its view (built when asked for), and the last such view (whose parsed entries the next reuses).
        self._deferred: list[Callable[[dict[str, Any]], None]] | None = None
        self._deferred_doc: dict[str, Any] | None = None
        self._deferred_view: _IndexView | None = None
        self._reuse_view: _IndexView | None = None
        # What this instance wrote, so that a failed operation can take back exactly that (``abort``).
        self.created = False  # this instance made the layout (wrote its oci-layout file)
        self._made_dirs: list[Path] = []  # directories this instance created, outermost first
        self._written: set[Digest] = set()  # blob files this instance wrote (not those already present)
        self._anchored: set[Digest] = set()  # manifests it put that index.json lists (tagged, or with a subject)
        self._references: dict[Digest, tuple[Digest, ...]] = {}  # manifests it put -> the blobs they name
        if create:
            self._create()
        self._check_layout()
        self._entries()  # fail now, not on first use, when index.json is malformed

    @property
    def name(self) -> str:
        """``oci:<path>``, for messages."""
        return f"oci:{self.path}"

    # -- opening ----------------------------------------------------------------------------------------

    def _create(self) -> None:
        with self._io("create the layout"):
            if self.path.exists() and not self.path.is_dir():
                raise NotALayoutError(f"{self.name}: {self.path} is not a directory")
            missing = [p for p in (self.path, *self.path.parents) if not p.exists()]
            self.path.mkdir(parents=True, exist_ok=True)
            self._made_dirs = list(reversed(missing))
            if (self.path / LAYOUT_FILE).exists():
                return
            # Locking writes nothing (the lock is the directory), so a directory of someone else's files is
            # left as it was; _check_layout then says what it is.
            with self._lock():  # another writer may be creating it: wait for it, then look again
                if (self.path / LAYOUT_FILE).exists() or not self._is_blank():
                    return
                (self.path / BLOBS_DIR).mkdir(exist_ok=True)
                empty = {"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX, "manifests": []}
                self._write_atomic(self.path / INDEX_FILE, [encode_json(empty)])
                # oci-layout last: its presence marks a complete layout.
                self._write_atomic(self.path / LAYOUT_FILE, [encode_json({"imageLayoutVersion": LAYOUT_VERSION})])
                self.created = True

    def _is_blank(self) -> bool:
        """Empty but for temp files (and an earlier version's lock file): only such a directory becomes a layout."""
        return all(p.name == LEGACY_LOCK_FILE or p.name.startswith(TEMP_PREFIX) for p in self.path.iterdir())

    def _check_layout(self) -> None:
        if not self.path.exists():
            raise LayoutNotFoundError(f"{self.name}: no such directory")
        if not self.path.is_dir():
            raise NotALayoutError(
                f"{self.name}: {self.path} is not a directory",
                hint="an OCI layout is a directory (oci-layout, index.json, blobs/); the path ends at the first "
                "':' of oci:PATH:tag",
            )
        marker = self.path / LAYOUT_FILE
        if not marker.is_file():
            raise NotALayoutError(f"{self.name} is not an OCI image layout: it has no {LAYOUT_FILE} file")
        try:
            with self._io("read oci-layout"), open(marker, "rb") as handle:
                doc = loads_untrusted(handle.read(4096))
        except JsonFormatError as exc:
            raise CorruptLayoutError(f"{self.name}: {LAYOUT_FILE} is not JSON: {exc}") from exc
        version = doc.get("imageLayoutVersion") if isinstance(doc, dict) else None
        # image-layout.md "oci-layout file": imageLayoutVersion is "1.0.0"; accept any 1.x, refuse the rest.
        if not isinstance(version, str) or version.split(".")[0] != "1":
            raise NotALayoutError(
                f"{self.name}: unsupported imageLayoutVersion {version!r} (supported: {LAYOUT_VERSION})",
                hint="this layout was written by a tool of another layout version; convert it with skopeo copy",
            )
        if not (self.path / INDEX_FILE).is_file():
            raise CorruptLayoutError(f"{self.name} has an {LAYOUT_FILE} file but no {INDEX_FILE}")

    # -- index.json ---------------------------------------------------------------------------------------

    def _read_index(self) -> tuple[bytes, _FileKey]:
        """The bytes of ``index.json`` and the identity of the file they came from (``fstat`` of the same open
        file, so the two always match, whoever renames a new index into place meanwhile)."""
        where = f"{self.name}/{INDEX_FILE}"
        try:
            with self._io("read index.json"), open(self.path / INDEX_FILE, "rb") as handle:
                key = _file_key(os.fstat(handle.fileno()))
                raw = read_capped(handle, MAX_INDEX_JSON_BYTES, what=where)
        except FileNotFoundError as exc:
            raise CorruptLayoutError(f"{where} is missing") from exc
        return raw, key

    def _load_index(self, raw: bytes) -> dict[str, Any]:
        """Parse and validate ``index.json`` (image-layout.md "index.json file": an image index)."""
        where = f"{self.name}/{INDEX_FILE}"
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

    def _view(self) -> _IndexView:
        """``index.json`` as last read: read again only when the file changed (another identity: writers
        rename a new file into place), so a command asking many questions of a large layout parses it once.
        Inside ``deferred_index``, the index as this block has changed it."""
        if self._deferred_doc is not None:
            if self._deferred_view is None:
                self._deferred_view = self._build_view(self._deferred_doc, b"", None)
            return self._deferred_view
        view = self._index_view
        if view is not None:
            try:
                key: _FileKey | None = _file_key(os.stat(self.path / INDEX_FILE))
            except OSError:
                key = None  # read it, and let that say what is wrong
            if key == view.key:
                return view
        raw, key = self._read_index()
        return self._remember(raw, key)

    def _remember(self, raw: bytes, key: _FileKey) -> _IndexView:
        view = self._index_view
        if view is None or raw != view.raw:
            view = self._build_view(self._load_index(raw), raw, key)
        view.key = key
        self._index_view = view
        return view

    def _build_view(self, doc: dict[str, Any], raw: bytes, key: _FileKey | None) -> _IndexView:
        """Validate the entries of ``doc``; an entry equal to one of the current view is not parsed again."""
        known: dict[str, list[tuple[Any, Descriptor]]] = {}
        for previous in (self._index_view, self._reuse_view):
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
            raise CorruptLayoutError(f"{self.name}: {exc.message}") from exc
        # The view keeps its own list of the entry objects (entries are replaced, never changed in place, so this
        # shallow copy is a snapshot): ``deferred_index`` goes on changing the document's list.
        return _IndexView(key, raw, {**doc, "manifests": list(doc["manifests"])}, tuple(entries))

    def _entries(self, doc: dict[str, Any] | None = None) -> list[Descriptor]:
        """The validated descriptors of ``index.json`` (of ``doc`` if given), as of its last change."""
        return list(self._view().entries if doc is None else self._build_view(doc, b"", None).entries)

    @contextlib.contextmanager
    def deferred_index(self) -> Iterator[None]:
        """Within the block, changes to ``index.json`` are kept in memory (reads see them) and written once at its
        end, under the lock, replayed on the file as it is then (so another writer's entries meanwhile are kept).

        A copy of N referrers into a layout otherwise rewrites and fsyncs the whole, growing index once per
        referrer: quadratic (issue 7, item 5). When the block raises, nothing of it is written (the caller,
        ``store.open_destination``, then removes the blobs it wrote). The lock is not held in between, so other
        writers are not kept waiting while blobs stream. Nested blocks join the outer one.
        """
        if self._deferred is not None:
            yield
            return
        self._deferred = []
        try:
            yield
            changes = self._deferred
            self._end_deferral()
            if changes:
                with self._index_transaction() as doc:
                    for change in changes:
                        change(doc)
        finally:
            self._end_deferral()

    def _end_deferral(self) -> None:
        self._deferred = None
        self._deferred_doc = self._deferred_view = self._reuse_view = None

    def _change_index(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Apply ``change`` to ``index.json``: now, in one transaction; inside ``deferred_index``, in memory."""
        if self._deferred is None:
            with self._index_transaction() as doc:
                change(doc)
            return
        if self._deferred_doc is None:
            self._deferred_doc = self._view().private_copy()
        change(self._deferred_doc)  # raises before it is recorded
        self._deferred.append(change)
        if self._deferred_view is not None:  # its parsed entries serve the next view (not parsed again)
            self._reuse_view, self._deferred_view = self._deferred_view, None

    @contextlib.contextmanager
    def _index_transaction(self) -> Iterator[dict[str, Any]]:
        """Lock, load ``index.json`` and yield it; rewrite it (temp + rename) if the caller changed it.

        Under the lock the file is always read again (bytes compared with the last read, not just its identity),
        so no other writer's entry is lost; only an unchanged file skips parsing. Entries are kept as the raw JSON
        objects another tool wrote, so fields we do not model survive.
        """
        with self._lock():
            self._sweep_stale_temp_files()
            raw, key = self._read_index()
            before = self._remember(raw, key)
            doc = before.private_copy()
            yield doc
            if doc != before.doc:
                encoded = encode_json(doc)
                after = self._build_view(doc, encoded, None)  # never write an index we could not read back
                self._write_atomic(self.path / INDEX_FILE, [encoded])
                with self._io("read index.json"):
                    after.key = _file_key(os.stat(self.path / INDEX_FILE))  # ours: we hold the lock
                self._index_view = after

    # -- reading ------------------------------------------------------------------------------------------

    def resolve(self, ref: str | Digest) -> Descriptor:
        """The descriptor of a tag (any ``ref.name`` value) or digest. Manifests not listed in ``index.json``
        (platform manifests of an index) resolve by digest when their blob is present. Raises ``NotFoundError``."""
        digest = _as_digest(ref)
        view = self._view()
        if digest is None:
            tag = str(ref)
            found = view.by_tag.get(tag)
            if found is not None:
                return _without_ref_name(found)
            raise NotFoundError(f"tag {tag!r} not found in {self.name}",
                                hint=f"tags: {', '.join(sorted(view.by_tag)) or 'none'}")
        found = view.by_digest.get(digest)
        if found is not None:
            return _without_ref_name(found)
        if self.has_blob(digest):
            return self._read_manifest(digest, None, None).descriptor()
        known = sorted(view.by_tag)
        raise NotFoundError(
            f"manifest {digest} not found in {self.name}",
            hint=f"check the digest; the layout's tags: {', '.join(known) or 'none'} (supplychain ls {self.name})",
        )

    def get_manifest(self, ref: str | Digest | Descriptor) -> AnyManifest:
        """Read, check (digest, size, 4 MiB cap) and parse a manifest or index."""
        desc = ref if isinstance(ref, Descriptor) else self.resolve(ref)
        return self._read_manifest(desc.digest, desc.size, desc.media_type)

    def _read_manifest(self, digest: Digest, size: int | None, media_type: str | None) -> AnyManifest:
        cap = self._settings.max_manifest_bytes
        if size is not None and size > cap:
            raise SizeLimitError(
                f"manifest {digest.short} in {self.name} is {size} bytes, over the {cap}-byte limit",
                hint="manifests over 4 MiB are refused (distribution spec); this one is malformed or hostile",
            )
        with self._open(digest) as handle:
            checked = verify_stream(_chunks(handle), digest, size=size, limit=cap, what=f"manifest {digest.short}")
            raw = b"".join(checked)
        return parse_manifest(raw, media_type)

    def has_blob(self, digest: Digest) -> bool:
        """Whether ``blobs/<alg>/<hex>`` exists."""
        return self._blob_path(digest).is_file()

    @contextlib.contextmanager
    def open_blob(self, desc: Descriptor) -> Iterator[Iterator[bytes]]:
        """Stream a blob; the iterator raises ``DigestMismatchError`` before its end when the bytes are wrong."""
        self._check_blob_size(desc)
        with self._open(desc.digest) as handle:
            yield verify_stream(_chunks(handle), desc.digest, size=desc.size, what=f"blob {desc.digest.short}")

    def get_blob(self, desc: Descriptor, *, limit: int | None = None) -> bytes:
        """Read a small blob whole, checked against its digest and size and capped at ``limit`` bytes
        (default: the attachment cap of the settings)."""
        cap = self._settings.max_attachment_bytes if limit is None else limit
        if desc.size > cap:
            raise SizeLimitError(
                f"blob {desc.digest.short} in {self.name} is {desc.size} bytes, over the {cap}-byte limit",
                hint="raise SUPPLYCHAIN_MAX_ATTACHMENT_SIZE only if you trust the layout",
            )
        with self.open_blob(desc) as chunks:
            return b"".join(chunks)

    def tags(self, *, page_size: int | None = None) -> Iterator[str]:
        """The tags of ``index.json`` entries, in index order, each once (``page_size``: a layout is one page)."""
        seen: dict[str, None] = {}
        for desc in self._entries():
            name = desc.annotations.get(REF_NAME)
            if name is not None:
                seen.setdefault(name)
        return iter(list(seen))

    def close(self) -> None:
        """Nothing to release: every operation opens and closes its own files."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def referrers(self, subject: Digest, artifact_type: str | None = None) -> list[Descriptor]:
        """Manifests whose ``subject`` is ``subject``: found by scanning the manifests of ``index.json``
        entries, merged with the referrers tag ``<alg>-<hex>`` if one exists (which must be an index)."""
        view = self._view()
        if view.referrers is None:
            view.referrers = self._index_subjects(view.entries)
        tag = referrers_tag(subject)
        tag_desc = view.by_tag.get(tag)
        # The referrers tag itself is not one of the referrers it lists.
        found = [d for d in view.referrers.get(subject, ()) if tag_desc is None or d.digest != tag_desc.digest]
        scanned = {d.digest for d in found}
        if tag_desc is not None:
            found.extend(referrers_in(self.get_manifest(tag_desc), where=f"{self.name}:{tag}"))
        from_tag = frozenset(d.digest for d in found) - scanned  # where each lives, for oci.locate
        return ReferrerListing(filter_by_type(found, artifact_type), from_tag=from_tag)

    def _index_subjects(self, entries: Iterable[Descriptor]) -> dict[Digest, list[Descriptor]]:
        """Subject -> referrers (in entry order) of the manifests ``index.json`` lists: one scan per change of
        ``index.json``, each manifest read once per instance (issue 7.5: a scan per question made ``tree`` and
        ``copy`` quadratic in the referrers)."""
        index: dict[Digest, list[Descriptor]] = {}
        scanned: set[Digest] = set()
        for desc in entries:
            if desc.digest in scanned or desc.media_type not in ALL_MANIFEST_TYPES:
                continue
            scanned.add(desc.digest)
            if desc.digest not in self._subjects:
                try:
                    manifest = self.get_manifest(desc)
                except (InvalidManifestError, IntegrityError) as exc:
                    # One unreadable manifest (foreign, malformed, oversized, tampered) must not hide the
                    # referrers of every image in the layout; it cannot be trusted as a referrer either way.
                    logger.warning("skipping %s@%s while looking for referrers: %s", self.name, desc.digest, exc)
                    self._subjects[desc.digest] = (None, desc)
                    continue
                named = manifest.subject.digest if manifest.subject is not None else None
                self._subjects[desc.digest] = (named, manifest.descriptor())
            named, referrer = self._subjects[desc.digest]
            if named is not None:
                index.setdefault(named, []).append(referrer)
        return index

    # -- writing ------------------------------------------------------------------------------------------

    def put_blob(self, desc: Descriptor, chunks: Iterable[bytes]) -> None:
        """Store a blob from ``chunks``, atomically; bytes not matching ``desc`` raise and leave nothing."""
        self._check_blob_size(desc)
        target = self._blob_path(desc.digest)
        with self._io("write a blob"):
            # Content addressing: an existing file of the right size is this blob (reads still verify it).
            if target.is_file() and target.stat().st_size == desc.size:
                return
            target.parent.mkdir(parents=True, exist_ok=True)
        checked = verify_stream(chunks, desc.digest, size=desc.size, what=f"blob {desc.digest.short}")
        self._write_atomic(target, checked)
        self._written.add(desc.digest)

    def _check_blob_size(self, desc: Descriptor) -> None:
        cap = self._settings.max_blob_bytes
        if desc.size > cap:
            raise SizeLimitError(
                f"blob {desc.digest.short} in {self.name} is {desc.size} bytes, over the {cap}-byte blob limit",
                hint=_BLOB_LIMIT_HINT,
            )

    def put_manifest(self, manifest: AnyManifest, *, tag: str | None = None) -> PushResult:
        """Store ``manifest.raw`` as a blob; under ``tag`` if given (moving the tag off any other manifest).

        ``index.json`` gets an entry for a tagged manifest, and for an untagged one only when it has a
        ``subject`` (the layout indexes referrers by scanning entries, so ``subject_indexed`` is True). Any other
        untagged manifest is a blob only (resolvable by digest), as skopeo and umoci expect one entry per image.
        A manifest the tag moves away from loses its entry unless it has a subject or another tag.
        """
        if tag is not None and not is_ref_name(tag):
            raise InvalidReferenceError(f"invalid tag {tag!r} for {self.name}", hint=_REF_NAME_HINT)
        cap = self._settings.max_manifest_bytes
        if len(manifest.raw) > cap:
            raise SizeLimitError(f"manifest is {len(manifest.raw)} bytes, over the {cap}-byte limit")
        desc = manifest.descriptor()
        self.put_blob(desc, [manifest.raw])
        self._references[desc.digest] = (
            tuple(d.digest for d in manifest.manifests) if isinstance(manifest, Index)
            else (manifest.config.digest, *(layer.digest for layer in manifest.layers))
        )
        entry: dict[str, Any] = {"mediaType": desc.media_type, "digest": str(desc.digest), "size": desc.size}
        if desc.artifact_type:
            entry["artifactType"] = desc.artifact_type
        annotations = {k: v for k, v in desc.annotations.items() if k != REF_NAME}
        if manifest.subject is not None and annotations:
            entry["annotations"] = annotations
        indexed = manifest.subject is not None
        self._change_index(lambda doc: _add_entry(doc["manifests"], entry, tag, indexed=indexed,
                                                  keeps_entry=self._has_subject))
        if tag is not None or manifest.subject is not None:
            self._anchored.add(desc.digest)
        return PushResult(desc, subject_indexed=True)

    def _has_subject(self, digest: Digest) -> bool:
        """Whether the manifest ``digest`` names a subject (an unreadable one counts as yes: keep its entry)."""
        try:
            manifest = self._read_manifest(digest, None, None)
        except (InvalidManifestError, IntegrityError, NotFoundError, LayoutIOError):
            return True
        return manifest.subject is not None

    def delete_manifest(self, digest: Digest) -> None:
        """Remove every ``index.json`` entry (and tag) of ``digest``, and drop it from its subject's referrers
        tag if one lists it. Blobs stay until ``gc()``. Raises ``NotFoundError`` if the layout lacks it."""
        subject = None
        if self.has_blob(digest):
            # A damaged manifest can still be deleted; it just cannot name a subject to clean up after.
            with contextlib.suppress(InvalidManifestError, IntegrityError):
                manifest = self._read_manifest(digest, None, None)
                subject = manifest.subject.digest if manifest.subject is not None else None

        def delete(doc: dict[str, Any]) -> None:
            kept = [e for e in doc["manifests"] if e.get("digest") != str(digest)]
            if len(kept) == len(doc["manifests"]) and not self.has_blob(digest):
                raise NotFoundError(f"manifest {digest} not found in {self.name}",
                                    hint="nothing to delete: check the digest (supplychain ls lists the tags)")
            doc["manifests"] = kept
            if subject is not None:
                self._drop_from_referrers_tag(doc, subject, digest)

        self._change_index(delete)

    def _drop_from_referrers_tag(self, doc: dict[str, Any], subject: Digest, removed: Digest) -> None:
        tag = referrers_tag(subject)
        entries = doc["manifests"]
        for i, (entry, desc) in enumerate(zip(entries, self._entries(doc), strict=True)):
            if desc.annotations.get(REF_NAME) != tag:
                continue
            listed = referrers_in(self.get_manifest(desc), where=f"{self.name}:{tag}")
            updated = without_referrer(listed, removed)
            if updated is not None:
                self.put_blob(updated.descriptor(), [updated.raw])
                # a new object, never a change in place (see _add_entry)
                entries[i] = {**entry, "mediaType": updated.media_type, "digest": str(updated.digest),
                              "size": len(updated.raw)}
            return

    def gc(self) -> list[Digest]:
        """Delete blobs unreachable from ``index.json`` (following index entries, configs and layers, not
        subjects); return their digests. Do not run it while another process is pushing into the layout:
        blobs uploaded before their manifest is indexed would look unreachable."""
        with self._lock():
            keep = self._reachable(strict=True)
            removed = []
            with self._io("garbage-collect blobs"):
                for digest, blob in self._blob_files():
                    if digest not in keep:
                        blob.unlink()
                        removed.append(digest)
        return removed

    def remove_unreachable(self, candidates: Iterable[Digest]) -> list[Digest]:
        """Delete those blobs of ``candidates`` that ``index.json`` no longer reaches; return their digests.

        What ``clean`` calls after its deletes (``oci.store.ReclaimsBlobs``): the deleted manifests and the blobs
        they named, so that no signed payload stays in ``blobs/`` (issue 8.19; ``umoci gc`` would remove them
        too). Unlike ``gc``, only ``candidates`` are looked at, so the blobs another writer uploads before it
        indexes their manifest are safe unless they are the same content. Under the layout lock. When a
        manifest of ``index.json`` cannot be read, what it reaches is unknown: nothing is removed (a warning).
        """
        wanted = set(candidates)
        if not wanted:
            return []
        with self._lock():
            try:
                keep = self._reachable(strict=True)
            except (InvalidManifestError, IntegrityError) as exc:
                logger.warning("%s: not removing the blobs the clean left, a manifest is unreadable: %s",
                               self.name, exc)
                return []
            removed = []
            for digest in sorted(wanted - keep):
                blob = self._blob_path(digest)
                with self._io("remove a blob"):
                    if not blob.is_file():
                        continue
                    blob.unlink()
                removed.append(digest)
                self._written.discard(digest)
        return removed

    def _sweep_stale_temp_files(self) -> list[Path]:
        """Remove the temp files that writers killed mid-write left in the layout (SIGKILL, power loss: no
        ``finally`` ran); called with the layout lock held, before each ``index.json`` change.

        Only files named ``TEMP_PREFIX*`` (ours), and only stale ones: a live writer holds an ``flock`` on its
        temp file for as long as it writes (``_write_atomic``), and the kernel drops that lock when the writer
        dies, so a file we can lock has no writer. Files changed in the last ``STALE_TEMP_SECONDS`` are kept as
        well (a writer between creating its file and locking it, or an older version that does not lock).
        """
        removed = []
        now = time.time()
        with self._io("list the layout"):
            temps = [p for p in self.path.iterdir() if p.name.startswith(TEMP_PREFIX)]
        for temp in temps:
            try:
                fd = os.open(temp, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                continue  # gone meanwhile (renamed into place), or not a plain file of ours
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode) or now - os.fstat(fd).st_mtime < STALE_TEMP_SECONDS:
                    continue
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live writer holds it
                with self._io("remove a stale temp file"), contextlib.suppress(FileNotFoundError):
                    temp.unlink()
                removed.append(temp)
            finally:
                os.close(fd)
        if removed:
            logger.info("%s: removed %d temp files left by interrupted writers", self.name, len(removed))
        return removed

    # -- taking back a failed operation's writes ----------------------------------------------------------

    def discard_orphans(self) -> list[Digest]:
        """Delete the blobs this instance wrote that nothing in ``index.json`` reaches (what a failed or partly
        failed copy leaves: layers of a manifest never put); return their digests. Blobs this instance did not
        write are never touched, whatever their state: another writer may be mid-push."""
        if not self._written - self._known_reachable():
            return []  # everything written is reachable from manifests this instance indexed: no full walk
        with self._lock():
            return self._discard_orphans_locked()

    def abort(self) -> None:
        """Take back what this instance wrote after a failed operation: a layout it created is removed whole
        (files and the directories it made) when it holds nothing another writer put there; otherwise only
        ``discard_orphans``. ``index.json`` entries are left as they are (a tag that was put, was put)."""
        with self._lock():
            if self.created and self._holds_only_ours():
                self._remove_layout()
                return
            self._discard_orphans_locked()

    def _known_reachable(self) -> set[Digest]:
        """Blobs reachable from the manifests this instance indexed, following what it put (no reads)."""
        seen: set[Digest] = set()
        stack = list(self._anchored)
        while stack:
            digest = stack.pop()
            if digest not in seen:
                seen.add(digest)
                stack.extend(self._references.get(digest, ()))
        return seen

    def _discard_orphans_locked(self) -> list[Digest]:
        candidates = self._written - self._reachable(strict=False)
        removed = []
        for digest in sorted(candidates):
            with self._io("remove a blob"):
                self._blob_path(digest).unlink(missing_ok=True)
            removed.append(digest)
            self._written.discard(digest)
        return removed

    def _holds_only_ours(self) -> bool:
        """Every file of the layout is one this instance wrote (no foreign entry, blob or temp file)."""
        with self._io("list the layout"):
            if {p.name for p in self.path.iterdir()} - {LAYOUT_FILE, INDEX_FILE, BLOBS_DIR}:
                return False  # another writer's temp file, or files that are not ours
            if any(desc.digest not in self._written for desc in self._entries()):
                return False
            blobs = self.path / BLOBS_DIR
            for algorithm in blobs.iterdir() if blobs.is_dir() else ():
                if not algorithm.is_dir():
                    return False
                if any(_blob_digest(blob) not in self._written for blob in algorithm.iterdir()):
                    return False
        return True

    def _remove_layout(self) -> None:
        """Remove a layout this instance created (``abort``): oci-layout first, so it stops being a layout."""
        with self._io("remove the layout it created"):
            (self.path / LAYOUT_FILE).unlink(missing_ok=True)
            (self.path / INDEX_FILE).unlink(missing_ok=True)
            for _, blob in self._blob_files():
                blob.unlink(missing_ok=True)
        self._written.clear()
        blobs = self.path / BLOBS_DIR
        # Then the directories, innermost first; one another process put files in meanwhile stays.
        for directory in [*sorted(blobs.glob("*")), blobs, *reversed(self._made_dirs)]:
            with contextlib.suppress(OSError):
                directory.rmdir()

    def _blob_files(self) -> Iterator[tuple[Digest, Path]]:
        """``(digest, path)`` of each ``blobs/<alg>/<hex>`` file; files whose name is not a digest are skipped."""
        for blob in sorted((self.path / BLOBS_DIR).glob("*/*")):
            digest = _blob_digest(blob)
            if digest is not None:
                yield digest, blob

    def _reachable(self, *, strict: bool) -> set[Digest]:
        """Digests reachable from ``index.json`` entries (index children, configs, layers; not subjects).
        Strict (gc): an unreadable manifest raises; else it is skipped with a warning (it reaches nothing)."""
        keep: set[Digest] = set()
        stack = self._entries()
        while stack:
            desc = stack.pop()
            if desc.digest in keep:
                continue
            keep.add(desc.digest)
            if desc.media_type not in ALL_MANIFEST_TYPES or not self.has_blob(desc.digest):
                continue
            try:
                manifest = self.get_manifest(desc)
            except (InvalidManifestError, IntegrityError) as exc:
                if strict:
                    raise
                logger.warning("%s@%s is unreadable, so what it names counts as unreachable: %s",
                               self.name, desc.digest, exc)
                continue
            stack.extend(manifest.manifests if isinstance(manifest, Index) else [manifest.config, *manifest.layers])
        return keep

    # -- files --------------------------------------------------------------------------------------------

    def _blob_path(self, digest: Digest) -> Path:
        # image-layout.md "Blobs": blobs/<alg>/<encoded>; Digest validated both parts, so no path tricks.
        return self.path / BLOBS_DIR / digest.algorithm / digest.hex

    @contextlib.contextmanager
    def _open(self, digest: Digest) -> Iterator[BinaryIO]:
        try:
            handle = open(self._blob_path(digest), "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError as exc:
            raise NotFoundError(f"blob {digest} not found in {self.name}",
                                hint="the layout is incomplete: copy the image into it again") from exc
        except OSError as exc:
            raise LayoutIOError(f"cannot read blob {digest.short} in {self.name}: {exc}") from exc
        with handle:
            yield handle

    def _write_atomic(self, target: Path, chunks: Iterable[bytes]) -> None:
        """Write ``chunks`` durably onto ``target`` (``files.write_atomic``), through a temp file named
        ``TEMP_PREFIX*`` in the layout directory, which the writer ``flock``s while it writes: that tells
        ``_sweep_stale_temp_files`` the writer is alive. Blobs are 0644: world-readable, as other tools write them.

        ``chunks`` may raise (``verify_stream`` does on a mismatch, before it ends; a network source may fail):
        then the temp file is removed, ``target`` is untouched and the error passes through unchanged.
        """
        failed: list[BaseException] = []

        def source() -> Iterator[bytes]:
            try:
                yield from chunks
            except BaseException as exc:  # the source's own error, not one of writing: not for _io to wrap
                failed.append(exc)
                raise

        try:
            with self._io(f"write {target.name}"):
                write_atomic(target, source(), mode=PUBLIC_MODE, temp_dir=self.path, temp_prefix=TEMP_PREFIX)
        except LayoutIOError:
            if failed:
                raise failed[0] from None
            raise

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Exclusive ``flock`` on the layout directory itself (Linux allows it on a directory descriptor), so
        no lock file is left among the layout's files. Each call opens its own file description, so the lock
        excludes other threads of this process as well as other processes (and must not be nested)."""
        with self._io("lock the layout"):
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            with self._io("lock the layout"):
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    @contextlib.contextmanager
    def _io(self, action: str) -> Iterator[None]:
        """Wrap filesystem errors (permissions, disk full) into ``LayoutIOError``."""
        try:
            yield
        except OSError as exc:
            raise LayoutIOError(f"cannot {action} in {self.name}: {exc.strerror or exc}") from exc


_FileKey = tuple[int, int, int, int, int]


def _file_key(stat: os.stat_result) -> _FileKey:
    """What identifies one version of a file: a writer renames a new file into place (new inode, times)."""
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


@dataclasses.dataclass(slots=True)
class _IndexView:
    """One version of ``index.json``, parsed and validated once, with the lookups every question needs."""

    key: _FileKey | None  # the file it was read from (or written to); None: not on disk (yet)
    raw: bytes
    doc: dict[str, Any]  # as read; never changed (a transaction changes a copy)
    entries: tuple[Descriptor, ...]
    by_tag: dict[str, Descriptor] = dataclasses.field(init=False)  # the first entry of each tag
    by_digest: dict[Digest, Descriptor] = dataclasses.field(init=False)  # the first entry of each digest
    referrers: dict[Digest, list[Descriptor]] | None = None  # subject -> referrers, built on first use

    def private_copy(self) -> dict[str, Any]:
        """The document as a copy to change: ``raw`` (the bytes it was parsed from and validated, read from a file
        so never empty) parses again to an equal document, five times faster than ``copy.deepcopy``."""
        return json.loads(self.raw)  # type: ignore[no-any-return]

    def __post_init__(self) -> None:
        self.by_tag = {}
        self.by_digest = {}
        for desc in self.entries:
            name = desc.annotations.get(REF_NAME)
            if name is not None:
                self.by_tag.setdefault(name, desc)
            self.by_digest.setdefault(desc.digest, desc)


def _as_digest(ref: str | Digest) -> Digest | None:
    """A digest, or ``None`` for a name to look up. Other tools may write ``ref.name`` values that are not
    plain tags (annotations.md allows ``/``, ``:`` and ``@``), so only ``sha256:``/``sha512:`` mean a digest."""
    if isinstance(ref, Digest):
        return ref
    if ref.startswith(("sha256:", "sha512:")):
        try:
            return Digest.parse(ref)
        except InvalidDigestError as exc:
            raise InvalidReferenceError(f"invalid digest {ref!r}: {exc.message}") from exc
    return None


def _blob_digest(path: Path) -> Digest | None:
    """The digest a ``blobs/<alg>/<hex>`` path stands for, or ``None`` for a file that is not a blob."""
    try:
        return Digest(path.parent.name, path.name)
    except InvalidDigestError:
        return None


def _without_ref_name(desc: Descriptor) -> Descriptor:
    annotations = {k: v for k, v in desc.annotations.items() if k != REF_NAME}
    return dataclasses.replace(desc, annotations=annotations)


def _ref_name(entry: dict[str, Any]) -> str | None:
    value = (entry.get("annotations") or {}).get(REF_NAME)
    return value if isinstance(value, str) else None


def _add_entry(
    entries: list[dict[str, Any]],
    entry: dict[str, Any],
    tag: str | None,
    *,
    indexed: bool,
    keeps_entry: Callable[[Digest], bool],
) -> None:
    """Add ``entry`` to the raw ``index.json`` entries: at most one entry per (digest, tag), a tag on one entry
    only, an untagged entry only when ``indexed`` (a referrer) and for a digest no other entry lists. A manifest
    the tag moves away from keeps an untagged entry only if another entry tags it or ``keeps_entry`` says so
    (it has a subject)."""
    digest = entry["digest"]
    moved: set[str] = set()
    # Entries are replaced, never changed in place: a parsed view reuses the descriptor of an entry that is
    # unchanged (``OciLayout._build_view``), and ``deferred_index`` keeps the same entry objects across changes.
    if tag is not None:
        for i, other in enumerate(entries):
            if _ref_name(other) == tag and other.get("digest") != digest:
                annotations = {k: v for k, v in other["annotations"].items() if k != REF_NAME}
                entries[i] = {k: v for k, v in other.items() if k != "annotations"}
                if annotations:
                    entries[i]["annotations"] = annotations
                moved.add(other["digest"])
        if not any(e.get("digest") == digest and _ref_name(e) == tag for e in entries):
            untagged = next((i for i, e in enumerate(entries)
                             if e.get("digest") == digest and _ref_name(e) is None), None)
            if untagged is not None:
                old = entries[untagged]
                entries[untagged] = {**old, "annotations": {**old.get("annotations", {}), REF_NAME: tag}}
            else:
                entries.append({**entry, "annotations": {**entry.get("annotations", {}), REF_NAME: tag}})
    elif indexed and not any(e.get("digest") == digest for e in entries):
        entries.append(entry)
    # Drop untagged entries made redundant by another entry of the same digest, and those of manifests the tag
    # left that nothing else keeps listed.
    tagged: set[str] = {e["digest"] for e in entries if _ref_name(e) is not None}
    orphaned = {d for d in moved - tagged if not keeps_entry(Digest.parse(d))}
    listed = set(tagged)
    kept = []
    for e in entries:
        if _ref_name(e) is None:
            if e.get("digest") in listed or e.get("digest") in orphaned:
                continue
            listed.add(e["digest"])
        kept.append(e)
    entries[:] = kept


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    return iter(functools.partial(handle.read, _CHUNK), b"")
