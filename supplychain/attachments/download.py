"""``download signature`` and ``download attestation``: every signature (attestation) attached to one digest, as
cosign's commands of those names print them.

cosign v3 prints the Sigstore bundles of the referrers when there are any, else the legacy ``.sig`` layers; we
return both (bundles first), so a broken or hostile referrer cannot hide a legacy signature, and vice versa (as
``verify`` reads both). Where they are is ``oci.locate``'s answer; they are counted before any blob is read.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from supplychain.digest import Digest
from supplychain.errors import (
    IntegrityError,
    InvalidInputError,
    InvalidManifestError,
    NotFoundError,
    SizeLimitError,
)
from supplychain.formats import gojson
from supplychain.formats.bundle import MEDIA_TYPES, Bundle
from supplychain.formats.dsse import ENVELOPE_MEDIA_TYPE, IN_TOTO_PAYLOAD_TYPE, Envelope, parse_envelope
from supplychain.formats.error import InvalidPayloadError
from supplychain.formats.intoto import COSIGN_SIGN_PREDICATE, parse_statement
from supplychain.formats.rekor import REKOR_BUNDLE_ANNOTATION, EntryFormatError, cosign_bundle_document
from supplychain.limits import DEFAULT_MAX_SIGNATURES, MAX_MANIFEST_BYTES, MAX_SIGNATURE_BYTES
from supplychain.oci.attachment import BUNDLE_PREDICATE_TYPE_ANNOTATION, AttachmentKind, attachment_tag
from supplychain.oci.locate import buildkit_attestations, describe, locate
from supplychain.oci.model import AnyManifest, Descriptor, Manifest
from supplychain.oci.store import ArtifactStore
from supplychain.signing import legacy

# What a damaged attachment raises while it is read: it becomes a problem, not the end of the command.
_DAMAGE = (IntegrityError, InvalidInputError, NotFoundError)


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
    located = locate(store, subject, tags=(AttachmentKind.SIGNATURE,), read_tags=True)
    problems: list[str] = []
    if located.listing_error is not None:  # e.g. a referrers tag that is not an index: the .sig tag may be fine
        problems.append(f"referrers of {subject}: {describe(located.listing_error)}")
    problems.extend(located.problems)
    referrers = [a.descriptor for a in located.referrers if a.is_bundle and a.kind is AttachmentKind.SIGNATURE]
    tag = attachment_tag(subject, AttachmentKind.SIGNATURE)
    found = located.tag(AttachmentKind.SIGNATURE)
    layers = list(found.layers) if found is not None else []
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


def small_manifest(store: ArtifactStore, desc: Descriptor, expected: str) -> Manifest:
    """The image manifest ``desc`` names, for an attachment (a referrer, a BuildKit attestation manifest) whose
    descriptor came from the registry: a declared size over the manifest cap is refused before any request, and
    an image index where ``expected`` (an image manifest of some kind) is wanted is ``InvalidManifestError``."""
    if desc.size > MAX_MANIFEST_BYTES:
        raise SizeLimitError(f"the manifest declares {desc.size} bytes, over the {MAX_MANIFEST_BYTES}-byte limit")
    manifest = store.get_manifest(desc)
    if not isinstance(manifest, Manifest):
        raise InvalidManifestError(f"expected {expected}, got an image index",
                                   hint="an attachment is an image manifest; inspect this one with `supplychain tree`")
    return manifest


def _bundle_bytes(store: ArtifactStore, desc: Descriptor, cap: int) -> bytes:
    """The bundle blob of a bundle referrer (its manifest read under the manifest cap, the blob under ``cap``)."""
    manifest = small_manifest(store, desc, "an image manifest holding a bundle")
    layer = next((la for la in manifest.layers if la.media_type in MEDIA_TYPES), None)
    if layer is None:
        raise InvalidManifestError("expected a Sigstore bundle layer, got none")
    return store.get_blob(layer, limit=cap)


def _read_bundle(store: ArtifactStore, desc: Descriptor, cap: int) -> BundleSignature:
    location = f"referrer {desc.digest}"
    data = _bundle_bytes(store, desc, cap)
    Bundle.parse(data)  # refuse what is not a bundle (the document is shown as stored, not as parsed)
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


# -- download attestation --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DownloadedAttestation:
    """One attestation as ``cosign download attestation`` prints it: the DSSE envelope (cosign's field order), where
    it was found, and its statement's predicate type (``None``: the statement does not parse)."""

    location: str
    envelope: Mapping[str, Any]  # {"payloadType", "payload", "signatures"}; BuildKit's: "signatures": []
    predicate_type: str | None
    signed: bool  # False for a BuildKit statement, stored without a signature


@dataclass(frozen=True, slots=True)
class AttestationDownload:
    """Every readable attestation of one digest (bundle referrers, ``.att`` layers, BuildKit's) and what could not
    be read."""

    subject: Digest
    attestations: tuple[DownloadedAttestation, ...]
    problems: tuple[str, ...] = ()


class NoAttestationsError(NotFoundError):
    """An image with no attestation (of the asked predicate type) attached."""

    default_hint = "attest it (supplychain attest); `supplychain tree` shows what is attached"


def download_attestations(
    store: ArtifactStore,
    subject: Digest,
    *,
    predicate_type: str | None = None,
    index: AnyManifest | None = None,
    max_attestations: int = DEFAULT_MAX_SIGNATURES,
    max_bytes: int = MAX_SIGNATURE_BYTES,
) -> AttestationDownload:
    """Read the attestations of ``subject``: DSSE bundle referrers that are no image signature, the ``.att``
    layers, and, with ``index`` (``subject``'s own image index), BuildKit's attestation manifests in it (their
    in-toto layers, unsigned: shown as envelopes with no signature). ``predicate_type``: only attestations whose
    statement is of that type (as cosign's ``--predicate-type``). Counted before any blob is read
    (``TooManySignaturesError``); a damaged one is a problem and the others are still returned; none is
    ``NoAttestationsError``. Network and authentication errors propagate."""
    located = locate(store, subject, tags=(AttachmentKind.ATTESTATION,), read_tags=True)
    problems: list[str] = []
    if located.listing_error is not None:
        problems.append(f"referrers of {subject}: {describe(located.listing_error)}")
    problems.extend(located.problems)
    # Bundles with no predicate annotation are read too: @sigstore/oci's may carry none (the statement says).
    referrers = [a.descriptor for a in located.referrers if a.is_bundle and (
        a.kind is AttachmentKind.ATTESTATION or BUNDLE_PREDICATE_TYPE_ANNOTATION not in a.descriptor.annotations)]
    tag = attachment_tag(subject, AttachmentKind.ATTESTATION)
    found = located.tag(AttachmentKind.ATTESTATION)
    layers = [la for la in (found.layers if found is not None else ()) if la.media_type == ENVELOPE_MEDIA_TYPE]
    buildkit = buildkit_attestations(index, None) if index is not None else ()
    total = len(referrers) + len(layers) + len(buildkit)
    if total > max_attestations:
        raise TooManySignaturesError(
            f"{subject} has {total} attestations ({len(layers)} in {tag}, {len(referrers)} referrers, "
            f"{len(buildkit)} BuildKit manifests), more than the limit of {max_attestations}: none was read"
        )
    def layer(i: int, desc: Descriptor) -> list[DownloadedAttestation]:
        envelope = parse_envelope(store.get_blob(desc, limit=max_bytes))
        return [_downloaded(f"{tag} layer {i}", envelope, signed=True)]

    jobs: list[tuple[str, Callable[[], list[DownloadedAttestation]]]] = [
        *((f"referrer {d.digest}", functools.partial(_attestation_of_bundle, store, d, max_bytes)) for d in referrers),
        *((f"{tag} layer {i}", functools.partial(layer, i, d)) for i, d in enumerate(layers)),
        *((f"BuildKit attestation manifest {a.descriptor.digest}",
           functools.partial(buildkit_statements, store, a.descriptor, max_bytes)) for a in buildkit),
    ]
    out: list[DownloadedAttestation] = []
    for where, read in jobs:  # a damaged one is a problem; the others are still read
        try:
            out.extend(read())
        except _DAMAGE as exc:
            problems.append(f"{where}: {exc}")
    if predicate_type is not None:
        out = [a for a in out if a.predicate_type == predicate_type]
    if not out:
        of = "" if predicate_type is None else f" of predicateType {predicate_type}"
        if problems:
            raise UnreadableSignaturesError(f"no readable attestation{of} for {subject} in {store.name}: "
                                            f"{problems[0]}", hint="inspect them with `supplychain tree`")
        raise NoAttestationsError(f"no attestations{of} associated with {store.name}@{subject}")
    return AttestationDownload(subject, tuple(out), tuple(problems))


def _attestation_of_bundle(store: ArtifactStore, desc: Descriptor, cap: int) -> list[DownloadedAttestation]:
    """The envelope of a DSSE bundle referrer that is no image signature (none for a message signature, or a
    statement of cosign's sign predicate)."""
    envelope = Bundle.parse(_bundle_bytes(store, desc, cap)).envelope
    if envelope is None:
        return []
    shown = _downloaded(f"referrer {desc.digest}", envelope, signed=True)
    return [] if shown.predicate_type == COSIGN_SIGN_PREDICATE else [shown]


def buildkit_statements(store: ArtifactStore, desc: Descriptor, cap: int) -> list[DownloadedAttestation]:
    """The in-toto layers of a BuildKit attestation manifest, as unsigned envelopes."""
    manifest = small_manifest(store, desc, "an attestation manifest")
    out = []
    for i, layer in enumerate(manifest.layers):
        if layer.media_type != IN_TOTO_PAYLOAD_TYPE:
            continue
        statement = store.get_blob(layer, limit=cap)
        envelope = Envelope(statement, IN_TOTO_PAYLOAD_TYPE, ())
        out.append(_downloaded(f"BuildKit attestation manifest {desc.digest} layer {i}", envelope, signed=False))
    return out


def _downloaded(location: str, envelope: Envelope, *, signed: bool) -> DownloadedAttestation:
    try:
        predicate: str | None = parse_statement(envelope.payload).predicate_type
    except InvalidPayloadError:
        predicate = None
    return DownloadedAttestation(location, envelope.to_go_json(), predicate, signed)
