"""The Rekor v1 entry types this toolkit writes and reads: ``hashedrekord`` 0.0.1 and ``dsse`` 0.0.1.

A client *proposes* an entry (``POST /api/v1/log/entries``); the log validates it and stores a *canonical body*,
the RFC 8785 JSON whose leaf hash ``SHA-256(0x00 || body)`` is the entry's identity (its UUID). Both sides live
here, because the client must check that the body the log returns is the entry it sent, and the local log must
build the same body Rekor would.

hashedrekord 0.0.1 (Rekor ``pkg/types/hashedrekord/v0.0.1``)::

    proposed = body = {"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": "<hex digest>"}},
        "signature": {"content": "<base64 signature>", "publicKey": {"content": "<base64 PEM key or cert>"}}}}

The log verifies the signature over the *digest* (a pre-hashed signature, as cosign produces) and stores the key
re-encoded as PEM (Rekor's ``CanonicalValue``).

dsse 0.0.1 (Rekor ``pkg/types/dsse/v0.0.1``): the client proposes the envelope (as a JSON string) and the keys::

    {"apiVersion": "0.0.1", "kind": "dsse", "spec": {"proposedContent": {"envelope": "<JSON>", "publicKeys": [...]}}}

The log verifies every envelope signature (DSSE PAE, https://github.com/secure-systems-lab/dsse protocol.md) with
one of the keys and stores only hashes and signatures::

    {"apiVersion": "0.0.1", "kind": "dsse", "spec": {"envelopeHash": {"algorithm": "sha256", "value": ...},
     "payloadHash": {...}, "signatures": [{"publicKey": "<base64 PEM>", "signature": "<base64>"}, ...]}}

Keys and signatures are read as Rekor reads them (``supplychain.tlog.pki``). Ed25519 ``hashedrekord`` signatures are
Ed25519ph in Rekor, which ``cryptography`` does not implement: they are refused as unsupported (DSSE over Ed25519 is
supported).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import rfc8785
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from supplychain.formats.dsse import pae
from supplychain.formats.intoto import subject_digests
from supplychain.tlog.pki import (
    HASHES,
    EntryKindError,
    EntrySignatureError,
    VerifierKey,
    verify_message,
    verify_prehashed,
)

HASHEDREKORD = "hashedrekord"
DSSE = "dsse"
API_VERSION = "0.0.1"

HashAlgorithm = Literal["sha256", "sha384", "sha512"]

__all__ = [
    "API_VERSION",
    "DSSE",
    "HASHEDREKORD",
    "CanonicalEntry",
    "DsseProposal",
    "DsseRecord",
    "DsseSignature",
    "EntryKindError",
    "EntrySignatureError",
    "HashedRekord",
    "VerifierKey",
    "artifact_mismatch",
    "body_kind",
    "body_mismatches",
    "canonicalize",
    "parse_body",
    "public_key_index",
]

# -- wire models (untrusted JSON: pydantic, extra fields ignored) ---------------------------------------------


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class _Hash(_Wire):
    algorithm: str
    value: str


class _Data(_Wire):
    hash: _Hash


class _Content(_Wire):
    content: str


class _Signature(_Wire):
    content: str
    publicKey: _Content


class _HashedRekordSpec(_Wire):
    data: _Data
    signature: _Signature


class _ProposedContent(_Wire):
    envelope: str
    publicKeys: list[str] = Field(min_length=1, max_length=64)


class _DsseProposal(_Wire):
    proposedContent: _ProposedContent


class _DsseSignature(_Wire):
    signature: str
    publicKey: str


class _DsseBodySpec(_Wire):
    envelopeHash: _Hash
    payloadHash: _Hash
    signatures: list[_DsseSignature] = Field(min_length=1)


class _Entry(_Wire):
    kind: str
    apiVersion: str
    spec: dict[str, Any]


class _EnvelopeSignature(_Wire):
    sig: str
    keyid: str | None = None


class _Envelope(_Wire):
    payloadType: str
    payload: str
    signatures: list[_EnvelopeSignature] = Field(min_length=1, max_length=64)


def _parse_entry(data: bytes | str | dict[str, Any], what: str) -> _Entry:
    try:
        if isinstance(data, dict):
            return _Entry.model_validate(data)
        return _Entry.model_validate_json(data)
    except ValidationError as exc:
        raise EntryKindError(f"{what} is not a Rekor entry: {first_error(exc)}") from exc


def first_error(exc: ValidationError) -> str:
    """``field.path: message`` of a pydantic validation failure, for one-line errors."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "document"
    return f"{where}: {error['msg']}"


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EntryKindError(f"{what} is not valid base64") from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- hashedrekord ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HashedRekord:
    """A ``hashedrekord`` 0.0.1 record: a signature over a digest, and the key (or certificate) that made it."""

    algorithm: HashAlgorithm
    digest: bytes
    signature: bytes
    public_key: bytes  # PEM: as the signer sends it, or canonical when read from a body

    def __post_init__(self) -> None:
        if self.algorithm not in HASHES:
            raise EntryKindError(f"unsupported hash algorithm {self.algorithm!r}: expected sha256, sha384 or sha512")
        expected = HASHES[self.algorithm]().digest_size
        if len(self.digest) != expected:
            raise EntryKindError(f"a {self.algorithm} digest is {expected} bytes, got {len(self.digest)}")
        if not self.signature:
            raise EntryKindError("the signature is empty")

    def proposed_entry(self) -> dict[str, Any]:
        """The ``POST /api/v1/log/entries`` request body."""
        return {"apiVersion": API_VERSION, "kind": HASHEDREKORD, "spec": self._spec(self.public_key)}

    def _spec(self, public_key: bytes) -> dict[str, Any]:
        return {
            "data": {"hash": {"algorithm": self.algorithm, "value": self.digest.hex()}},
            "signature": {"content": _b64(self.signature), "publicKey": {"content": _b64(public_key)}},
        }

    def verifier_key(self) -> VerifierKey:
        """The key or certificate, parsed."""
        return VerifierKey.load(self.public_key)

    def verify(self) -> VerifierKey:
        """Check the signature over the digest with the key, as Rekor does on upload; return the parsed key."""
        key = self.verifier_key()
        if not verify_prehashed(key.public_key, self.signature, self.digest, self.algorithm):
            raise EntrySignatureError(f"the signature does not verify over {self.algorithm}:{self.digest.hex()}")
        return key

    def canonical_body(self, key: VerifierKey | None = None) -> bytes:
        """The body the log stores: RFC 8785 JSON with the key in canonical PEM."""
        key = self.verifier_key() if key is None else key
        return rfc8785.dumps({"apiVersion": API_VERSION, "kind": HASHEDREKORD, "spec": self._spec(key.pem)})

    def index_keys(self, key: VerifierKey) -> tuple[str, ...]:
        """Search keys: the artifact hash ``<alg>:<hex>`` and the key's SHA-256 (Rekor's ``IndexKeys``)."""
        return (f"{self.algorithm}:{self.digest.hex()}", _key_index(key))

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> HashedRekord:
        """Read the ``spec`` of a proposed entry or a body."""
        try:
            parsed = _HashedRekordSpec.model_validate(spec)
        except ValidationError as exc:
            raise EntryKindError(f"invalid hashedrekord spec: {first_error(exc)}") from exc
        value = parsed.data.hash.value
        try:
            digest = bytes.fromhex(value)
        except ValueError as exc:
            raise EntryKindError(f"hashedrekord hash value {value[:80]!r} is not hex") from exc
        if value != value.lower():
            raise EntryKindError("hashedrekord hash value must be lowercase hex")
        algorithm = parsed.data.hash.algorithm
        if algorithm not in HASHES:
            raise EntryKindError(f"unsupported hash algorithm {algorithm!r}: expected sha256, sha384 or sha512")
        return cls(
            algorithm,  # type: ignore[arg-type]  # checked against HASHES just above
            digest,
            _b64decode(parsed.signature.content, "hashedrekord signature"),
            _b64decode(parsed.signature.publicKey.content, "hashedrekord public key"),
        )


def _key_index(key: VerifierKey) -> str:
    return "key:" + hashlib.sha256(key.pem).hexdigest()


def public_key_index(pem: bytes) -> str:
    """The search key the local log files an entry under for its signer's key (``POST /api/v1/index/retrieve``)."""
    return _key_index(VerifierKey.load(pem))


# -- dsse ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DsseSignature:
    """One signature of a ``dsse`` body: the base64 signature text and the canonical PEM key that verified it."""

    signature: str
    public_key: bytes


@dataclass(frozen=True, slots=True)
class DsseRecord:
    """A ``dsse`` 0.0.1 body: hashes of the envelope and of its payload, and the verified signatures."""

    envelope_hash: bytes
    payload_hash: bytes
    signatures: tuple[DsseSignature, ...]

    def canonical_body(self) -> bytes:
        """RFC 8785 JSON of the body, signatures sorted by signature text (Rekor's ``Canonicalize``)."""
        ordered = sorted(self.signatures, key=lambda sig: sig.signature)
        return rfc8785.dumps(
            {
                "apiVersion": API_VERSION,
                "kind": DSSE,
                "spec": {
                    "envelopeHash": {"algorithm": "sha256", "value": self.envelope_hash.hex()},
                    "payloadHash": {"algorithm": "sha256", "value": self.payload_hash.hex()},
                    "signatures": [{"publicKey": _b64(sig.public_key), "signature": sig.signature} for sig in ordered],
                },
            }
        )

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> DsseRecord:
        """Read the ``spec`` of a stored dsse body."""
        try:
            parsed = _DsseBodySpec.model_validate(spec)
        except ValidationError as exc:
            raise EntryKindError(f"invalid dsse body: {first_error(exc)}") from exc
        hashes_ = []
        for item, what in ((parsed.envelopeHash, "envelopeHash"), (parsed.payloadHash, "payloadHash")):
            if item.algorithm != "sha256":
                raise EntryKindError(f"dsse {what} algorithm {item.algorithm!r} is not sha256")
            try:
                hashes_.append(bytes.fromhex(item.value))
            except ValueError as exc:
                raise EntryKindError(f"dsse {what} is not hex") from exc
        signatures = tuple(
            DsseSignature(sig.signature, _b64decode(sig.publicKey, "dsse public key")) for sig in parsed.signatures
        )
        return cls(hashes_[0], hashes_[1], signatures)


@dataclass(frozen=True, slots=True)
class DsseProposal:
    """A ``dsse`` 0.0.1 proposal: the envelope JSON exactly as it will be hashed, and candidate public keys."""

    envelope: bytes
    public_keys: tuple[bytes, ...]

    def proposed_entry(self) -> dict[str, Any]:
        """The ``POST /api/v1/log/entries`` request body."""
        return {
            "apiVersion": API_VERSION,
            "kind": DSSE,
            "spec": {
                "proposedContent": {
                    "envelope": self.envelope.decode("utf-8"),
                    "publicKeys": [_b64(key) for key in self.public_keys],
                }
            },
        }

    def verify(self) -> tuple[DsseRecord, tuple[str, ...]]:
        """Verify every envelope signature with one of the keys (Rekor's ``verifyEnvelope``); return the body
        record and the search keys (payload and envelope hashes, in-toto subject digests, signer keys)."""
        try:
            envelope = _Envelope.model_validate_json(self.envelope)
        except ValidationError as exc:
            raise EntryKindError(f"invalid DSSE envelope: {first_error(exc)}") from exc
        payload = _b64decode(envelope.payload, "DSSE payload")
        message = pae(envelope.payloadType, payload)
        keys = [VerifierKey.load(key) for key in self.public_keys]
        signatures: dict[str, DsseSignature] = {}
        for number, item in enumerate(envelope.signatures):
            raw = _b64decode(item.sig, f"DSSE signature {number}")
            match = next((key for key in keys if verify_message(key.public_key, raw, message)), None)
            if match is None:
                raise EntrySignatureError(f"DSSE signature {number} does not verify with any of the given keys")
            signatures[item.sig] = DsseSignature(item.sig, match.pem)
        record = DsseRecord(
            hashlib.sha256(self.envelope).digest(), hashlib.sha256(payload).digest(), tuple(signatures.values())
        )
        index = [f"sha256:{record.payload_hash.hex()}", f"sha256:{record.envelope_hash.hex()}"]
        index += [_key_index(VerifierKey.load(sig.public_key)) for sig in record.signatures]
        if envelope.payloadType == "application/vnd.in-toto+json":
            index += subject_digests(payload)
        return record, tuple(dict.fromkeys(index))

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> DsseProposal:
        """Read the ``spec`` of a proposed dsse entry."""
        try:
            parsed = _DsseProposal.model_validate(spec)
        except ValidationError as exc:
            raise EntryKindError(f"invalid dsse proposal: {first_error(exc)}") from exc
        keys = tuple(_b64decode(key, "dsse public key") for key in parsed.proposedContent.publicKeys)
        return cls(parsed.proposedContent.envelope.encode("utf-8"), keys)


# -- proposals in, bodies out ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CanonicalEntry:
    """A validated proposal: its kind and version, the canonical body to log, and its search keys."""

    kind: str
    api_version: str
    body: bytes
    index_keys: tuple[str, ...]


def canonicalize(proposed: bytes | dict[str, Any]) -> CanonicalEntry:
    """Validate a proposed entry as Rekor does (schema, then the signature) and build its canonical body.

    Raise ``EntryKindError`` for an unsupported kind or a malformed spec, ``EntrySignatureError`` when the
    signature does not verify.
    """
    entry = _parse_entry(proposed, "the proposed entry")
    if entry.apiVersion != API_VERSION or entry.kind not in (HASHEDREKORD, DSSE):
        raise EntryKindError(f"unsupported entry type {entry.kind} {entry.apiVersion}")
    if entry.kind == HASHEDREKORD:
        record = HashedRekord.from_spec(entry.spec)
        key = record.verify()
        return CanonicalEntry(HASHEDREKORD, API_VERSION, record.canonical_body(key), record.index_keys(key))
    dsse_record, index = DsseProposal.from_spec(entry.spec).verify()
    return CanonicalEntry(DSSE, API_VERSION, dsse_record.canonical_body(), index)


EntryRecord = HashedRekord | DsseRecord


def parse_body(body: bytes) -> EntryRecord:
    """Read a stored body (``hashedrekord`` or ``dsse`` 0.0.1); other kinds raise ``EntryKindError``."""
    entry = _parse_entry(body, "the entry body")
    if entry.apiVersion == API_VERSION and entry.kind == HASHEDREKORD:
        return HashedRekord.from_spec(entry.spec)
    if entry.apiVersion == API_VERSION and entry.kind == DSSE:
        return DsseRecord.from_spec(entry.spec)
    raise EntryKindError(f"entry body is {entry.kind} {entry.apiVersion}, not hashedrekord or dsse 0.0.1")


def body_kind(body: bytes) -> tuple[str, str]:
    """``(kind, apiVersion)`` of any Rekor body (``intoto``, ``rekord``... included)."""
    entry = _parse_entry(body, "the entry body")
    return entry.kind, entry.apiVersion


def body_mismatches(body: bytes, expected: HashedRekord | DsseProposal) -> list[str]:
    """What differs between a logged ``body`` and the entry we proposed: ``[]`` when it is ours.

    hashedrekord: hash algorithm and value, signature bytes, key (compared as DER). dsse: the envelope hash (the
    envelope bytes we sent), the payload hash, and the signatures, each with one of our keys.
    """
    try:
        record = parse_body(body)
    except EntryKindError as exc:
        return [str(exc)]
    problems: list[str] = []
    if isinstance(expected, HashedRekord):
        if not isinstance(record, HashedRekord):
            return ["the log stored a dsse entry, expected hashedrekord"]
        if (record.algorithm, record.digest) != (expected.algorithm, expected.digest):
            problems.append(
                f"hash: expected {expected.algorithm}:{expected.digest.hex()}, "
                f"got {record.algorithm}:{record.digest.hex()}"
            )
        if record.signature != expected.signature:
            problems.append("signature: the logged signature is not ours")
        if not _same_key_safe(record.public_key, expected.public_key):
            problems.append("public key: the logged key is not ours")
        return problems
    if not isinstance(record, DsseRecord):
        return ["the log stored a hashedrekord entry, expected dsse"]
    envelope_hash = hashlib.sha256(expected.envelope).digest()
    if record.envelope_hash != envelope_hash:
        problems.append(f"envelope hash: expected {envelope_hash.hex()}, got {record.envelope_hash.hex()}")
    try:
        envelope = _Envelope.model_validate_json(expected.envelope)
    except ValidationError:
        return [*problems, "our envelope is not valid DSSE JSON"]
    payload_hash = hashlib.sha256(_b64decode(envelope.payload, "DSSE payload")).digest()
    if record.payload_hash != payload_hash:
        problems.append(f"payload hash: expected {payload_hash.hex()}, got {record.payload_hash.hex()}")
    if sorted(sig.signature for sig in record.signatures) != sorted({sig.sig for sig in envelope.signatures}):
        problems.append("signatures: the logged signatures are not the envelope's")
    ours = _ders(expected.public_keys)
    if any(_der_or_none(sig.public_key) not in ours for sig in record.signatures):
        problems.append("public keys: a logged key is not one of ours")
    return problems


def _der_or_none(pem: bytes) -> bytes | None:
    try:
        return VerifierKey.load(pem).der
    except EntryKindError:
        return None


def _ders(keys: Sequence[bytes]) -> set[bytes | None]:
    return {_der_or_none(key) for key in keys} - {None}


def _same_key_safe(left: bytes, right: bytes) -> bool:
    left_der, right_der = _der_or_none(left), _der_or_none(right)
    return left_der is not None and left_der == right_der


def artifact_mismatch(body: bytes, algorithm: str, digest: bytes) -> str | None:
    """Why a logged ``hashedrekord`` body is not about the artifact with this digest; None when it is.

    This is the check that stops a valid entry for one artifact from being presented as evidence for another.
    """
    try:
        record = parse_body(body)
    except EntryKindError as exc:
        return str(exc)
    if not isinstance(record, HashedRekord):
        return "the entry is a dsse entry: it records an envelope, not an artifact digest"
    if (record.algorithm, record.digest) != (algorithm, digest):
        return f"the entry is for {record.algorithm}:{record.digest.hex()}, the artifact is {algorithm}:{digest.hex()}"
    return None
