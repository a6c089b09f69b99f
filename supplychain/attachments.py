"""What is attached to one image digest, where it lives, and how to remove it: ``download signature``,
``triangulate`` and ``clean`` (cosign's commands of those names).

Store-agnostic (STYLE.md section 1): every function receives an ``ArtifactStore`` and a digest resolved once by
the caller. Attachments live in two places (SPECS.md "cosign, legacy tag scheme" and "cosign v3"): cosign's tags
``sha256-<hex>.sig|.att|.sbom`` next to the image, and OCI 1.1 referrers (API or referrers tag) whose ``subject`` is
the image. Every function looks at both.

- ``download_signatures``: each signature as cosign's ``download signature`` prints it. cosign v3 prints the
  Sigstore bundles of the referrers when there are any, else the legacy ``.sig`` layers; we return both (bundles
  first), so a broken or hostile referrer cannot hide a legacy signature, and vice versa (as ``verify`` reads both).
- ``triangulate``: the full reference of the ``.sig``/``.att``/``.sbom`` tag (cosign prints it whether or not the tag
  exists), or the references of the bundle referrers, which have no tag.
- ``plan_clean`` then ``clean_attachments``: delete the tags' manifests and the referrers of a kind. Planning only
  reads, so the caller can show the plan and ask before anything is deleted. A damaged referrers tag (not an
  index: it blocks every referrer read and write) is removed first, whatever the kind, and the referrers it hid
  are listed and deleted after it.

``COSIGN_REPOSITORY`` (attachments kept in another repository) is not supported here, as in ``sign``/``verify``:
attachments are looked for in the image's own repository.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, assert_never

from supplychain.digest import Digest
from supplychain.errors import (
    IntegrityError,
    InvalidInputError,
    InvalidManifestError,
    NotFoundError,
    RegistryError,
    SizeLimitError,
    SupplyChainError,
)
from supplychain.formats.rekor import REKOR_BUNDLE_ANNOTATION, EntryFormatError, cosign_bundle_document
from supplychain.limits import MAX_MANIFEST_BYTES, MAX_SIGNATURE_BYTES
from supplychain.oci.attachment import (
    AttachmentKind,
    attachment_location,
    attachment_repository,
    attachment_tag,
    parse_attachment_tag,
)
from supplychain.oci.model import AnyManifest, Descriptor, Index, Manifest, build_index
from supplychain.oci.referrers import referrers_tag
from supplychain.oci.store import ArtifactStore, ReclaimsBlobs
from supplychain.reference import AnyReference
from supplychain.signing import gojson, legacy
from supplychain.signing.bundle import (
    CONTENT_ANNOTATION,
    PREDICATE_TYPE_ANNOTATION,
    parse_bundle,
)
from supplychain.signing.error import InvalidPayloadError
from supplychain.signing.statement import COSIGN_SIGN_PREDICATE

# cosign's maxAllowedSigsOrAtts (pkg/cosign/fetch.go): more signatures than this on one image is refused.
DEFAULT_MAX_SIGNATURES = 100
# Sigstore bundle media types (protobuf-specs Bundle.media_type), both spellings, versions 0.1 to 0.3.
_BUNDLE_TYPE_PREFIX = "application/vnd.dev.sigstore.bundle"
# What a damaged attachment raises while it is read: it becomes a problem, not the end of the command.
_DAMAGE = (IntegrityError, InvalidInputError, NotFoundError)

# OCI 1.1 artifact types by kind. cosign v2's --registry-referrers-mode=oci-1-1 signature; in-toto/DSSE
# attestations; the SBOM formats cosign's `attach sbom` knows (SPECS.md) plus their artifact-type spellings.
SIGNATURE_ARTIFACT_TYPES = frozenset({"application/vnd.dev.cosign.artifact.sig.v1+json"})
ATTESTATION_ARTIFACT_TYPES = frozenset({"application/vnd.dsse.envelope.v1+json", "application/vnd.in-toto+json"})
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
_CONTENT_MESSAGE_SIGNATURE = "message-signature"


class NoSignaturesError(NotFoundError):
    """An image with no signature attached (cosign: "no signatures associated with <ref>")."""

    default_hint = "sign it (supplychain sign) or attach one (supplychain attach signature); `supplychain tree` " \
        "shows what is attached"


class TooManySignaturesError(SizeLimitError):
    """More signatures than the cap: none is read (cosign's limit is 100)."""

    default_hint = "raise --max-signatures if you trust the repository, or remove old ones (supplychain clean)"


class UnreadableSignaturesError(IntegrityError):
    """Signatures were found, and none of them could be read."""

    default_hint = "inspect them with `supplychain tree`; remove damaged ones with `supplychain clean`"


class NoBundlesError(NotFoundError):
    """``triangulate --type bundle`` on an image without Sigstore bundle referrers."""

    default_hint = "bundles are written by `sign --format bundle` (cosign v3); legacy signatures live at the " \
        "tag `triangulate --type signature` prints"


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


# -- names ------------------------------------------------------------------------------------------


def repository_name(reference: AnyReference) -> str:
    """How attachment locations are spelled for ``reference``'s repository: cosign's ``registry/repository``
    (Docker Hub as ``index.docker.io``, go-containerregistry's ``Name()``), or ``oci:PATH`` for a layout
    (``oci.attachment.attachment_repository``)."""
    return attachment_repository(reference)


class TriangulateType(StrEnum):
    """What ``triangulate`` locates."""

    SIGNATURE = "signature"
    ATTESTATION = "attestation"
    SBOM = "sbom"
    BUNDLE = "bundle"  # Sigstore bundle referrers (cosign v3): no tag, listed by digest


def triangulate(store: ArtifactStore, subject: Digest, kind: TriangulateType, *, repository: str) -> tuple[str, ...]:
    """Where ``kind`` attachments of ``subject`` live, as full references under ``repository``.

    For a legacy kind that is the one tag cosign would read or write (``<repository>:sha256-<hex>.sig``), whether or
    not it exists (cosign ``triangulate`` does not check either). For ``BUNDLE``, ``<repository>@<digest>`` of each
    Sigstore bundle referrer; none is ``NoBundlesError``.
    """
    match kind:
        case TriangulateType.SIGNATURE:
            return (attachment_location(repository, subject, AttachmentKind.SIGNATURE),)
        case TriangulateType.ATTESTATION:
            return (attachment_location(repository, subject, AttachmentKind.ATTESTATION),)
        case TriangulateType.SBOM:
            return (attachment_location(repository, subject, AttachmentKind.SBOM),)
        case TriangulateType.BUNDLE:
            found = [d for d in store.referrers(subject) if _is_bundle(d)]
            if not found:
                raise NoBundlesError(f"no Sigstore bundle referrers for {subject} in {store.name}")
            return tuple(f"{repository}@{d.digest}" for d in found)
        case _:
            assert_never(kind)


# -- download signature -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Certificate:
    """An X.509 certificate, with the parts Go's ``x509.Certificate`` exposes as raw bytes and plain values."""

    raw: bytes
    raw_tbs_certificate: bytes
    raw_subject_public_key_info: bytes
    raw_subject: bytes
    raw_issuer: bytes
    signature: bytes
    version: int  # as Go counts it: 3 for an X.509 v3 certificate
    serial_number: int
    not_before: datetime
    not_after: datetime


@dataclass(frozen=True, slots=True)
class LegacySignature:
    """One layer of the ``.sig`` manifest: cosign v2's ``SignedPayload``."""

    location: str
    base64_signature: str  # the annotation value, as stored
    payload: bytes
    certificate: Certificate | None = None
    chain: tuple[Certificate, ...] | None = None
    rekor_bundle: Mapping[str, Any] | None = None  # cosign's RekorBundle, fields in its order
    rfc3161_timestamp: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class BundleSignature:
    """A Sigstore bundle referrer (cosign v3): the bundle document as stored."""

    location: str
    digest: Digest  # the referrer manifest
    bundle: Mapping[str, Any]


DownloadedSignature = LegacySignature | BundleSignature


@dataclass(frozen=True, slots=True)
class SignatureDownload:
    """Every readable signature of one digest (bundles first), and what could not be read."""

    subject: Digest
    signatures: tuple[DownloadedSignature, ...]
    problems: tuple[str, ...] = ()


def download_signatures(
    store: ArtifactStore,
    subject: Digest,
    *,
    max_signatures: int = DEFAULT_MAX_SIGNATURES,
    max_signature_bytes: int = MAX_SIGNATURE_BYTES,
) -> SignatureDownload:
    """Read the signatures of ``subject``: signature bundle referrers, then the ``.sig`` layers.

    Counted before any blob is read (``TooManySignaturesError`` over ``max_signatures``). A damaged signature
    (missing blob, digest mismatch, bad annotation) becomes a problem and the others are still returned. None
    at all is ``NoSignaturesError``; some, none readable, ``UnreadableSignaturesError``. Network and
    authentication errors propagate.
    """
    problems: list[str] = []
    try:
        found = store.referrers(subject)
    except _DAMAGE as exc:  # e.g. a referrers tag that is not an index: the .sig tag may still be fine
        problems.append(f"referrers of {subject}: {exc}")
        found = []
    referrers = [d for d in found if _is_bundle(d) and _referrer_kind(d) is CleanType.SIGNATURE]
    tag = attachment_tag(subject, AttachmentKind.SIGNATURE)
    layers = _signature_layers(store, tag, problems)
    total = len(referrers) + len(layers)
    if total > max_signatures:
        raise TooManySignaturesError(
            f"{subject} has {total} signatures ({len(layers)} in {tag}, {len(referrers)} referrers), more than "
            f"the limit of {max_signatures}: none was read"
        )
    out: list[DownloadedSignature] = []
    for desc in referrers:
        try:
            out.append(_read_bundle(store, desc, max_signature_bytes))
        except _DAMAGE as exc:
            problems.append(f"referrer {desc.digest}: {exc}")
    for i, layer in enumerate(layers):
        try:
            out.append(_read_legacy(store, f"{tag} layer {i}", layer, max_signature_bytes))
        except _DAMAGE as exc:
            problems.append(f"{tag} layer {i}: {exc}")
    if not out:
        if problems:
            raise UnreadableSignaturesError(
                f"no readable signature for {subject} in {store.name}: {problems[0]}"
                + (f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else "")
            )
        raise NoSignaturesError(f"no signatures associated with {store.name}@{subject}")
    return SignatureDownload(subject, tuple(out), tuple(problems))


def _signature_layers(store: ArtifactStore, tag: str, problems: list[str]) -> list[Descriptor]:
    try:
        found = store.get_manifest(tag)
    except NotFoundError:
        return []
    except (IntegrityError, InvalidInputError) as exc:
        problems.append(f"{tag}: {exc}")
        return []
    if not isinstance(found, Manifest):
        problems.append(f"{tag} holds an image index, not a signature manifest: ignored")
        return []
    return list(found.layers)


def _read_bundle(store: ArtifactStore, desc: Descriptor, cap: int) -> BundleSignature:
    location = f"referrer {desc.digest}"
    if desc.size > MAX_MANIFEST_BYTES:
        raise SizeLimitError(f"the manifest declares {desc.size} bytes, over the {MAX_MANIFEST_BYTES}-byte limit")
    manifest = store.get_manifest(desc)
    if not isinstance(manifest, Manifest):
        raise InvalidManifestError("expected an image manifest holding a bundle, got an image index")
    layer = next((la for la in manifest.layers if la.media_type.startswith(_BUNDLE_TYPE_PREFIX)), None)
    if layer is None:
        raise InvalidManifestError("expected a Sigstore bundle layer, got none")
    data = store.get_blob(layer, limit=cap)
    parse_bundle(data)  # refuse what is not a bundle (the document is shown as stored, not as parsed)
    document = gojson.decode_strict(data)
    return BundleSignature(location, desc.digest, document)


def _read_legacy(store: ArtifactStore, location: str, layer: Descriptor, cap: int) -> LegacySignature:
    annotations = layer.annotations
    value = annotations.get(legacy.SIGNATURE_ANNOTATION)
    if value is None:
        # cosign v2 fails the same way (its Base64Signature accessor).
        raise InvalidPayloadError(f"missing the {legacy.SIGNATURE_ANNOTATION} annotation")
    payload = store.get_blob(layer, limit=cap)
    certificate = legacy.annotation_value(annotations, legacy.CERTIFICATE_ANNOTATIONS)
    chain = legacy.annotation_value(annotations, legacy.CHAIN_ANNOTATIONS)
    rekor = legacy.annotation_value(annotations, (REKOR_BUNDLE_ANNOTATION,))
    stamp = legacy.annotation_value(annotations, (legacy.TIMESTAMP_ANNOTATION,))
    certificates = parse_pem_certificates(certificate, "certificate") if certificate is not None else None
    return LegacySignature(
        location,
        value,
        payload,
        certificates[0] if certificates else None,
        parse_pem_certificates(chain, "chain") if chain is not None else None,
        _rekor_bundle(rekor) if rekor is not None else None,
        _timestamp(stamp) if stamp is not None else None,
    )


def parse_pem_certificates(text: str, what: str) -> tuple[Certificate, ...]:
    """Every ``CERTIFICATE`` block of PEM ``text`` (other blocks are skipped, as cosign's ``LoadCerts`` does)."""
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509

    out = []
    try:
        for kind, _, der in pem.unarmor(text.encode("utf-8"), multiple=True):
            if kind != "CERTIFICATE":
                continue
            cert = asn1_x509.Certificate.load(der, strict=True)
            tbs = cert["tbs_certificate"]
            validity = tbs["validity"]
            out.append(Certificate(
                raw=der,
                raw_tbs_certificate=tbs.dump(),
                raw_subject_public_key_info=tbs["subject_public_key_info"].dump(),
                raw_subject=tbs["subject"].dump(),
                raw_issuer=tbs["issuer"].dump(),
                signature=cert["signature_value"].native,
                version=int(str(tbs["version"].native).removeprefix("v")),
                serial_number=tbs["serial_number"].native,
                not_before=validity["not_before"].native.astimezone(UTC),
                not_after=validity["not_after"].native.astimezone(UTC),
            ))
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidPayloadError(f"the {what} annotation is not a PEM certificate: {exc}") from exc
    if not out:
        raise InvalidPayloadError(f"the {what} annotation holds no PEM certificate")
    return tuple(out)


def _rekor_bundle(text: str) -> dict[str, Any]:
    """cosign's ``RekorBundle`` as Go re-marshals it (``formats.rekor.cosign_bundle_document``)."""
    try:
        return cosign_bundle_document(text)
    except EntryFormatError as exc:
        raise InvalidPayloadError(exc.message) from exc


def _timestamp(text: str) -> dict[str, Any]:
    """cosign's ``RFC3161Timestamp``: ``{"SignedRFC3161Timestamp": base64}``."""
    doc = _json_object(text, "RFC 3161 timestamp")
    return {"SignedRFC3161Timestamp": _base64_field(doc.get("SignedRFC3161Timestamp", ""),
                                                    "SignedRFC3161Timestamp")}


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        doc = gojson.decode_strict(text.encode("utf-8"))
    except ValueError as exc:
        raise InvalidPayloadError(f"the {what} annotation is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise InvalidPayloadError(f"the {what} annotation is not a JSON object")
    return doc


def _base64_field(value: Any, what: str) -> str:
    """A Go ``[]byte``/``strfmt.Base64`` field: decoded and re-encoded (standard, padded), as Go round-trips it."""
    if not isinstance(value, str):
        raise InvalidPayloadError(f"{what} is not a base64 string")
    try:
        return base64.b64encode(base64.b64decode(value, validate=True)).decode("ascii")
    except binascii.Error as exc:
        raise InvalidPayloadError(f"{what} is not valid base64") from exc


# -- clean ------------------------------------------------------------------------------------------


class CleanType(StrEnum):
    """What ``clean`` removes (cosign ``clean --type``)."""

    SIGNATURE = "signature"  # the .sig tag, signature bundles, cosign v2 signature referrers
    ATTESTATION = "attestation"  # the .att tag, attestation bundles, in-toto/DSSE referrers
    SBOM = "sbom"  # the .sbom tag, SBOM referrers
    ALL = "all"  # the three tags and every referrer, whatever its type


_TAG_KINDS = {
    CleanType.SIGNATURE: (AttachmentKind.SIGNATURE,),
    CleanType.ATTESTATION: (AttachmentKind.ATTESTATION,),
    CleanType.SBOM: (AttachmentKind.SBOM,),
    CleanType.ALL: (AttachmentKind.SIGNATURE, AttachmentKind.ATTESTATION, AttachmentKind.SBOM),
}


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
    those of ``clean_type`` deleted) once it is removed. ``left_alone``: what a listing or tag named that is not
    provably an attachment of the subject of that kind (reported, never deleted).
    """

    subject: Digest
    clean_type: CleanType
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


def plan_clean(store: ArtifactStore, subject: Digest, clean_type: CleanType) -> CleanPlan:
    """Find what ``clean_type`` removes for ``subject`` (reads only).

    Order: referrers first, then tags. A referrer's delete also rewrites the subject's referrers tag on a
    registry without the referrers API (read, modify, put): the step most likely to fail, so it comes while the
    simple tag deletes are still undone. Refused (``AttachmentTagError``) before anything is deleted: a tag that
    points at the image itself, and an ``.sbom`` manifest that another image's ``.sbom`` tag shares (a legacy
    SBOM manifest has no subject, so the same SBOM attached to two images is one manifest; deleting it by
    digest would remove both).

    A referrers tag that is not a readable index (another tool pushed an image there) blocks every referrer
    read and write; it comes first, whatever ``clean_type``, and the referrers are listed after it is gone
    (``CleanPlan.relist_referrers``). Finding out whether its manifest is used elsewhere reads every tag.
    """
    damaged = _damaged_referrers_tag(store, subject)
    deletions: list[Deletion] = []
    left_alone: list[LeftAlone] = []
    if damaged is None:
        deletions = _checked_referrers(store, store.referrers(subject), subject, clean_type, left_alone)
    else:
        deletions = [damaged]
    seen = {d.digest for d in deletions if not d.reset}
    for kind in _TAG_KINDS[clean_type]:
        tag = attachment_tag(subject, kind)
        try:
            found = store.resolve(tag)
        except NotFoundError:
            continue
        if found.digest == subject:
            raise AttachmentTagError(f"{store.name}:{tag} points at the image {subject} itself: not deleted")
        _refuse_shared(store, found.digest, tag, kind)
        if found.digest not in seen:
            checked = _checked_tag(store, found, tag, kind)
            if isinstance(checked, LeftAlone):
                left_alone.append(checked)
                continue
            seen.add(found.digest)
            deletions.append(checked)
    return CleanPlan(subject, clean_type, tuple(deletions), relist_referrers=damaged is not None,
                     left_alone=tuple(left_alone))


def _of_type(referrers: list[Descriptor], clean_type: CleanType) -> list[Descriptor]:
    return [d for d in referrers if clean_type is CleanType.ALL or _referrer_kind(d) is clean_type]


def _checked_referrers(store: ArtifactStore, listed: list[Descriptor], subject: Digest, clean_type: CleanType,
                       left_alone: list[LeftAlone]) -> list[Deletion]:
    """The listed referrers ``clean`` may delete: each one read, its ``subject`` exactly ``subject``, its kind
    ``clean_type``. The listing (a referrers tag anyone with push rights writes, or a registry's answer) only
    says where to look: what it names that fails a check goes to ``left_alone``.

    A descriptor whose listed kind is not ``clean_type`` is not even read: leaving it is always safe.
    """
    out: list[Deletion] = []
    for desc in _of_type(listed, clean_type):
        checked = _checked_referrer(store, desc, subject, clean_type)
        if isinstance(checked, LeftAlone):
            left_alone.append(checked)
        else:
            out.append(checked)
    return out


def _checked_referrer(store: ArtifactStore, desc: Descriptor, subject: Digest, clean_type: CleanType
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
    kind = _referrer_kind(own)
    if clean_type is not CleanType.ALL and kind is not clean_type:
        return LeftAlone(desc.digest, f"listed as a {clean_type.value} but the manifest is "
                                      f"{'a ' + kind.value if kind else 'of artifact type ' + repr(own.artifact_type)}:"
                                      " not deleted")
    return Deletion(desc.digest, artifact_type=own.artifact_type, blobs=_named_blobs(manifest))


# Layer media types of cosign's attachment tags (SPECS.md "cosign, legacy tag scheme").
_KIND_WORD = {AttachmentKind.SIGNATURE: "signature", AttachmentKind.ATTESTATION: "attestation",
              AttachmentKind.SBOM: "SBOM"}
_TAG_LAYER_TYPES = {
    AttachmentKind.SIGNATURE: frozenset({legacy.SIMPLE_SIGNING_MEDIA_TYPE}),
    AttachmentKind.ATTESTATION: ATTESTATION_ARTIFACT_TYPES,
    AttachmentKind.SBOM: SBOM_ARTIFACT_TYPES,
}


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
    types = _TAG_LAYER_TYPES[kind]
    if manifest.layers and not any(layer.media_type in types for layer in manifest.layers):
        shown = ", ".join(sorted({layer.media_type for layer in manifest.layers}))
        return LeftAlone(found.digest, f"has no {_KIND_WORD[kind]} layer (layers of {shown}): another image "
                                       "pushed at the tag, not deleted", tag=tag)
    return Deletion(found.digest, tag=tag, blobs=_named_blobs(manifest))


def _named_blobs(manifest: AnyManifest) -> tuple[Digest, ...]:
    if isinstance(manifest, Index):
        return tuple(child.digest for child in manifest.manifests)
    return (manifest.config.digest, *(layer.digest for layer in manifest.layers))


def _damaged_referrers_tag(store: ArtifactStore, subject: Digest) -> Deletion | None:
    """The referrers tag of ``subject`` when it holds something other than a readable index, else ``None``."""
    tag = referrers_tag(subject)
    try:
        found = store.resolve(tag)
    except NotFoundError:
        return None
    try:
        content = store.get_manifest(found)
    except (InvalidInputError, IntegrityError) as exc:
        reason = exc.message
    else:
        if isinstance(content, Index):
            return None
        reason = "an image manifest, not an index"
    return Deletion(found.digest, tag=tag, damaged=reason, reset=_in_use(store, found.digest, subject, tag))


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
        found = store.referrers(plan.subject)
    except SupplyChainError as exc:
        listing = Deletion(plan.subject, artifact_type="its referrers, which could not be listed")
        raise CleanIncompleteError(deleted, listing, len(todo), exc, where=store.name) from exc
    planned = {d.digest for d in todo}
    fresh = [d for d in found if d.digest not in planned]
    return _checked_referrers(store, fresh, plan.subject, plan.clean_type, left_alone)


def _reclaim(store: ArtifactStore, deleted: list[Deletion]) -> tuple[Digest, ...]:
    """Have a store that keeps blobs after a delete (``ReclaimsBlobs``: an OCI layout) remove the deleted
    manifests and the blobs they named, where nothing left reaches them (issue 8.19)."""
    if not deleted or not isinstance(store, ReclaimsBlobs):
        return ()
    candidates = {d.digest for d in deleted if not d.reset}
    for item in deleted:
        candidates.update(item.blobs)
    return tuple(store.remove_unreachable(candidates))


# -- referrer kinds ---------------------------------------------------------------------------------


def _is_bundle(desc: Descriptor) -> bool:
    return (desc.artifact_type or "").startswith(_BUNDLE_TYPE_PREFIX)


def _referrer_kind(desc: Descriptor) -> CleanType | None:
    """The kind of a referrer, from its descriptor alone (no read): ``None`` when it is none of ours.

    A Sigstore bundle is a signature when it holds a message signature or the statement cosign v3 signs
    (predicateType ``https://sigstore.dev/cosign/sign/v1``, or none named, as ``verify`` reads it), else an
    attestation. Notation signatures and other tools' artifacts are left to ``--type all``.
    """
    artifact_type = desc.artifact_type or ""
    if _is_bundle(desc):
        predicate = desc.annotations.get(PREDICATE_TYPE_ANNOTATION)
        content = desc.annotations.get(CONTENT_ANNOTATION)
        if content == _CONTENT_MESSAGE_SIGNATURE or predicate in (None, COSIGN_SIGN_PREDICATE):
            return CleanType.SIGNATURE
        return CleanType.ATTESTATION
    if artifact_type in SIGNATURE_ARTIFACT_TYPES:
        return CleanType.SIGNATURE
    if artifact_type in ATTESTATION_ARTIFACT_TYPES:
        return CleanType.ATTESTATION
    if artifact_type in SBOM_ARTIFACT_TYPES:
        return CleanType.SBOM
    return None
