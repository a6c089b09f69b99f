"""How the log checks a Rekor entry: the signature in a proposal, the body it stores, and what a body proves.

The wire forms (proposals, bodies, ``hashedrekord``/``dsse``/``intoto``) are ``supplychain.formats.rekor``; this
module is Rekor's behaviour over them:

* ``hashedrekord`` 0.0.1: the log verifies the signature over the *digest* (a pre-hashed signature, as cosign
  produces) and stores the key re-encoded as canonical PEM (Rekor's ``CanonicalValue``);
* ``dsse`` 0.0.1: the log verifies every envelope signature (DSSE PAE,
  https://github.com/secure-systems-lab/dsse protocol.md) with one of the proposal's ``verifiers`` and stores the
  hashes and each signature with the ``verifier`` that verified it.

Keys and signatures are read as Rekor reads them (``supplychain.tlog.pki``). Ed25519 ``hashedrekord`` signatures are
Ed25519ph in Rekor, which ``cryptography`` does not implement: they are refused as unsupported (DSSE over Ed25519 is
supported).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from supplychain.formats.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope, parse_envelope
from supplychain.formats.error import InvalidPayloadError
from supplychain.formats.intoto import subject_digests
from supplychain.formats.rekor import (
    API_VERSION,
    DSSE,
    HASHEDREKORD,
    INTOTO,
    DsseProposal,
    DsseRecord,
    DsseSignature,
    EntryKindError,
    EntryRecord,
    HashedRekord,
    parse_body,
    parse_entry,
)
from supplychain.tlog.pki import EntrySignatureError, VerifierKey, verify_message, verify_prehashed

__all__ = [
    "CanonicalEntry",
    "EntrySignatureError",
    "artifact_mismatch",
    "body_mismatches",
    "canonical_body",
    "canonicalize",
    "public_key_index",
    "verify_dsse",
    "verify_hashedrekord",
]


# The most signatures one envelope of a dsse proposal may carry: each is verified against every verifier.
MAX_ENVELOPE_SIGNATURES = 64


def _read_envelope(data: bytes) -> Envelope:
    """The DSSE envelope of a dsse proposal (``formats.dsse``), with 1 to ``MAX_ENVELOPE_SIGNATURES`` signatures;
    ``EntryKindError`` when it is malformed."""
    try:
        envelope = parse_envelope(data)
    except InvalidPayloadError as exc:
        raise EntryKindError(f"invalid DSSE envelope: {exc}") from exc
    if not 1 <= len(envelope.signatures) <= MAX_ENVELOPE_SIGNATURES:
        raise EntryKindError(f"invalid DSSE envelope: it has {len(envelope.signatures)} signatures, "
                             f"expected 1 to {MAX_ENVELOPE_SIGNATURES}")
    return envelope


def _signature_text(signature: bytes) -> str:
    """A signature as a ``dsse`` body stores it: standard base64 (Rekor's ``strfmt.Base64``)."""
    return base64.b64encode(signature).decode("ascii")


# -- hashedrekord ----------------------------------------------------------------------------------------------


def verify_hashedrekord(record: HashedRekord) -> VerifierKey:
    """Check the signature over the digest with the key, as Rekor does on upload; return the parsed key."""
    key = VerifierKey.load(record.public_key)
    if not verify_prehashed(key.public_key, record.signature, record.digest, record.algorithm):
        raise EntrySignatureError(f"the signature does not verify over {record.algorithm}:{record.digest.hex()}")
    return key


def canonical_body(record: HashedRekord, key: VerifierKey | None = None) -> bytes:
    """The body the log stores for ``record``: RFC 8785 JSON with the key (``key``, else the record's) in
    canonical PEM."""
    key = VerifierKey.load(record.public_key) if key is None else key
    return dataclasses.replace(record, public_key=key.pem).body()


def _key_index(key: VerifierKey) -> str:
    return "key:" + hashlib.sha256(key.pem).hexdigest()


def public_key_index(pem: bytes) -> str:
    """The search key the local log files an entry under for its signer's key (``POST /api/v1/index/retrieve``)."""
    return _key_index(VerifierKey.load(pem))


# -- dsse ------------------------------------------------------------------------------------------------------


def verify_dsse(proposal: DsseProposal) -> tuple[DsseRecord, tuple[str, ...]]:
    """Verify every envelope signature with one of the verifiers (Rekor's ``verifyEnvelope``); return the body
    record and the search keys (payload and envelope hashes, in-toto subject digests, signer keys)."""
    envelope = _read_envelope(proposal.envelope)
    message = envelope.signed_bytes
    keys = [VerifierKey.load(key) for key in proposal.verifiers]
    signatures: dict[str, DsseSignature] = {}
    for number, item in enumerate(envelope.signatures):
        match = next((key for key in keys if verify_message(key.public_key, item.sig, message)), None)
        if match is None:
            raise EntrySignatureError(f"DSSE signature {number} does not verify with any of the given verifiers")
        text = _signature_text(item.sig)
        signatures[text] = DsseSignature(text, match.pem)
    record = DsseRecord(
        hashlib.sha256(proposal.envelope).digest(),
        hashlib.sha256(envelope.payload).digest(),
        tuple(signatures.values()),
    )
    index = [f"sha256:{record.payload_hash.hex()}", f"sha256:{record.envelope_hash.hex()}"]
    index += [_key_index(VerifierKey.load(sig.verifier)) for sig in record.signatures]
    if envelope.payload_type == IN_TOTO_PAYLOAD_TYPE:
        index += subject_digests(envelope.payload)
    return record, tuple(dict.fromkeys(index))


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
    kind, version, spec = parse_entry(proposed, "the proposed entry")
    if version != API_VERSION or kind not in (HASHEDREKORD, DSSE):
        raise EntryKindError(f"unsupported entry type {kind} {version}")
    if kind == HASHEDREKORD:
        record = HashedRekord.from_spec(spec)
        key = verify_hashedrekord(record)
        index = (f"{record.algorithm}:{record.digest.hex()}", _key_index(key))
        return CanonicalEntry(HASHEDREKORD, API_VERSION, canonical_body(record, key), index)
    dsse_record, dsse_index = verify_dsse(DsseProposal.from_spec(spec))
    return CanonicalEntry(DSSE, API_VERSION, dsse_record.body(), dsse_index)


def body_mismatches(body: bytes, expected: HashedRekord | DsseProposal) -> list[str]:
    """What differs between a logged ``body`` and the entry we proposed: ``[]`` when it is ours.

    hashedrekord: hash algorithm and value, signature bytes, key (compared as DER). dsse: the envelope hash (the
    envelope bytes we sent), the payload hash, and the signatures, each with one of our verifiers.
    """
    try:
        record = parse_body(body)
    except EntryKindError as exc:
        return [str(exc)]
    problems: list[str] = []
    if isinstance(expected, HashedRekord):
        if not isinstance(record, HashedRekord):
            return [f"the log stored a {_kind_name(record)} entry, expected hashedrekord"]
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
        return [f"the log stored a {_kind_name(record)} entry, expected dsse"]
    envelope_hash = hashlib.sha256(expected.envelope).digest()
    if record.envelope_hash != envelope_hash:
        problems.append(f"envelope hash: expected {envelope_hash.hex()}, got {record.envelope_hash.hex()}")
    try:
        envelope = _read_envelope(expected.envelope)
    except EntryKindError:
        return [*problems, "our envelope is not valid DSSE JSON"]
    payload_hash = hashlib.sha256(envelope.payload).digest()
    if record.payload_hash != payload_hash:
        problems.append(f"payload hash: expected {payload_hash.hex()}, got {record.payload_hash.hex()}")
    if sorted(sig.signature for sig in record.signatures) != sorted({_signature_text(sig.sig)
                                                                     for sig in envelope.signatures}):
        problems.append("signatures: the logged signatures are not the envelope's")
    ours = _ders(expected.verifiers)
    if any(_der_or_none(sig.verifier) not in ours for sig in record.signatures):
        problems.append("verifiers: a logged verifier is not one of ours")
    return problems


def _kind_name(record: EntryRecord) -> str:
    return HASHEDREKORD if isinstance(record, HashedRekord) else DSSE if isinstance(record, DsseRecord) else INTOTO


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
        return f"the entry is a {_kind_name(record)} entry: it records an envelope, not an artifact digest"
    if (record.algorithm, record.digest) != (algorithm, digest):
        return f"the entry is for {record.algorithm}:{record.digest.hex()}, the artifact is {algorithm}:{digest.hex()}"
    return None
