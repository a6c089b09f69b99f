"""The Sigstore bundle v0.3 that ``sign`` writes (the model and its reader are ``formats.bundle``), and the OCI 1.1
referrer that carries it for an image, as cosign v3 stores it (SPECS.md "cosign v3").

What ``sign`` stores::

    {"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",
     "verificationMaterial":{"publicKey":{"hint":"<b64 sha256(PKIX DER)>"},"tlogEntries":[]},
     "dsseEnvelope":{"payload":..,"payloadType":..,"signatures":[{"sig":..}]}}

The key hint is what sigstore-go's keypairs use: standard base64 of SHA-256 over the PKIX DER public key.
``tlogEntries`` holds the ``dsse`` entry ``sign`` logged (``tlog.evidence.bundle_tlog_entry``: inclusion
promise and inclusion proof with its checkpoint), or nothing when no log was used.

The referrer: an OCI image manifest with ``artifactType`` = the bundle media type, the empty config, one layer
(the bundle, same media type), ``subject`` = the signed image, and the annotations
``dev.sigstore.bundle.content``, ``dev.sigstore.bundle.predicateType`` and ``org.opencontainers.image.created``
(RFC 3339, UTC, seconds).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from supplychain.formats import gojson
from supplychain.formats.bundle import Bundle, MessageSignature, TransparencyLogEntry
from supplychain.formats.dsse import Envelope
from supplychain.keys import PublicKey
from supplychain.oci.attachment import BUNDLE_CONTENT_ANNOTATION, BUNDLE_PREDICATE_TYPE_ANNOTATION
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import EMPTY_DESCRIPTOR, Descriptor, Manifest, build_manifest

# The bundle version we write; what we read is any of formats.bundle.MEDIA_TYPES.
BUNDLE_MEDIA_TYPE = MediaType.SIGSTORE_BUNDLE_V03.value
CREATED_ANNOTATION = "org.opencontainers.image.created"
CONTENT_DSSE = "dsse-envelope"


def key_hint(public_key: PublicKey) -> str:
    """The bundle's public-key hint for ``public_key``: base64(SHA-256(PKIX DER)), as sigstore-go computes it."""
    return base64.b64encode(hashlib.sha256(public_key.der()).digest()).decode("ascii")


def build_bundle(envelope: Envelope, hint: str, tlog_entries: Sequence[TransparencyLogEntry] = (), *,
                 certificate: bytes | None = None) -> bytes:
    """A v0.3 bundle holding ``envelope``, verification material = the key hint (or, with ``certificate``, the
    DER of the signing certificate: v0.3's ``certificate.rawBytes``, which holds the leaf only) and the
    transparency-log entries; built as a checked ``formats.bundle.Bundle`` and written as Go would."""
    bundle = Bundle(BUNDLE_MEDIA_TYPE, envelope, hint if certificate is None else None,
                    () if certificate is None else (certificate,), tuple(tlog_entries))
    return gojson.encode(bundle.to_json(), sort_keys=False)


def build_message_bundle(signature: bytes, digest: bytes, hint: str,
                         tlog_entries: Sequence[TransparencyLogEntry] = ()) -> bytes:
    """A v0.3 bundle of a message signature over an artifact whose SHA-256 is ``digest`` (``sign-blob --key``, as
    cosign's ``sign-blob --bundle``), verification material = the key hint; written as Go would."""
    bundle = Bundle(BUNDLE_MEDIA_TYPE, MessageSignature(signature, "SHA2_256", digest), hint, (), tuple(tlog_entries))
    return gojson.encode(bundle.to_json(), sort_keys=False)


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
