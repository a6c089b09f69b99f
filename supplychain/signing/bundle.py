"""Sigstore bundle v0.3 (sigstore/protobuf-specs ``sigstore_bundle.proto``), and the OCI 1.1 referrer that
carries it for an image, as cosign v3 stores it (SPECS.md "cosign v3").

Bundle JSON is protojson of ``dev.sigstore.bundle.v1.Bundle``::

    {"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",
     "verificationMaterial":{"publicKey":{"hint":"<b64 sha256(PKIX DER)>"},"tlogEntries":[]},
     "dsseEnvelope":{"payload":..,"payloadType":..,"signatures":[{"sig":..}]}}

The key hint is what sigstore-go's keypairs use: standard base64 of SHA-256 over the PKIX DER public key.
``tlogEntries`` holds the ``dsse`` entry ``sign`` logged (``signing.transparency.tlog_entry_json``: inclusion
promise and inclusion proof with its checkpoint), or nothing when no log was used. Reading keeps the tlog entries,
timestamps and the raw bundle, for ``verify``'s transparency-log check, and the leaf certificate's DER.

The referrer: an OCI image manifest with ``artifactType`` = the bundle media type, the empty config, one layer
(the bundle, same media type), ``subject`` = the signed image, and the annotations
``dev.sigstore.bundle.content``, ``dev.sigstore.bundle.predicateType`` and ``org.opencontainers.image.created``
(RFC 3339, UTC, seconds).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from supplychain.keys import PublicKey
from supplychain.oci.attachment import BUNDLE_CONTENT_ANNOTATION, BUNDLE_PREDICATE_TYPE_ANNOTATION
from supplychain.oci.mediatype import SIGSTORE_BUNDLE_TYPES, MediaType
from supplychain.oci.model import EMPTY_DESCRIPTOR, Descriptor, Manifest, build_manifest
from supplychain.signing import gojson
from supplychain.signing.dsse import Envelope, decode_bytes, envelope_from_json
from supplychain.signing.error import InvalidPayloadError

# The bundle version we write; what we read is any of oci.mediatype.SIGSTORE_BUNDLE_TYPES.
BUNDLE_MEDIA_TYPE = MediaType.SIGSTORE_BUNDLE_V03.value
CREATED_ANNOTATION = "org.opencontainers.image.created"
CONTENT_DSSE = "dsse-envelope"


def key_hint(public_key: PublicKey) -> str:
    """The bundle's public-key hint for ``public_key``: base64(SHA-256(PKIX DER)), as sigstore-go computes it."""
    return base64.b64encode(hashlib.sha256(public_key.der()).digest()).decode("ascii")


def build_bundle(envelope: Envelope, hint: str, tlog_entries: Sequence[Mapping[str, Any]] = (), *,
                 certificate: bytes | None = None) -> bytes:
    """A v0.3 bundle holding ``envelope``, verification material = the key hint (or, with ``certificate``, the
    DER of the signing certificate: v0.3's ``certificate.rawBytes``, which holds the leaf only) and the
    transparency-log entries (``TransparencyLogEntry`` protojson, see ``signing.transparency.tlog_entry_json``)."""
    material: dict[str, Any] = ({"publicKey": {"hint": hint}} if certificate is None
                                else {"certificate": {"rawBytes": base64.b64encode(certificate).decode("ascii")}})
    doc = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {**material, "tlogEntries": [dict(e) for e in tlog_entries]},
        "dsseEnvelope": envelope.to_json(),
    }
    return gojson.encode(doc, sort_keys=False)


@dataclass(frozen=True, slots=True)
class ParsedBundle:
    """What a bundle holds, as far as key-based verification needs it."""

    media_type: str
    envelope: Envelope | None  # None for a message-signature bundle
    public_key_hint: str | None
    has_certificate: bool
    # Raw protojson of the transparency-log entries (read into RekorEntry values by ``verify``) and timestamps.
    tlog_entries: tuple[Any, ...]
    timestamp_verification_data: Any
    certificate: bytes | None = None  # DER of the signing (leaf) certificate, for certificate-based verification
    raw: bytes = b""  # the bundle as stored (``tlog.evidence.bundle_entries`` reads its tlogEntries)


def parse_bundle(data: bytes) -> ParsedBundle:
    """Parse bundle JSON (v0.1-v0.3); raise ``InvalidPayloadError`` saying what is wrong."""
    try:
        doc = gojson.decode_strict(data)
    except ValueError as exc:
        raise InvalidPayloadError(f"bundle is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise InvalidPayloadError("bundle is not a JSON object")
    media_type = doc.get("mediaType")
    if not isinstance(media_type, str) or media_type not in SIGSTORE_BUNDLE_TYPES:
        raise InvalidPayloadError(f"bundle mediaType: expected a Sigstore bundle v0.1-v0.3 type, got {media_type!r}")
    material = doc.get("verificationMaterial")
    if not isinstance(material, dict):
        raise InvalidPayloadError("bundle has no verificationMaterial")
    hint = None
    public_key = material.get("publicKey")
    if public_key is not None:
        if not isinstance(public_key, dict) or not isinstance(public_key.get("hint", ""), str):
            raise InvalidPayloadError("bundle verificationMaterial.publicKey must be an object with a string hint")
        hint = public_key.get("hint", "")
    has_certificate = "certificate" in material or "x509CertificateChain" in material
    tlog_entries = material.get("tlogEntries") or []
    if not isinstance(tlog_entries, list):
        raise InvalidPayloadError("bundle verificationMaterial.tlogEntries must be a list")
    has_dsse = "dsseEnvelope" in doc
    has_message = "messageSignature" in doc
    if has_dsse == has_message:
        raise InvalidPayloadError("bundle must hold exactly one of dsseEnvelope and messageSignature")
    try:
        envelope = envelope_from_json(doc["dsseEnvelope"]) if has_dsse else None
        certificate = _leaf_certificate(material)
    except ValueError as exc:  # e.g. base64 fields holding non-ASCII text
        raise InvalidPayloadError(f"bundle is malformed: {exc}") from exc
    return ParsedBundle(
        media_type,
        envelope,
        hint,
        has_certificate,
        tuple(tlog_entries),
        material.get("timestampVerificationData"),
        certificate,
        data,
    )


def _leaf_certificate(material: dict[str, Any]) -> bytes | None:
    """The leaf's DER: ``certificate.rawBytes`` (v0.3) or the first of ``x509CertificateChain.certificates``."""
    single = material.get("certificate")
    if isinstance(single, dict):
        return decode_bytes(single.get("rawBytes"), "bundle certificate")
    chain = material.get("x509CertificateChain")
    certificates = chain.get("certificates") if isinstance(chain, dict) else None
    if isinstance(certificates, list) and certificates and isinstance(certificates[0], dict):
        return decode_bytes(certificates[0].get("rawBytes"), "bundle certificate chain")
    if single is not None or chain is not None:
        raise InvalidPayloadError("bundle certificate material is malformed")
    return None


def rfc3339(moment: datetime) -> str:
    """``2024-01-01T00:00:00Z``: Go's ``time.RFC3339`` of a UTC time, as cosign writes ``created``."""
    if moment.tzinfo is None:
        raise ValueError("the clock must return an aware datetime")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def bundle_referrer(bundle: bytes, subject: Descriptor, predicate_type: str, created: datetime) -> Manifest:
    """The OCI 1.1 referrer manifest that stores ``bundle`` for ``subject`` (config: the empty descriptor)."""
    layer = Descriptor.for_bytes(BUNDLE_MEDIA_TYPE, bundle)
    annotations = {
        BUNDLE_CONTENT_ANNOTATION: CONTENT_DSSE,
        BUNDLE_PREDICATE_TYPE_ANNOTATION: predicate_type,
        CREATED_ANNOTATION: rfc3339(created),
    }
    return build_manifest(
        EMPTY_DESCRIPTOR, [layer], subject=subject, artifact_type=BUNDLE_MEDIA_TYPE, annotations=annotations
    )
