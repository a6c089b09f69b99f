"""The one attachment locator: what is attached to one digest, what kind each is, and where it lives.

Store-agnostic (STYLE.md section 1): it receives an ``ArtifactStore``. Attachments live in four places:

- OCI 1.1 referrers (distribution spec 1.1 "Listing referrers"): manifests whose ``subject`` is the digest, found
  by the store's own index (a registry's referrers API, a layout's scan of ``index.json``: ``REFERRERS_API``) or
  by the referrers tag ``sha256-<hex>`` a client keeps where there is none (``REFERRERS_TAG``);
- cosign's tags ``sha256-<hex>.sig|.att|.sbom`` next to the image (SPECS.md "cosign, legacy tag scheme":
  ``COSIGN_TAG``);
- BuildKit's attestation manifests, entries of the image index (platform ``unknown/unknown``, annotations
  ``vnd.docker.reference.type: attestation-manifest`` and ``vnd.docker.reference.digest``: ``BUILDKIT``).

``locate`` reads descriptors only: the referrers listing (capped by the store while it streams: ``limits``
``MAX_REFERRERS``, ``SUPPLYCHAIN_MAX_REFERRERS``; a cut listing says so in ``Located.cut``) and the cosign tags
(resolved, or, with ``read_tags``, their manifests, refused over ``max_layers`` layers), so callers count what
they found against their own caps (``--max-signatures``) before any blob is read. Each attachment's kind comes
from its descriptor alone (``kind_of``), never from content a registry could make expensive to read.

A listing that cannot be read (a referrers tag another tool pushed an image at, a referrers API answering
garbage) is not the end: ``Located.listing_error`` keeps the error and, with ``diagnose``, ``Located.damaged``
says whether the referrers tag is what is broken (``damaged_referrers_tag``); the cosign tags are still looked
at. What to make of it (a problem line, a damaged node, an error) is the caller's: ``verify``, ``download``,
``clean``, ``triangulate`` and ``tree`` all locate through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from supplychain.digest import Digest
from supplychain.errors import IntegrityError, InvalidInputError, NotFoundError, SupplyChainError
from supplychain.formats import bundle as sigstore_bundle
from supplychain.formats.intoto import COSIGN_SIGN_PREDICATE
from supplychain.limits import MAX_LAYERS
from supplychain.oci.attachment import (
    BUNDLE_CONTENT_ANNOTATION,
    BUNDLE_CONTENT_MESSAGE_SIGNATURE,
    BUNDLE_PREDICATE_TYPE_ANNOTATION,
    TAG_KINDS,
    AttachmentKind,
    attachment_tag,
)
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import AnyManifest, Descriptor, Index, Manifest
from supplychain.oci.referrers import listed_by_tag, listing_cut, referrers_tag
from supplychain.oci.store import ArtifactStore, lacks_tag, read_concurrency
from supplychain.parallel import ordered_map

# What a damaged listing, tag or manifest raises while it is read (RecursionError: JSON nested too deeply for a
# reader below that does not refuse it itself). Network and authentication errors are not among them.
READ_ERRORS = (IntegrityError, InvalidInputError, NotFoundError, RecursionError)

# OCI 1.1 artifact types by kind: cosign v2's --registry-referrers-mode=oci-1-1 signature; in-toto/DSSE
# attestations; the SBOM formats cosign's `attach sbom` knows (SPECS.md) plus their artifact-type spellings.
SIGNATURE_ARTIFACT_TYPES = frozenset({"application/vnd.dev.cosign.artifact.sig.v1+json"})
ATTESTATION_ARTIFACT_TYPES = frozenset({MediaType.DSSE_ENVELOPE.value, "application/vnd.in-toto+json"})
SBOM_ARTIFACT_TYPES = frozenset({
    "application/vnd.dev.cosign.artifact.sbom.v1+json",
    "application/spdx+json",
    "text/spdx",
    "text/spdx+json",
    "application/vnd.cyclonedx",
    "application/vnd.cyclonedx+json",
    "application/vnd.cyclonedx+xml",
    "application/vnd.syft+json",
})
# Layer media types of cosign's attachment tags (SPECS.md "cosign, legacy tag scheme").
TAG_LAYER_TYPES = {
    AttachmentKind.SIGNATURE: frozenset({MediaType.COSIGN_SIMPLE_SIGNING.value}),
    AttachmentKind.ATTESTATION: ATTESTATION_ARTIFACT_TYPES,
    AttachmentKind.SBOM: SBOM_ARTIFACT_TYPES,
}
# BuildKit's annotations on an attestation manifest in an image index (docker/buildx docs, "Attestation storage").
BUILDKIT_REFERENCE_TYPE = "vnd.docker.reference.type"
BUILDKIT_REFERENCE_DIGEST = "vnd.docker.reference.digest"
BUILDKIT_ATTESTATION_MANIFEST = "attestation-manifest"


class Location(StrEnum):
    """Where an attachment lives."""

    REFERRERS_API = "referrers API"  # the store's own referrer index (a layout: its scan of index.json)
    REFERRERS_TAG = "referrers tag"
    COSIGN_TAG = "cosign tag"
    BUILDKIT = "BuildKit attestation manifest"


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attachment of a digest: its kind, where it lives, and its manifest's descriptor (for a referrer, the
    listing's: ``artifactType`` and annotations as listed)."""

    kind: AttachmentKind
    location: Location
    descriptor: Descriptor
    tag: str | None = None  # the cosign tag it is at
    # The cosign tag's manifest, read by ``locate(read_tags=True)``: its layers are the items (one per signature).
    manifest: Manifest | None = None

    @property
    def is_bundle(self) -> bool:
        """Whether it is a Sigstore bundle referrer (any version, either spelling)."""
        return is_bundle(self.descriptor)

    @property
    def layers(self) -> tuple[Descriptor, ...]:
        return () if self.manifest is None else self.manifest.layers


@dataclass(frozen=True, slots=True)
class DamagedTag:
    """A referrers tag that holds something other than a readable index: it blocks every referrer read and
    write (``referrers_in``)."""

    tag: str
    descriptor: Descriptor
    reason: str


@dataclass(frozen=True, slots=True)
class Located:
    """What ``locate`` found for ``subject``: referrers first (in listing order), then the cosign tags."""

    subject: Digest
    referrers: tuple[Attachment, ...] = ()
    tags: tuple[Attachment, ...] = ()
    buildkit: tuple[Attachment, ...] = ()
    cut: str | None = None  # the store cut the referrers listing at its cap: why, in words
    listing_error: Exception | None = None  # the referrers listing could not be read (none is in ``referrers``)
    damaged: DamagedTag | None = None  # with ``diagnose``: the referrers tag is what broke the listing
    # Cosign tags that exist but could not be used as read (``read_tags``): an index, too many layers, unreadable.
    problems: tuple[str, ...] = ()

    @property
    def attachments(self) -> tuple[Attachment, ...]:
        return (*self.referrers, *self.tags, *self.buildkit)

    def tag(self, kind: AttachmentKind) -> Attachment | None:
        """The cosign tag attachment of ``kind``, if it exists (and was usable)."""
        return next((a for a in self.tags if a.kind is kind), None)


def locate(
    store: ArtifactStore,
    subject: Digest,
    *,
    referrers: bool = True,
    artifact_type: str | None = None,
    tags: Sequence[AttachmentKind] = TAG_KINDS,
    read_tags: bool = False,
    max_layers: int = MAX_LAYERS,
    diagnose: bool = False,
    index: Index | None = None,
    workers: int | None = None,
) -> Located:
    """Find the attachments of ``subject`` in ``store`` (see the module docstring); nothing but descriptors and,
    with ``read_tags``, the cosign tags' manifests is read.

    ``artifact_type`` is handed to the store's listing (a registry asks its API for that type only). ``tags``:
    the cosign tags to look at; one the store knows is absent (``oci.store.KnowsTags``: a registry's tag listing
    for the run) is not asked for. ``index``: the image index holding ``subject``, to look for BuildKit attestation
    manifests of it. The listing and the tag lookups are independent: up to ``workers`` of them run at once (default:
    the store's ``read_concurrency``; a caller that already runs many ``locate`` at once passes 1). Errors other than
    ``READ_ERRORS`` (network, authentication) propagate: the first in this order, listing then tags.
    """
    wanted = [kind for kind in tags if not lacks_tag(store, attachment_tag(subject, kind))]
    jobs: list[AttachmentKind | None] = [None, *wanted] if referrers else [*wanted]  # None: the referrers listing

    def lookup(job: AttachmentKind | None) -> _Listing | tuple[Attachment | None, str | None]:
        return _listing(store, subject, artifact_type, diagnose) if job is None else \
            _tag(store, subject, job, read_tags, max_layers)

    listing, tagged, problems = _Listing(), [], []
    for answer in ordered_map(lookup, jobs, read_concurrency(store) if workers is None else workers):
        if isinstance(answer, _Listing):
            listing = answer
            continue
        found, problem = answer
        if found is not None:
            tagged.append(found)
        if problem is not None:
            problems.append(problem)
    attestations = buildkit_attestations(index, subject) if index is not None else ()
    return Located(subject, listing.found, tuple(tagged), attestations, listing.cut, listing.error, listing.damaged,
                   tuple(problems))


@dataclass(frozen=True, slots=True)
class _Listing:
    found: tuple[Attachment, ...] = ()
    cut: str | None = None
    error: Exception | None = None
    damaged: DamagedTag | None = None


def _listing(store: ArtifactStore, subject: Digest, artifact_type: str | None, diagnose: bool) -> _Listing:
    try:
        # Asked exactly as each caller did before (a store may take no artifact type argument at all).
        listing = store.referrers(subject) if artifact_type is None else store.referrers(subject, artifact_type)
    except READ_ERRORS as exc:
        return _Listing(error=exc, damaged=damaged_referrers_tag(store, subject) if diagnose else None)
    by_tag = listed_by_tag(listing)
    found = tuple(
        Attachment(kind_of(d), Location.REFERRERS_TAG if d.digest in by_tag else Location.REFERRERS_API, d)
        for d in listing
    )
    return _Listing(found, listing_cut(listing))


def _tag(store: ArtifactStore, subject: Digest, kind: AttachmentKind, read: bool, max_layers: int
         ) -> tuple[Attachment | None, str | None]:
    """The cosign tag of ``kind``, if it exists, or why it could not be used."""
    tag = attachment_tag(subject, kind)
    if not read:
        try:
            return Attachment(kind, Location.COSIGN_TAG, store.resolve(tag), tag), None
        except NotFoundError:
            return None, None
    try:
        manifest = store.get_manifest(tag)  # one request: the tag's manifest is what a reader needs
    except NotFoundError:
        return None, None
    except READ_ERRORS as exc:
        return None, f"{tag}: {describe(exc)}"
    if not isinstance(manifest, Manifest):
        return None, f"{tag} holds an image index, not a {_TAG_WORD[kind]} manifest: ignored"
    if len(manifest.layers) > max_layers:
        return None, f"{tag} has {len(manifest.layers)} layers, over the limit of {max_layers}: ignored"
    return Attachment(kind, Location.COSIGN_TAG, manifest.descriptor(), tag, manifest), None


_TAG_WORD = {AttachmentKind.SIGNATURE: "signature", AttachmentKind.ATTESTATION: "attestation",
             AttachmentKind.SBOM: "SBOM"}


def damaged_referrers_tag(store: ArtifactStore, subject: Digest) -> DamagedTag | None:
    """The referrers tag of ``subject`` when it holds something other than a readable index, else ``None``
    (absent, or a good index: then a failed listing failed elsewhere, e.g. in a referrers API answer)."""
    tag = referrers_tag(subject)
    if lacks_tag(store, tag):
        return None
    try:
        found = store.resolve(tag)
    except NotFoundError:
        return None
    try:
        content = store.get_manifest(found)
    except (InvalidInputError, IntegrityError, RecursionError) as exc:
        return DamagedTag(tag, found, describe(exc))
    if isinstance(content, Index):
        return None
    return DamagedTag(tag, found, "an image manifest, not an index")


def buildkit_attestations(index: AnyManifest, subject: Digest | None) -> tuple[Attachment, ...]:
    """BuildKit's attestation manifests of ``subject`` (``None``: of any of the index's images) among the entries
    of ``index`` (its SBOM and SLSA provenance: in-toto statements as layers)."""
    if not isinstance(index, Index):
        return ()
    return tuple(
        Attachment(AttachmentKind.ATTESTATION, Location.BUILDKIT, entry)
        for entry in index.manifests
        if entry.annotations.get(BUILDKIT_REFERENCE_TYPE) == BUILDKIT_ATTESTATION_MANIFEST
        and (subject is None or entry.annotations.get(BUILDKIT_REFERENCE_DIGEST) == str(subject))
    )


def is_bundle(desc: Descriptor) -> bool:
    """Whether ``desc`` (a referrer as listed) is a Sigstore bundle, by its artifact type."""
    return desc.artifact_type in sigstore_bundle.MEDIA_TYPES


def kind_of(desc: Descriptor) -> AttachmentKind:
    """The kind of a referrer from its descriptor alone (no read); ``OTHER`` when it is none of ours.

    A Sigstore bundle is a signature when it holds a message signature or the statement cosign v3 signs
    (predicateType ``https://sigstore.dev/cosign/sign/v1``, or none named, as ``verify`` reads it), else an
    attestation. Notation signatures and other tools' artifacts are ``OTHER``.
    """
    artifact_type = desc.artifact_type or ""
    if is_bundle(desc):
        predicate = desc.annotations.get(BUNDLE_PREDICATE_TYPE_ANNOTATION)
        content = desc.annotations.get(BUNDLE_CONTENT_ANNOTATION)
        if content == BUNDLE_CONTENT_MESSAGE_SIGNATURE or predicate in (None, COSIGN_SIGN_PREDICATE):
            return AttachmentKind.SIGNATURE
        return AttachmentKind.ATTESTATION
    if artifact_type in SIGNATURE_ARTIFACT_TYPES:
        return AttachmentKind.SIGNATURE
    if artifact_type in ATTESTATION_ARTIFACT_TYPES:
        return AttachmentKind.ATTESTATION
    if artifact_type in SBOM_ARTIFACT_TYPES:
        return AttachmentKind.SBOM
    return AttachmentKind.OTHER


def of_kind(attachments: Iterable[Attachment], kind: AttachmentKind | None) -> list[Attachment]:
    """``attachments`` of ``kind`` (all when ``None``)."""
    return [a for a in attachments if kind is None or a.kind is kind]


def describe(exc: BaseException) -> str:
    """A read failure in words (``RecursionError`` speaks of the interpreter, not of the document)."""
    if isinstance(exc, RecursionError):
        return "the document nests JSON arrays and objects too deeply to read"
    if isinstance(exc, SupplyChainError):
        return exc.message
    return str(exc)
