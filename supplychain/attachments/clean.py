"""``clean``: remove the attachments of one kind from a digest (cosign's command of that name).

``plan_clean`` then ``clean_attachments``: delete the cosign tags' manifests and the referrers of a kind, found by
``oci.locate``. Planning only reads, so the caller can show the plan and ask before anything is deleted. What a
listing or tag names is only where to look (anyone with push rights writes them): each manifest is read and
checked before it is planned for deletion; what fails a check is left alone, with the reason. A damaged
referrers tag (not an index: it blocks every referrer read and write) is removed first, whatever the kind, and
the referrers it hid are listed and deleted after it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from supplychain.digest import Digest
from supplychain.errors import (
    IntegrityError,
    InvalidInputError,
    InvalidManifestError,
    NotFoundError,
    RegistryError,
    SupplyChainError,
)
from supplychain.oci.attachment import TAG_KINDS, AttachmentKind, parse_attachment_tag
from supplychain.oci.locate import (
    TAG_LAYER_TYPES,
    Attachment,
    damaged_referrers_tag,
    kind_of,
    locate,
    of_kind,
)
from supplychain.oci.model import AnyManifest, Descriptor, Index, build_index
from supplychain.oci.store import ArtifactStore, ReclaimsBlobs

# What a damaged attachment raises while it is read: it is left alone, not the end of the command.
_DAMAGE = (IntegrityError, InvalidInputError, NotFoundError)


class AttachmentTagError(InvalidManifestError):
    """A cosign attachment tag that must not be deleted as it is (it points at the image itself, or is shared)."""

    default_hint = "another tool wrote this tag; inspect it with `supplychain tree` and remove it by hand"


class CleanIncompleteError(SupplyChainError):
    """A delete failed after planning: some attachments are gone, the failed one and the rest are not.

    Carries the exit code of the underlying error (an authentication failure stays 5, an unreachable or
    refusing registry 6).
    """

    def __init__(self, deleted: tuple[Deletion, ...], failed: Deletion, remaining: int, cause: SupplyChainError,
                 *, where: str) -> None:
        done = (f"deleted {len(deleted)} of {len(deleted) + 1 + remaining} attachments first" if deleted
                else "nothing was deleted")
        super().__init__(f"could not delete {failed.describe(where)}: {cause.message} ({done})",
                         hint=_delete_hint(cause))
        self.exit_code = cause.exit_code
        self.deleted = deleted
        self.failed = failed
        self.cause = cause


def _delete_hint(cause: SupplyChainError) -> str:
    if isinstance(cause, RegistryError):
        # CNCF distribution answers DELETE with 405 UNSUPPORTED unless deletes are enabled in its config.
        return ("the registry refused the delete: deletion is off by default in CNCF distribution (registry:2); "
                "enable it with storage.delete.enabled: true (REGISTRY_STORAGE_DELETE_ENABLED=true), or ask the "
                "registry's operator; then run clean again")
    return cause.hint or "fix the cause and run clean again: what is already deleted stays deleted"


def _tag_kinds(kind: AttachmentKind | None) -> tuple[AttachmentKind, ...]:
    """The cosign tags ``clean`` of ``kind`` looks at (all three for ``None``, "all"; none for ``OTHER``)."""
    return TAG_KINDS if kind is None else tuple(k for k in TAG_KINDS if k is kind)


@dataclass(frozen=True, slots=True)
class Deletion:
    """One manifest ``clean`` deletes: a cosign tag's manifest, a referrer, or a damaged referrers tag's."""

    digest: Digest
    tag: str | None = None  # the .sig/.att/.sbom tag, for a legacy attachment; the referrers tag if damaged
    artifact_type: str | None = None  # for a referrer
    damaged: str | None = None  # for a referrers tag that is not a readable index: what is wrong with it
    # A damaged referrers tag whose manifest is also the image, one of its platforms, or under another tag: the
    # tag is pointed at an empty referrers index instead, so that nothing else is deleted with it.
    reset: bool = False
    # The blobs the manifest names (config and layers, or an index's children), read while planning: a store
    # that keeps blobs after a delete (an OCI layout) removes those the clean left unreachable.
    blobs: tuple[Digest, ...] = ()

    def describe(self, repository: str) -> str:
        """``<repository>:<tag>`` or ``<repository>@<digest>`` (and the artifact type), for messages."""
        if self.damaged is not None:
            how = "; it is reset to an empty index, its manifest being in use elsewhere" if self.reset else ""
            return f"{repository}:{self.tag} (damaged referrers tag: {self.damaged}{how})"
        if self.tag is not None:
            return f"{repository}:{self.tag}"
        return f"{repository}@{self.digest}" + (f" ({self.artifact_type})" if self.artifact_type else "")


@dataclass(frozen=True, slots=True)
class LeftAlone:
    """A manifest a listing or a tag named for deletion that ``clean`` did not delete, and why (issue 7.1: the
    referrers tag and cosign's tags are written by anyone with push rights, so their word is not enough)."""

    digest: Digest
    reason: str
    tag: str | None = None

    def describe(self, repository: str) -> str:
        """``<repository>@<digest>`` (or ``:<tag>``) and the reason, for a warning line."""
        where = f"{repository}:{self.tag} ({self.digest})" if self.tag else f"{repository}@{self.digest}"
        return f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class CleanPlan:
    """What ``clean_attachments`` will delete, in order: a damaged referrers tag, referrers, then the tags.

    ``relist_referrers``: a damaged referrers tag kept the referrers from being listed; they are listed (and
    those of ``kind`` deleted) once it is removed. ``left_alone``: what a listing or tag named that is not
    provably an attachment of the subject of that kind (reported, never deleted).
    """

    subject: Digest
    kind: AttachmentKind | None  # None: every kind ("clean --type all")
    deletions: tuple[Deletion, ...]
    relist_referrers: bool = False
    left_alone: tuple[LeftAlone, ...] = ()


@dataclass(frozen=True, slots=True)
class CleanResult:
    """What was deleted (``already_gone``: deleted by someone else between planning and deleting).

    ``left_alone``: referrers listed only after a damaged referrers tag was removed that were not deleted (see
    ``LeftAlone``). ``reclaimed``: blobs the store removed because the clean left them unreachable (a layout).
    """

    deleted: tuple[Deletion, ...]
    already_gone: tuple[Deletion, ...] = ()
    left_alone: tuple[LeftAlone, ...] = ()
    reclaimed: tuple[Digest, ...] = ()


def plan_clean(store: ArtifactStore, subject: Digest, kind: AttachmentKind | None) -> CleanPlan:
    """Find what ``clean`` of ``kind`` (``None``: every kind) removes for ``subject`` (reads only).

    Order: referrers first, then tags. A referrer's delete also rewrites the subject's referrers tag on a
    registry without the referrers API (read, modify, put): the step most likely to fail, so it comes while the
    simple tag deletes are still undone. Refused (``AttachmentTagError``) before anything is deleted: a tag that
    points at the image itself, and an ``.sbom`` manifest that another image's ``.sbom`` tag shares (a legacy
    SBOM manifest has no subject, so the same SBOM attached to two images is one manifest; deleting it by
    digest would remove both).

    A referrers tag that is not a readable index (another tool pushed an image there) blocks every referrer
    read and write; it comes first, whatever ``kind``, and the referrers are listed after it is gone
    (``CleanPlan.relist_referrers``). Finding out whether its manifest is used elsewhere reads every tag.
    """
    damaged = damaged_referrers_tag(store, subject)
    located = locate(store, subject, referrers=damaged is None, tags=_tag_kinds(kind))
    if located.listing_error is not None:
        raise located.listing_error
    left_alone: list[LeftAlone] = []
    if damaged is None:
        deletions = _checked_referrers(store, located.referrers, subject, kind, left_alone)
    else:
        deletions = [Deletion(damaged.descriptor.digest, tag=damaged.tag, damaged=damaged.reason,
                              reset=_in_use(store, damaged.descriptor.digest, subject, damaged.tag))]
    seen = {d.digest for d in deletions if not d.reset}
    for found in located.tags:
        tag = found.tag or ""
        if found.descriptor.digest == subject:
            raise AttachmentTagError(f"{store.name}:{tag} points at the image {subject} itself: not deleted")
        _refuse_shared(store, found.descriptor.digest, tag, found.kind)
        if found.descriptor.digest not in seen:
            checked = _checked_tag(store, found.descriptor, tag, found.kind)
            if isinstance(checked, LeftAlone):
                left_alone.append(checked)
                continue
            seen.add(found.descriptor.digest)
            deletions.append(checked)
    return CleanPlan(subject, kind, tuple(deletions), relist_referrers=damaged is not None,
                     left_alone=tuple(left_alone))


def _checked_referrers(store: ArtifactStore, listed: Sequence[Attachment], subject: Digest,
                       kind: AttachmentKind | None, left_alone: list[LeftAlone]) -> list[Deletion]:
    """The listed referrers ``clean`` may delete: each one read, its ``subject`` exactly ``subject``, its kind
    ``kind``. The listing (a referrers tag anyone with push rights writes, or a registry's answer) only
    says where to look: what it names that fails a check goes to ``left_alone``.

    A descriptor whose listed kind is not ``kind`` is not even read: leaving it is always safe.
    """
    out: list[Deletion] = []
    for found in of_kind(listed, kind):
        checked = _checked_referrer(store, found.descriptor, subject, kind)
        if isinstance(checked, LeftAlone):
            left_alone.append(checked)
        else:
            out.append(checked)
    return out


def _checked_referrer(store: ArtifactStore, desc: Descriptor, subject: Digest, wanted: AttachmentKind | None
                      ) -> Deletion | LeftAlone:
    if desc.digest == subject:
        return LeftAlone(desc.digest, "the referrers listing names the image itself: not deleted")
    try:
        manifest = store.get_manifest(desc)
    except (*_DAMAGE, RecursionError) as exc:
        reason = exc.message if isinstance(exc, SupplyChainError) else "nested too deeply to read"
        return LeftAlone(desc.digest, f"listed as a referrer but could not be read ({reason}): not deleted")
    if manifest.subject is None or manifest.subject.digest != subject:
        named = "no subject" if manifest.subject is None else f"the subject {manifest.subject.digest}"
        return LeftAlone(desc.digest, f"listed as a referrer but the manifest has {named}, not {subject}: "
                                      "not deleted")
    own = manifest.descriptor()
    kind = kind_of(own)
    if wanted is not None and kind is not wanted:
        shown = "a " + kind.value if kind is not AttachmentKind.OTHER else "of artifact type " + repr(own.artifact_type)
        return LeftAlone(desc.digest, f"listed as a {wanted.value} but the manifest is {shown}: not deleted")
    return Deletion(desc.digest, artifact_type=own.artifact_type, blobs=_named_blobs(manifest))


_KIND_WORD = {AttachmentKind.SIGNATURE: "signature", AttachmentKind.ATTESTATION: "attestation",
              AttachmentKind.SBOM: "SBOM"}


def _checked_tag(store: ArtifactStore, found: Descriptor, tag: str, kind: AttachmentKind) -> Deletion | LeftAlone:
    """The manifest at cosign's ``kind`` tag, if it is one: read, an image manifest, and (when it has layers)
    holding a layer of ``kind``'s media types. Another image pushed at the tag is left alone."""
    try:
        manifest = store.get_manifest(found)
    except (*_DAMAGE, RecursionError) as exc:
        reason = exc.message if isinstance(exc, SupplyChainError) else "nested too deeply to read"
        return LeftAlone(found.digest, f"could not be read ({reason}): not deleted", tag=tag)
    if isinstance(manifest, Index):
        return LeftAlone(found.digest, f"holds an image index, not a cosign {_KIND_WORD[kind]}: not deleted", tag=tag)
    types = TAG_LAYER_TYPES[kind]
    if manifest.layers and not any(layer.media_type in types for layer in manifest.layers):
        shown = ", ".join(sorted({layer.media_type for layer in manifest.layers}))
        return LeftAlone(found.digest, f"has no {_KIND_WORD[kind]} layer (layers of {shown}): another image "
                                       "pushed at the tag, not deleted", tag=tag)
    return Deletion(found.digest, tag=tag, blobs=_named_blobs(manifest))


def _named_blobs(manifest: AnyManifest) -> tuple[Digest, ...]:
    if isinstance(manifest, Index):
        return tuple(child.digest for child in manifest.manifests)
    return (manifest.config.digest, *(layer.digest for layer in manifest.layers))


def _in_use(store: ArtifactStore, digest: Digest, subject: Digest, tag: str) -> bool:
    """Whether deleting manifest ``digest`` would take more than ``tag`` with it: it is the image, one of its
    platforms, or another tag's manifest."""
    if digest == subject:
        return True
    try:
        image = store.get_manifest(subject)
    except NotFoundError:
        image = None
    if isinstance(image, Index) and any(child.digest == digest for child in image.manifests):
        return True
    for other in store.tags():
        if other == tag:
            continue
        try:
            if store.resolve(other).digest == digest:
                return True
        except NotFoundError:
            continue  # deleted meanwhile
    return False


def _refuse_shared(store: ArtifactStore, digest: Digest, tag: str, kind: AttachmentKind) -> None:
    """Refuse a tag whose manifest another image's tag of the same kind also names: a legacy manifest has no
    subject, so the same SBOM attached to two images is one manifest, and anyone with push rights can point a
    ``.sig``/``.att`` tag at another image's; deleting it by digest would remove both."""
    for other in store.tags():
        parsed = parse_attachment_tag(other)
        if other == tag or parsed is None or parsed[1] is not kind:
            continue
        try:
            if store.resolve(other).digest == digest:
                raise AttachmentTagError(
                    f"{store.name}:{tag} is the same manifest as {other} (another image's {_KIND_WORD[kind]}): "
                    "not deleted",
                    hint=f"deleting it would remove that image's {_KIND_WORD[kind]} too; leave it, or re-attach "
                    "distinct ones",
                )
        except NotFoundError:
            continue  # deleted meanwhile


def clean_attachments(
    store: ArtifactStore,
    plan: CleanPlan,
    *,
    on_deleted: Callable[[Deletion], None] | None = None,
) -> CleanResult:
    """Delete what ``plan`` lists, in its order; ``on_deleted`` is told after each delete.

    A manifest already gone is skipped (cosign ignores a 404 too). Any other failure stops at once and raises
    ``CleanIncompleteError`` naming what was deleted before it; the failed one and those after it stay.
    Deleting a referrer also takes it out of the subject's referrers tag (``ArtifactStore.delete_manifest``).
    A damaged referrers tag is deleted (or reset to an empty index, ``Deletion.reset``), then, with
    ``plan.relist_referrers``, the referrers of the plan's type are listed and deleted before the tags.
    """
    deleted: list[Deletion] = []
    gone: list[Deletion] = []
    left_alone: list[LeftAlone] = []
    todo = list(plan.deletions)
    while todo:
        item = todo.pop(0)
        try:
            if item.reset and item.tag is not None:
                store.put_manifest(build_index([]), tag=item.tag)
            else:
                store.delete_manifest(item.digest)
        except NotFoundError:
            gone.append(item)
        except SupplyChainError as exc:
            raise CleanIncompleteError(tuple(deleted), item, len(todo), exc, where=store.name) from exc
        else:
            deleted.append(item)
            if on_deleted is not None:
                on_deleted(item)
        if item.damaged is not None and plan.relist_referrers:
            todo[:0] = _relisted(store, plan, todo, tuple(deleted), left_alone)
    return CleanResult(tuple(deleted), tuple(gone), tuple(left_alone), _reclaim(store, deleted))


def _relisted(store: ArtifactStore, plan: CleanPlan, todo: list[Deletion], deleted: tuple[Deletion, ...],
              left_alone: list[LeftAlone]) -> list[Deletion]:
    """The referrers of ``plan``'s type, listed now that the damaged referrers tag is gone (and checked as
    ``plan_clean`` checks them)."""
    try:
        located = locate(store, plan.subject, tags=())
        if located.listing_error is not None:
            raise located.listing_error
    except SupplyChainError as exc:
        listing = Deletion(plan.subject, artifact_type="its referrers, which could not be listed")
        raise CleanIncompleteError(deleted, listing, len(todo), exc, where=store.name) from exc
    planned = {d.digest for d in todo}
    fresh = [a for a in located.referrers if a.descriptor.digest not in planned]
    return _checked_referrers(store, fresh, plan.subject, plan.kind, left_alone)


def _reclaim(store: ArtifactStore, deleted: list[Deletion]) -> tuple[Digest, ...]:
    """Have a store that keeps blobs after a delete (``ReclaimsBlobs``: an OCI layout) remove the deleted
    manifests and the blobs they named, where nothing left reaches them (issue 8.19)."""
    if not deleted or not isinstance(store, ReclaimsBlobs):
        return ()
    candidates = {d.digest for d in deleted if not d.reset}
    for item in deleted:
        candidates.update(item.blobs)
    return tuple(store.remove_unreachable(candidates))
