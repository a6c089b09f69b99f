"""``OciLayout``: an OCI image layout directory as an ``ArtifactStore`` (``supplychain.oci.store``).

Reads resolve tags and digests through the parsed ``index.json`` (``layout.index``), and check every blob and
manifest against its digest while it streams (manifests capped at 4 MiB); writes stream blobs through flocked
temp files (``layout.directory``) and change ``index.json`` in transactions, by its entry rules
(``layout.entry``); ``layout.reclaim`` takes blobs back. ``referrers()`` scans the manifests of the entries
(a layout has no referrers API), merged with the referrers tag ``<alg>-<hex>`` (distribution spec 1.1,
"Referrers tag schema") when another tool keeps one.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from supplychain.config import Settings
from supplychain.digest import Digest, verify_stream
from supplychain.errors import (
    IntegrityError,
    InvalidDigestError,
    InvalidManifestError,
    InvalidReferenceError,
    NotFoundError,
    SizeLimitError,
)
from supplychain.layout.directory import LayoutDirectory, chunks
from supplychain.layout.entry import REF_NAME, add_entry, without_ref_name
from supplychain.layout.errors import LayoutIOError
from supplychain.layout.index import LayoutIndex
from supplychain.layout.reclaim import Reclaimer, Writes
from supplychain.oci.mediatype import ALL_MANIFEST_TYPES
from supplychain.oci.model import AnyManifest, Descriptor, Index, parse_manifest
from supplychain.oci.referrers import ReferrerListing, filter_by_type, referrers_in, referrers_tag, without_referrer
from supplychain.oci.store import ClosesOnExit, PushResult
from supplychain.reference import is_ref_name

logger = logging.getLogger(__name__)

_REF_NAME_HINT = (
    "a layout tag is an org.opencontainers.image.ref.name: letters and digits separated by one of - . _ : @ + "
    "or --, in components joined by / (e.g. v1.0, app/v1)"
)
_BLOB_LIMIT_HINT = "raise SUPPLYCHAIN_MAX_BLOB_SIZE (bytes) only if you trust the source"


class OciLayout(ClosesOnExit):
    """An OCI image layout directory implementing ``supplychain.oci.store.ArtifactStore``.

    ``create=True`` makes the layout when the directory is absent or empty; otherwise the directory must
    already be a layout (``NotALayoutError`` / ``CorruptLayoutError`` with a hint if not).
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = False, settings: Settings | None = None):
        self.path = Path(path)
        self._settings = settings or Settings()
        self._directory = LayoutDirectory(self.path)
        self._index = LayoutIndex(self._directory)
        # digest -> (subject digest, referrer descriptor): content-addressed and verified once, so never stale.
        self._subjects: dict[Digest, tuple[Digest | None, Descriptor]] = {}
        self._writes = Writes()  # what this instance wrote, so that a failed operation can take back exactly that
        self._reclaimer = Reclaimer(self._directory, self._index, self._writes, self.get_manifest)
        if create:
            self._writes.created, self._writes.made_dirs = self._directory.create()
        self._directory.check()
        self._index.entries()  # fail now, not on first use, when index.json is malformed

    @property
    def name(self) -> str:
        """``oci:<path>``, for messages."""
        return self._directory.name

    @property
    def created(self) -> bool:
        """Whether this instance made the layout (wrote its ``oci-layout`` file)."""
        return self._writes.created

    def deferred_index(self) -> contextlib.AbstractContextManager[None]:
        """Within the block, changes to ``index.json`` are kept in memory (reads see them) and written once at its
        end, under the lock, replayed on the file as it is then (so another writer's entries meanwhile are kept).

        A copy of N referrers into a layout otherwise rewrites and fsyncs the whole, growing index once per
        referrer: quadratic (issue 7, item 5). When the block raises, nothing of it is written (the caller,
        ``store.open_destination``, then removes the blobs it wrote). The lock is not held in between, so other
        writers are not kept waiting while blobs stream. Nested blocks join the outer one.
        """
        return self._index.deferred()

    locks_every_writer = True  # oci.store.LocksTags: every writer of the layout takes its flock

    def lock_tag(self, tag: str) -> contextlib.AbstractContextManager[None]:
        """``oci.store.LocksTags``: within the block no other writer that takes this lock (``oci.tagwriter``, in
        any thread or process of this machine) changes a tag, so a read-change-put of a shared tag is exclusive
        (``layout.directory.LayoutDirectory.tag_lock``: one lock for every tag of the layout)."""
        return self._directory.tag_lock()

    # -- reading ------------------------------------------------------------------------------------------

    def resolve(self, ref: str | Digest) -> Descriptor:
        """The descriptor of a tag (any ``ref.name`` value) or digest. Manifests not listed in ``index.json``
        (platform manifests of an index) resolve by digest when their blob is present. Raises ``NotFoundError``."""
        digest = _as_digest(ref)
        view = self._index.view()
        if digest is None:
            tag = str(ref)
            found = view.by_tag.get(tag)
            if found is not None:
                return without_ref_name(found)
            raise NotFoundError(f"tag {tag!r} not found in {self.name}",
                                hint=f"tags: {', '.join(sorted(view.by_tag)) or 'none'}")
        found = view.by_digest.get(digest)
        if found is not None:
            return without_ref_name(found)
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
        with self._directory.open_blob(digest) as handle:
            checked = verify_stream(chunks(handle), digest, size=size, limit=cap, what=f"manifest {digest.short}")
            raw = b"".join(checked)
        return parse_manifest(raw, media_type)

    def has_blob(self, digest: Digest) -> bool:
        """Whether ``blobs/<alg>/<hex>`` exists."""
        return self._directory.has_blob(digest)

    @contextlib.contextmanager
    def open_blob(self, desc: Descriptor) -> Iterator[Iterator[bytes]]:
        """Stream a blob; the iterator raises ``DigestMismatchError`` before its end when the bytes are wrong."""
        self._check_blob_size(desc)
        with self._directory.open_blob(desc.digest) as handle:
            yield verify_stream(chunks(handle), desc.digest, size=desc.size, what=f"blob {desc.digest.short}")

    def get_blob(self, desc: Descriptor, *, limit: int | None = None) -> bytes:
        """Read a small blob whole, checked against its digest and size and capped at ``limit`` bytes
        (default: the attachment cap of the settings)."""
        cap = self._settings.max_attachment_bytes if limit is None else limit
        if desc.size > cap:
            raise SizeLimitError(
                f"blob {desc.digest.short} in {self.name} is {desc.size} bytes, over the {cap}-byte limit",
                hint="raise SUPPLYCHAIN_MAX_ATTACHMENT_SIZE only if you trust the layout",
            )
        with self.open_blob(desc) as checked:
            return b"".join(checked)

    def tags(self, *, page_size: int | None = None) -> Iterator[str]:
        """The tags of ``index.json`` entries, in index order, each once (``page_size``: a layout is one page)."""
        seen: dict[str, None] = {}
        for desc in self._index.entries():
            name = desc.annotations.get(REF_NAME)
            if name is not None:
                seen.setdefault(name)
        return iter(list(seen))

    def close(self) -> None:
        """Nothing to release: every operation opens and closes its own files."""

    def referrers(self, subject: Digest, artifact_type: str | None = None) -> list[Descriptor]:
        """Manifests whose ``subject`` is ``subject``: found by scanning the manifests of ``index.json``
        entries, merged with the referrers tag ``<alg>-<hex>`` if one exists (which must be an index)."""
        view = self._index.view()
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
        target = self._directory.blob_path(desc.digest)
        with self._directory.io("write a blob"):
            # Content addressing: an existing file of the right size is this blob (reads still verify it).
            if target.is_file() and target.stat().st_size == desc.size:
                return
            target.parent.mkdir(parents=True, exist_ok=True)
        checked = verify_stream(chunks, desc.digest, size=desc.size, what=f"blob {desc.digest.short}")
        self._directory.write_atomic(target, checked)
        self._writes.blobs.add(desc.digest)

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
        self._writes.references[desc.digest] = (
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
        self._index.change(lambda doc: add_entry(doc["manifests"], entry, tag, indexed=indexed,
                                                 keeps_entry=self._has_subject))
        if tag is not None or manifest.subject is not None:
            self._writes.anchored.add(desc.digest)
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

        self._index.change(delete)

    def _drop_from_referrers_tag(self, doc: dict[str, Any], subject: Digest, removed: Digest) -> None:
        tag = referrers_tag(subject)
        entries = doc["manifests"]
        for i, (entry, desc) in enumerate(zip(entries, self._index.entries(doc), strict=True)):
            if desc.annotations.get(REF_NAME) != tag:
                continue
            listed = referrers_in(self.get_manifest(desc), where=f"{self.name}:{tag}")
            updated = without_referrer(listed, removed)
            if updated is not None:
                self.put_blob(updated.descriptor(), [updated.raw])
                # a new object, never a change in place (see entry.add_entry)
                entries[i] = {**entry, "mediaType": updated.media_type, "digest": str(updated.digest),
                              "size": len(updated.raw)}
            return

    # -- taking blobs back (layout.reclaim) -----------------------------------------------------------------

    def gc(self) -> list[Digest]:
        """Delete blobs unreachable from ``index.json`` (following index entries, configs and layers, not
        subjects); return their digests. Do not run it while another process is pushing into the layout:
        blobs uploaded before their manifest is indexed would look unreachable."""
        return self._reclaimer.gc()

    def remove_unreachable(self, candidates: Iterable[Digest]) -> list[Digest]:
        """Delete those blobs of ``candidates`` that ``index.json`` no longer reaches; return their digests.

        What ``clean`` calls after its deletes (``oci.store.ReclaimsBlobs``): the deleted manifests and the blobs
        they named, so that no signed payload stays in ``blobs/`` (issue 8.19; ``umoci gc`` would remove them
        too). Unlike ``gc``, only ``candidates`` are looked at, so the blobs another writer uploads before it
        indexes their manifest are safe unless they are the same content. Under the layout lock. When a
        manifest of ``index.json`` cannot be read, what it reaches is unknown: nothing is removed (a warning).
        """
        return self._reclaimer.remove_unreachable(candidates)

    def discard_orphans(self) -> list[Digest]:
        """Delete the blobs this instance wrote that nothing in ``index.json`` reaches (what a failed or partly
        failed copy leaves: layers of a manifest never put); return their digests. Blobs this instance did not
        write are never touched, whatever their state: another writer may be mid-push."""
        return self._reclaimer.discard_orphans()

    def abort(self) -> None:
        """Take back what this instance wrote after a failed operation: a layout it created is removed whole
        (files and the directories it made) when it holds nothing another writer put there; otherwise only
        ``discard_orphans``. ``index.json`` entries are left as they are (a tag that was put, was put)."""
        self._reclaimer.abort()


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
