"""The Sigstore bundle (sigstore/protobuf-specs ``sigstore_bundle.proto``, ``dev.sigstore.bundle.v1.Bundle``) in its
protojson form, v0.1 to v0.3: parsed once into a frozen ``Bundle`` whose invariants are checked when it is built
(as sigstore-python's ``sigstore.models.Bundle`` does), and written back in proto field order.

::

    {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
     "verificationMaterial": {"publicKey": {"hint": ...}       | "x509CertificateChain": {"certificates": [...]}
                                                               | "certificate": {"rawBytes": ...},
                              "tlogEntries": [TransparencyLogEntry...],
                              "timestampVerificationData": {"rfc3161Timestamps": [{"signedTimestamp": ...}]}},
     "messageSignature": {"messageDigest": {"algorithm": "SHA2_256", "digest": ...}, "signature": ...}
     | "dsseEnvelope": {"payload": ..., "payloadType": ..., "signatures": [...]}}

Media types: ``application/vnd.dev.sigstore.bundle+json;version=0.1|0.2|0.3`` and, since v0.3, the spelling
``application/vnd.dev.sigstore.bundle.v0.3+json`` (protobuf-specs ``Bundle.media_type``). The verification
material is one of a public-key hint, a certificate chain (v0.1, v0.2) or a single leaf certificate (v0.3); both
certificate forms are read for any version, as sigstore-go reads them.

A ``TransparencyLogEntry`` (``sigstore_rekor.proto``) is read by protojson's rules (protobuf "ProtoJSON Format"):
int64 fields arrive as decimal strings or JSON integers, bytes as standard or URL-safe base64, and a field that
holds its default value may be omitted: a missing ``logIndex`` is entry 0 (sigstore-js writes the first entry of a
log that way), a missing ``integratedTime`` is 0 (Rekor v2 entries have none; when a SET is present it signs the
value, so a wrong default fails that check), missing ``hashes`` are none (a tree of one leaf). What each bundle
version requires of its entries' evidence (v0.1 an inclusion promise, v0.2+ an inclusion proof with a
checkpoint) is the transparency-log check's business (``tlog.evidence``), so that ``--insecure-ignore-tlog``
ignores it as it ignores the rest of the log evidence.

Every document goes through ``formats.strictjson.loads_untrusted``; every refusal is a ``BundleFormatError``.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

from supplychain.formats.dsse import Envelope, decode_bytes, envelope_from_json
from supplychain.formats.error import InvalidPayloadError
from supplychain.formats.strictjson import INTEGER_MIN, loads_untrusted

BUNDLE_V01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"
BUNDLE_V02 = "application/vnd.dev.sigstore.bundle+json;version=0.2"
BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
BUNDLE_V03_ALT = "application/vnd.dev.sigstore.bundle+json;version=0.3"
MEDIA_TYPES = frozenset({BUNDLE_V01, BUNDLE_V02, BUNDLE_V03, BUNDLE_V03_ALT})
"""Every Sigstore bundle media type of v0.1 to v0.3, both spellings: what a referrer's ``artifactType`` and its
layer say (``@sigstore/oci`` writes the bundle's own ``mediaType``, cosign v3 the v0.3 spelling)."""

MAX_TLOG_ENTRIES = 64
MAX_PROOF_HASHES = 128  # a Merkle audit path of a tree of 2^64 leaves has 64
MAX_CERTIFICATES = 32
MAX_TIMESTAMPS = 32

_MEDIA_TYPE_RE = re.compile(r"application/vnd\.dev\.sigstore\.bundle(?:\+json;version=0\.([123])|\.v0\.([123])\+json)",
                            re.ASCII)
_INT64_RE = re.compile(r"-?[0-9]{1,19}", re.ASCII)
_INT64_MAX = 2**63 - 1


class BundleFormatError(InvalidPayloadError):
    """A document that is not a Sigstore bundle v0.1 to v0.3, or breaks one of its rules."""

    default_hint = ("the bundle was not written by a Sigstore client (cosign, sigstore-js, sigstore-python), "
                    "or was damaged")


def bundle_version(media_type: str) -> int | None:
    """The minor version (1 to 3) of a Sigstore bundle media type, or ``None`` for any other type."""
    match = _MEDIA_TYPE_RE.fullmatch(media_type)
    return None if match is None else int(match.group(1) or match.group(2))


# -- the transparency-log entry --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KindVersion:
    """The entry's Rekor type and its version (``hashedrekord`` ``0.0.1``, ``dsse`` ``0.0.1``...)."""

    kind: str
    version: str


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """An audit path to a root, with the log's signed checkpoint (a C2SP signed note) when given."""

    log_index: int
    root_hash: bytes
    tree_size: int
    hashes: tuple[bytes, ...] = ()
    checkpoint: str | None = None

    def __post_init__(self) -> None:
        _check_non_negative(self.log_index, "inclusionProof.logIndex")
        _check_non_negative(self.tree_size, "inclusionProof.treeSize")
        if not self.root_hash:
            raise BundleFormatError("inclusionProof has no rootHash")
        if len(self.hashes) > MAX_PROOF_HASHES:
            raise BundleFormatError(f"inclusionProof has {len(self.hashes)} hashes, more than {MAX_PROOF_HASHES}")


@dataclass(frozen=True, slots=True)
class TransparencyLogEntry:
    """One entry of ``verificationMaterial.tlogEntries``: where and when it was logged, its evidence (the
    inclusion promise, i.e. the SET, and/or an inclusion proof), and the canonical body that was logged."""

    log_index: int
    log_id: bytes
    canonicalized_body: bytes
    integrated_time: int = 0
    kind_version: KindVersion | None = None
    inclusion_promise: bytes | None = None  # the signed entry timestamp
    inclusion_proof: InclusionProof | None = None

    def __post_init__(self) -> None:
        _check_non_negative(self.log_index, "logIndex")
        _check_non_negative(self.integrated_time, "integratedTime")
        if not self.log_id:
            raise BundleFormatError("the entry has no logId.keyId")
        if not self.canonicalized_body:
            raise BundleFormatError("the entry has no canonicalizedBody")
        if self.inclusion_promise is not None and not self.inclusion_promise:
            raise BundleFormatError("inclusionPromise has no signedEntryTimestamp")

    @classmethod
    def from_json(cls, doc: Any) -> TransparencyLogEntry:
        """Read the protojson of one entry (defaults may be omitted); raise ``BundleFormatError``."""
        obj = _object(doc, "the entry")
        log_id = _object(obj.get("logId"), "logId")
        kind_version = None
        if "kindVersion" in obj:
            raw_kind = _object(obj["kindVersion"], "kindVersion")
            kind_version = KindVersion(_string(raw_kind.get("kind", ""), "kindVersion.kind"),
                                       _string(raw_kind.get("version", ""), "kindVersion.version"))
        promise = None
        if "inclusionPromise" in obj:
            promise = _bytes(_object(obj["inclusionPromise"], "inclusionPromise").get("signedEntryTimestamp", ""),
                             "inclusionPromise.signedEntryTimestamp")
        proof = None
        if "inclusionProof" in obj:
            raw_proof = _object(obj["inclusionProof"], "inclusionProof")
            hashes = raw_proof.get("hashes", [])
            if not isinstance(hashes, list):
                raise BundleFormatError("inclusionProof.hashes is not a list")
            if len(hashes) > MAX_PROOF_HASHES:
                raise BundleFormatError(f"inclusionProof has {len(hashes)} hashes, more than {MAX_PROOF_HASHES}")
            checkpoint = None
            if "checkpoint" in raw_proof:
                checkpoint = _string(_object(raw_proof["checkpoint"], "inclusionProof.checkpoint").get("envelope", ""),
                                     "inclusionProof.checkpoint.envelope") or None
            proof = InclusionProof(
                _int64(raw_proof.get("logIndex", 0), "inclusionProof.logIndex"),
                _bytes(raw_proof.get("rootHash", ""), "inclusionProof.rootHash"),
                _int64(raw_proof.get("treeSize", 0), "inclusionProof.treeSize"),
                tuple(_bytes(value, f"inclusionProof.hashes[{n}]") for n, value in enumerate(hashes)),
                checkpoint,
            )
        return cls(
            _int64(obj.get("logIndex", 0), "logIndex"),
            _bytes(log_id.get("keyId", ""), "logId.keyId"),
            _bytes(obj.get("canonicalizedBody", ""), "canonicalizedBody"),
            _int64(obj.get("integratedTime", 0), "integratedTime"),
            kind_version,
            promise,
            proof,
        )

    def to_json(self) -> dict[str, Any]:
        """The entry as protojson, fields in proto order, int64 as strings; ``logIndex`` and ``integratedTime``
        always written (as Rekor's own clients write them), other empty fields left out."""
        doc: dict[str, Any] = {"logIndex": str(self.log_index), "logId": {"keyId": _b64(self.log_id)}}
        if self.kind_version is not None:
            doc["kindVersion"] = {"kind": self.kind_version.kind, "version": self.kind_version.version}
        doc["integratedTime"] = str(self.integrated_time)
        if self.inclusion_promise is not None:
            doc["inclusionPromise"] = {"signedEntryTimestamp": _b64(self.inclusion_promise)}
        proof = self.inclusion_proof
        if proof is not None:
            inclusion: dict[str, Any] = {
                "logIndex": str(proof.log_index),
                "rootHash": _b64(proof.root_hash),
                "treeSize": str(proof.tree_size),
                "hashes": [_b64(value) for value in proof.hashes],
            }
            if proof.checkpoint is not None:
                inclusion["checkpoint"] = {"envelope": proof.checkpoint}
            doc["inclusionProof"] = inclusion
        doc["canonicalizedBody"] = _b64(self.canonicalized_body)
        return doc


# -- the bundle ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageSignature:
    """A signature over an artifact's digest (``messageDigest`` may be omitted: protobuf-specs says SHOULD)."""

    signature: bytes
    digest_algorithm: str | None = None  # protobuf-specs HashAlgorithm name, e.g. "SHA2_256"
    digest: bytes | None = None

    def __post_init__(self) -> None:
        if not self.signature:
            raise BundleFormatError("messageSignature has no signature")


@dataclass(frozen=True, slots=True)
class Bundle:
    """A parsed Sigstore bundle. Build it with ``Bundle.parse`` (untrusted bytes) or directly (``sign``); either
    way ``__post_init__`` checks it: a known media type, one signed content, at most one kind of verification
    material, bounded lists. ``raw`` is the document as stored (empty for a bundle built here)."""

    media_type: str
    content: Envelope | MessageSignature
    public_key_hint: str | None = None
    certificates: tuple[bytes, ...] = ()  # DER, leaf first: certificate.rawBytes or x509CertificateChain
    tlog_entries: tuple[TransparencyLogEntry, ...] = ()
    rfc3161_timestamps: tuple[bytes, ...] = ()  # timestampVerificationData (not verified by supplychain)
    raw: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        if bundle_version(self.media_type) is None:
            raise BundleFormatError(
                f"bundle mediaType {self.media_type[:200]!r} is not a Sigstore bundle v0.1 to v0.3's")
        if self.public_key_hint is not None and self.certificates:
            raise BundleFormatError("bundle verificationMaterial holds both a public key and certificates")
        if len(self.tlog_entries) > MAX_TLOG_ENTRIES:
            raise BundleFormatError(f"bundle has {len(self.tlog_entries)} tlogEntries, more than {MAX_TLOG_ENTRIES}")
        if len(self.certificates) > MAX_CERTIFICATES:
            raise BundleFormatError(f"bundle has {len(self.certificates)} certificates, more than {MAX_CERTIFICATES}")
        if isinstance(self.content, Envelope) and len(self.content.signatures) > MAX_CERTIFICATES:
            raise BundleFormatError(f"bundle's DSSE envelope has {len(self.content.signatures)} signatures")

    @property
    def version(self) -> int:
        """The bundle's minor version: 1, 2 or 3."""
        version = bundle_version(self.media_type)
        assert version is not None  # checked when built
        return version

    @property
    def envelope(self) -> Envelope | None:
        """The DSSE envelope, or ``None`` for a message-signature bundle."""
        return self.content if isinstance(self.content, Envelope) else None

    @property
    def message_signature(self) -> MessageSignature | None:
        """The message signature, or ``None`` for a DSSE bundle."""
        return self.content if isinstance(self.content, MessageSignature) else None

    @property
    def certificate(self) -> bytes | None:
        """DER of the signing (leaf) certificate, if the material is a certificate."""
        return self.certificates[0] if self.certificates else None

    @property
    def has_certificate(self) -> bool:
        return bool(self.certificates)

    @classmethod
    def parse(cls, data: bytes) -> Bundle:
        """Parse bundle JSON (v0.1-v0.3); raise ``BundleFormatError`` saying what is wrong."""
        try:
            doc = loads_untrusted(data)
        except ValueError as exc:
            raise BundleFormatError(f"bundle is not valid JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise BundleFormatError("bundle is not a JSON object")
        media_type = doc.get("mediaType")
        if not isinstance(media_type, str) or bundle_version(media_type) is None:
            shown = media_type[:200] if isinstance(media_type, str) else media_type
            raise BundleFormatError(f"bundle mediaType {shown!r} is not a Sigstore bundle v0.1 to v0.3's")
        material = doc.get("verificationMaterial")
        if not isinstance(material, dict):
            raise BundleFormatError("bundle has no verificationMaterial")
        if ("dsseEnvelope" in doc) == ("messageSignature" in doc):
            raise BundleFormatError("bundle must hold exactly one of dsseEnvelope and messageSignature")
        raw_entries = material.get("tlogEntries", [])
        if not isinstance(raw_entries, list):
            raise BundleFormatError("bundle verificationMaterial.tlogEntries must be a list")
        if len(raw_entries) > MAX_TLOG_ENTRIES:
            raise BundleFormatError(f"bundle has {len(raw_entries)} tlogEntries, more than {MAX_TLOG_ENTRIES}")
        try:
            entries = tuple(_entry(item, n) for n, item in enumerate(raw_entries))
            hint = _public_key_hint(material)
            content: Envelope | MessageSignature = (
                envelope_from_json(doc["dsseEnvelope"]) if "dsseEnvelope" in doc
                else _message_signature(doc["messageSignature"]))
            return cls(media_type, content, hint, _certificates(material), entries, _timestamps(material), data)
        except BundleFormatError:
            raise
        except InvalidPayloadError as exc:  # the envelope's or a base64 field's own message
            raise BundleFormatError(f"bundle is malformed: {exc.message}") from exc

    def to_json(self) -> dict[str, Any]:
        """The bundle as protojson, fields in proto order (what ``sign`` stores)."""
        material: dict[str, Any] = {}
        if self.public_key_hint is not None:
            material["publicKey"] = {"hint": self.public_key_hint}
        elif self.version >= 3 and len(self.certificates) == 1:
            material["certificate"] = {"rawBytes": _b64(self.certificates[0])}
        elif self.certificates:
            material["x509CertificateChain"] = {"certificates": [{"rawBytes": _b64(c)} for c in self.certificates]}
        material["tlogEntries"] = [entry.to_json() for entry in self.tlog_entries]
        if self.rfc3161_timestamps:
            material["timestampVerificationData"] = {
                "rfc3161Timestamps": [{"signedTimestamp": _b64(t)} for t in self.rfc3161_timestamps]}
        doc: dict[str, Any] = {"mediaType": self.media_type, "verificationMaterial": material}
        if isinstance(self.content, Envelope):
            doc["dsseEnvelope"] = self.content.to_json()
        else:
            signature: dict[str, Any] = {}
            if self.content.digest is not None:
                signature["messageDigest"] = {"algorithm": self.content.digest_algorithm or "SHA2_256",
                                              "digest": _b64(self.content.digest)}
            signature["signature"] = _b64(self.content.signature)
            doc["messageSignature"] = signature
        return doc


# -- readers of the parts --------------------------------------------------------------------------------------


def _entry(item: Any, number: int) -> TransparencyLogEntry:
    try:
        return TransparencyLogEntry.from_json(item)
    except InvalidPayloadError as exc:
        raise BundleFormatError(f"tlogEntries[{number}]: {exc.message}") from exc


def _public_key_hint(material: dict[str, Any]) -> str | None:
    if "publicKey" not in material:
        return None
    public_key = material["publicKey"]
    if not isinstance(public_key, dict) or not isinstance(public_key.get("hint", ""), str):
        raise BundleFormatError("bundle verificationMaterial.publicKey must be an object with a string hint")
    hint: str = public_key.get("hint", "")
    return hint


def _certificates(material: dict[str, Any]) -> tuple[bytes, ...]:
    """DER, leaf first: ``certificate.rawBytes`` (v0.3) or ``x509CertificateChain.certificates`` (v0.1, v0.2)."""
    single = material.get("certificate")
    chain = material.get("x509CertificateChain")
    if single is not None and chain is not None:
        raise BundleFormatError("bundle verificationMaterial holds both certificate and x509CertificateChain")
    if single is not None:
        if not isinstance(single, dict):
            raise BundleFormatError("bundle certificate material is malformed")
        return (_nonempty(decode_bytes(single.get("rawBytes"), "bundle certificate"), "bundle certificate"),)
    if chain is None:
        return ()
    certificates = chain.get("certificates") if isinstance(chain, dict) else None
    if not isinstance(certificates, list) or not certificates or not all(isinstance(c, dict) for c in certificates):
        raise BundleFormatError("bundle certificate material is malformed")
    if len(certificates) > MAX_CERTIFICATES:
        raise BundleFormatError(f"bundle has {len(certificates)} certificates, more than {MAX_CERTIFICATES}")
    return tuple(_nonempty(decode_bytes(c.get("rawBytes"), "bundle certificate chain"), "bundle certificate chain")
                 for c in certificates)


def _timestamps(material: dict[str, Any]) -> tuple[bytes, ...]:
    data = material.get("timestampVerificationData")
    if data is None:
        return ()
    stamps = _object(data, "timestampVerificationData").get("rfc3161Timestamps", [])
    if not isinstance(stamps, list) or len(stamps) > MAX_TIMESTAMPS:
        raise BundleFormatError(f"timestampVerificationData.rfc3161Timestamps must be a list of at most "
                                f"{MAX_TIMESTAMPS}")
    return tuple(_bytes(_object(s, "rfc3161Timestamps item").get("signedTimestamp", ""), "signedTimestamp")
                 for s in stamps)


def _message_signature(doc: Any) -> MessageSignature:
    obj = _object(doc, "messageSignature")
    algorithm = digest = None
    if "messageDigest" in obj:
        message_digest = _object(obj["messageDigest"], "messageSignature.messageDigest")
        algorithm = _string(message_digest.get("algorithm", "HASH_ALGORITHM_UNSPECIFIED"),
                            "messageDigest.algorithm")
        digest = _bytes(message_digest.get("digest", ""), "messageDigest.digest")
    return MessageSignature(_bytes(obj.get("signature", ""), "messageSignature.signature"), algorithm, digest)


# -- protojson scalars -----------------------------------------------------------------------------------------


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BundleFormatError(f"{what} is not a JSON object")
    return value


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise BundleFormatError(f"{what} is not a string")
    return value


def _bytes(value: Any, what: str) -> bytes:
    """protojson ``bytes``: standard or URL-safe base64, padded or not; ``""`` (or omitted) is empty."""
    try:
        return decode_bytes(value, what)
    except InvalidPayloadError as exc:
        raise BundleFormatError(exc.message) from exc


def _int64(value: Any, what: str) -> int:
    """protojson ``int64``: a decimal string (what protojson writes) or a JSON integer (what it also reads)."""
    if isinstance(value, str) and _INT64_RE.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not INTEGER_MIN <= value <= _INT64_MAX:
        raise BundleFormatError(f"{what} is not an int64 (a decimal string or integer): {str(value)[:40]!r}")
    return value


def _check_non_negative(value: int, what: str) -> None:
    if value < 0:
        raise BundleFormatError(f"{what} {value} is negative")


def _nonempty(value: bytes, what: str) -> bytes:
    if not value:
        raise BundleFormatError(f"{what} is empty")
    return value


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


__all__ = [
    "BUNDLE_V01",
    "BUNDLE_V02",
    "BUNDLE_V03",
    "BUNDLE_V03_ALT",
    "MAX_CERTIFICATES",
    "MAX_PROOF_HASHES",
    "MAX_TIMESTAMPS",
    "MAX_TLOG_ENTRIES",
    "MEDIA_TYPES",
    "Bundle",
    "BundleFormatError",
    "InclusionProof",
    "KindVersion",
    "MessageSignature",
    "TransparencyLogEntry",
    "bundle_version",
]
