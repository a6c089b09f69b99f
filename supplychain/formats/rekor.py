"""Rekor v1's wire forms, named as Rekor's OpenAPI schema names them (sigstore/rekor ``openapi.yaml``, ``pkg/types``).

Pure: no I/O, no cryptography. Checking a signature in an entry is behaviour and lives in ``supplychain.tlog.kind``.

A client *proposes* an entry (``POST /api/v1/log/entries``, a ``ProposedEntry``); the log validates it and stores a
*canonical body*, the RFC 8785 JSON whose leaf hash ``SHA-256(0x00 || body)`` is the entry's identity (its UUID).

hashedrekord 0.0.1 (``pkg/types/hashedrekord/v0.0.1/hashedrekord_v0_0_1_schema.json``)::

    proposed = body = {"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": "<hex digest>"}},
        "signature": {"content": "<base64 signature>", "publicKey": {"content": "<base64 PEM key or cert>"}}}}

dsse 0.0.1 (``pkg/types/dsse/v0.0.1/dsse_v0_0_1_schema.json``): the client proposes the envelope (a JSON string)
and its ``verifiers`` (base64 PEM keys or certificates); the log stores only hashes and signatures, each with the
``verifier`` that verified it, sorted by signature text::

    {"apiVersion": "0.0.1", "kind": "dsse", "spec": {"proposedContent": {"envelope": "<JSON>", "verifiers": [...]}}}
    {"apiVersion": "0.0.1", "kind": "dsse", "spec": {"envelopeHash": {"algorithm": "sha256", "value": ...},
     "payloadHash": {...}, "signatures": [{"signature": "<base64>", "verifier": "<base64 PEM>"}, ...]}}

intoto 0.0.2 (``pkg/types/intoto/v0.0.2/intoto_v0_0_2_schema.json``), read only (GitHub and npm provenance, older
cosign attestations): the body keeps the envelope without its payload; each signature's ``sig`` is the envelope's
base64 signature text base64-encoded once more (Rekor's ``strfmt.Base64`` of it), ``publicKey`` a base64 PEM::

    {"apiVersion": "0.0.2", "kind": "intoto", "spec": {"content": {
        "envelope": {"payloadType": "...", "signatures": [{"publicKey": "...", "sig": "..."}]},
        "hash": {"algorithm": "sha256", "value": ...}, "payloadHash": {"algorithm": "sha256", "value": ...}}}}

Rekor v2 (``rekor-tiles``, ``api/proto/rekor/v2``) stores ``hashedrekord`` 0.0.2 bodies, protojson with base64
bytes, read only (``HashedRekordV2``); a DSSE envelope is logged as one too, its digest that of the envelope's PAE
(rekor-v2-spec 6.1.4)::

    {"apiVersion": "0.0.2", "kind": "hashedrekord", "spec": {"hashedRekordV002": {
        "data": {"algorithm": "SHA2_256", "digest": "<base64>"},
        "signature": {"content": "<base64>", "verifier": {"keyDetails": "PKIX_ECDSA_P256_SHA_256",
                      "x509Certificate": {"rawBytes": "<base64 DER>"} | "publicKey": {"rawBytes": ...}}}}}}

cosign's ``dev.sigstore.cosign/bundle`` annotation (``RekorBundle``, cosign ``pkg/cosign/bundle/rekor.go``) carries
one ``LogEntry``'s fields and its ``SignedEntryTimestamp``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from supplychain.errors import InvalidInputError, VerificationError
from supplychain.formats.b64 import NonCanonicalBase64Error, decode_canonical
from supplychain.formats.jcs import canonical_json
from supplychain.formats.schema import JsonReader, path, type_name
from supplychain.formats.strictjson import JsonFormatError, NestingError, loads_untrusted

HASHEDREKORD = "hashedrekord"
DSSE = "dsse"
INTOTO = "intoto"
API_VERSION = "0.0.1"
INTOTO_API_VERSION = "0.0.2"

REKOR_BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"
"""The layer annotation cosign writes the ``RekorBundle`` JSON into."""

HashAlgorithm = Literal["sha256", "sha384", "sha512"]
DIGEST_SIZES: dict[str, int] = {"sha256": 32, "sha384": 48, "sha512": 64}
"""The digest algorithms a ``hashedrekord`` 0.0.1 entry may name, and their sizes in bytes."""

MAX_JSON_INTEGER = 2**53 - 1
"""Largest integer RFC 8785 (and so a SET) can carry exactly: JSON numbers are IEEE 754 doubles."""

MAX_BUNDLE_BYTES = 1 << 20
"""Largest ``dev.sigstore.cosign/bundle`` annotation accepted."""

_LOG_ID_RE = re.compile(r"[0-9a-f]{64}", re.ASCII)

__all__ = [
    "API_VERSION",
    "DIGEST_SIZES",
    "DSSE",
    "HASHEDREKORD",
    "INTOTO",
    "INTOTO_API_VERSION",
    "MAX_BUNDLE_BYTES",
    "MAX_JSON_INTEGER",
    "REKOR_BUNDLE_ANNOTATION",
    "REKOR_V2_API_VERSION",
    "DsseProposal",
    "DsseRecord",
    "DsseSignature",
    "EntryFormatError",
    "EntryKindError",
    "EntryRecord",
    "HashAlgorithm",
    "HashedRekord",
    "HashedRekordV2",
    "IntotoRecord",
    "IntotoSignature",
    "LogEntry",
    "RekorBundle",
    "body_kind",
    "check_json_integer",
    "cosign_bundle_document",
    "decode_base64",
    "decode_base64_strict",
    "json_error_text",
    "parse_body",
    "parse_entry",
    "parse_hashedrekord_v2",
]


class EntryKindError(InvalidInputError):
    """A proposed entry or an entry body that is not a valid ``hashedrekord``/``dsse`` 0.0.1 record."""

    default_hint = "supported entry types are hashedrekord 0.0.1 and dsse 0.0.1 (Rekor v1 API)"


class EntryFormatError(VerificationError):
    """Entry evidence that is malformed: bad base64, a missing field, a number out of range."""

    default_hint = "the transparency-log evidence was damaged or was not written by a Rekor-compatible log"


# -- small readers -----------------------------------------------------------------------------------------


def json_error_text(exc: ValueError | RecursionError) -> str:
    """What the strict decoder refused, in words (a ``RecursionError`` says only "maximum recursion depth")."""
    return "arrays and objects nest too deeply" if isinstance(exc, RecursionError | NestingError) else str(exc)


def decode_base64_strict(text: str, what: str) -> bytes:
    """Standard, padded base64 in its one canonical spelling (``formats.b64``), else ``EntryFormatError``.

    A SET signs the base64 text: only the canonical spelling round-trips through the decoded bytes.
    """
    try:
        return decode_canonical(text)
    except NonCanonicalBase64Error as exc:
        raise EntryFormatError(f"{what} is not canonical (padded, standard alphabet) base64") from exc
    except ValueError as exc:
        raise EntryFormatError(f"{what} is not valid base64: {exc.__cause__ or exc}") from exc


def check_json_integer(value: object, what: str) -> int:
    """``value`` if it is an integer a SET can sign exactly (0 to 2^53-1), else ``EntryFormatError``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise EntryFormatError(f"{what} must be an integer, got {type(value).__name__} {value!r}")
    if not 0 <= value <= MAX_JSON_INTEGER:
        raise EntryFormatError(f"{what} {value} is out of range: expected 0 <= {what} <= 2^53-1")
    return value


def decode_base64(text: str, what: str) -> bytes:
    """Strict standard base64 (Rekor's ``strfmt.Base64``), or ``EntryKindError`` naming ``what``."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EntryKindError(f"{what} is not valid base64") from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _hex_digest(value: str, what: str) -> bytes:
    try:
        digest = bytes.fromhex(value)
    except ValueError as exc:
        raise EntryKindError(f"{what} {value[:80]!r} is not hex") from exc
    if value != value.lower():
        raise EntryKindError(f"{what} must be lowercase hex")
    return digest


# -- wire readers (untrusted JSON, after the strict decoder: exact JSON types, required fields, extra fields ignored) --
#
# Written out rather than as pydantic models: every ``verify`` of a logged signature reads an entry body, and pydantic
# (~200 ms to import) would be most of its start-up (docs/architecture.md, "Fast start"). The rules are the ones
# the models had (strict types: a string is a JSON string, an object a JSON object, no coercion; list lengths
# bounded where Rekor's schema bounds them), each refusal one ``EntryKindError`` naming the field's path; the
# readers themselves are ``formats.schema``'s, shared with the TrustedRoot reader (``trust.document``).

_read = JsonReader(EntryKindError)


@dataclass(frozen=True, slots=True)
class _Hash:
    algorithm: str
    value: str


def _hash(obj: dict[str, Any], name: str, where: str) -> _Hash:
    item = _read.child(obj, name, where)
    at = path(where, name)
    return _Hash(_read.string(item, "algorithm", at), _read.string(item, "value", at))


def parse_entry(data: bytes | str | dict[str, Any], what: str) -> tuple[str, str, dict[str, Any]]:
    """``(kind, apiVersion, spec)`` of a ``ProposedEntry`` or a stored body, read strictly."""
    try:
        document = data if isinstance(data, dict) else loads_untrusted(data)
    except JsonFormatError as exc:
        raise EntryKindError(f"{what} is not a Rekor entry: {json_error_text(exc)}") from exc
    try:
        entry = _read.object(document, "document")
        kind, version = _read.string(entry, "kind", ""), _read.string(entry, "apiVersion", "")
        return kind, version, _read.child(entry, "spec", "")
    except EntryKindError as exc:
        raise EntryKindError(f"{what} is not a Rekor entry: {exc.message}") from exc


@contextmanager
def _invalid(what: str) -> Iterator[None]:
    """A reader's refusal as ``invalid <what>: <path>: <problem>``."""
    try:
        yield
    except EntryKindError as exc:
        raise EntryKindError(f"invalid {what}: {exc.message}") from exc


def _sha256(item: _Hash, what: str) -> bytes:
    if item.algorithm != "sha256":
        raise EntryKindError(f"{what} algorithm {item.algorithm!r} is not sha256")
    digest = _hex_digest(item.value, what)
    if len(digest) != 32:
        raise EntryKindError(f"{what} is {len(digest)} bytes, a sha256 digest is 32")
    return digest


# -- hashedrekord ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HashedRekord:
    """A ``hashedrekord`` 0.0.1 record: a signature over a digest, and the key (or certificate) that made it."""

    algorithm: HashAlgorithm
    digest: bytes
    signature: bytes
    public_key: bytes  # PEM: as the signer sends it, or canonical when read from a body

    def __post_init__(self) -> None:
        if self.algorithm not in DIGEST_SIZES:
            raise EntryKindError(f"unsupported hash algorithm {self.algorithm!r}: expected sha256, sha384 or sha512")
        expected = DIGEST_SIZES[self.algorithm]
        if len(self.digest) != expected:
            raise EntryKindError(f"a {self.algorithm} digest is {expected} bytes, got {len(self.digest)}")
        if not self.signature:
            raise EntryKindError("the signature is empty")

    def spec(self) -> dict[str, Any]:
        """The ``spec``, the same in a proposal and a body."""
        return {
            "data": {"hash": {"algorithm": self.algorithm, "value": self.digest.hex()}},
            "signature": {"content": _b64(self.signature), "publicKey": {"content": _b64(self.public_key)}},
        }

    def proposed_entry(self) -> dict[str, Any]:
        """The ``POST /api/v1/log/entries`` request body."""
        return {"apiVersion": API_VERSION, "kind": HASHEDREKORD, "spec": self.spec()}

    def body(self) -> bytes:
        """RFC 8785 JSON of the record, as the log stores it (once ``public_key`` is the canonical PEM)."""
        return canonical_json(self.proposed_entry())

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> HashedRekord:
        """Read the ``spec`` of a proposed entry or a body."""
        with _invalid("hashedrekord spec"):
            root = _read.object(spec, "spec")
            data_hash = _hash(_read.child(root, "data", ""), "hash", "data")
            signature = _read.child(root, "signature", "")
            content = _read.string(signature, "content", "signature")
            public_key = _read.string(_read.child(signature, "publicKey", "signature"), "content",
                                      "signature.publicKey")
        digest = _hex_digest(data_hash.value, "hashedrekord hash value")
        algorithm = data_hash.algorithm
        if algorithm not in DIGEST_SIZES:
            raise EntryKindError(f"unsupported hash algorithm {algorithm!r}: expected sha256, sha384 or sha512")
        return cls(
            algorithm,  # type: ignore[arg-type]  # checked against DIGEST_SIZES just above
            digest,
            decode_base64(content, "hashedrekord signature"),
            decode_base64(public_key, "hashedrekord public key"),
        )


# -- dsse ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DsseSignature:
    """One signature of a ``dsse`` body: the base64 signature text and the PEM ``verifier`` that verified it."""

    signature: str
    verifier: bytes


@dataclass(frozen=True, slots=True)
class DsseRecord:
    """A ``dsse`` 0.0.1 body: hashes of the envelope and of its payload, and the verified signatures."""

    envelope_hash: bytes
    payload_hash: bytes
    signatures: tuple[DsseSignature, ...]

    def body(self) -> bytes:
        """RFC 8785 JSON of the body, signatures sorted by signature text (Rekor's ``Canonicalize``)."""
        ordered = sorted(self.signatures, key=lambda sig: sig.signature)
        return canonical_json(
            {
                "apiVersion": API_VERSION,
                "kind": DSSE,
                "spec": {
                    "envelopeHash": {"algorithm": "sha256", "value": self.envelope_hash.hex()},
                    "payloadHash": {"algorithm": "sha256", "value": self.payload_hash.hex()},
                    "signatures": [{"signature": sig.signature, "verifier": _b64(sig.verifier)} for sig in ordered],
                },
            }
        )

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> DsseRecord:
        """Read the ``spec`` of a stored dsse body."""
        with _invalid("dsse body"):
            root = _read.object(spec, "spec")
            envelope_hash, payload_hash = _hash(root, "envelopeHash", ""), _hash(root, "payloadHash", "")
            pairs = [(_read.string(item, "signature", where), _read.string(item, "verifier", where))
                     for where, item in _read.objects(root, "signatures", "", least=1)]
        signatures = tuple(DsseSignature(sig, decode_base64(verifier, "dsse verifier")) for sig, verifier in pairs)
        return cls(_sha256(envelope_hash, "dsse envelopeHash"), _sha256(payload_hash, "dsse payloadHash"),
                   signatures)


@dataclass(frozen=True, slots=True)
class DsseProposal:
    """A ``dsse`` 0.0.1 proposal: the envelope JSON exactly as it will be hashed, and its verifiers (PEM)."""

    envelope: bytes
    verifiers: tuple[bytes, ...]

    def proposed_entry(self) -> dict[str, Any]:
        """The ``POST /api/v1/log/entries`` request body."""
        return {
            "apiVersion": API_VERSION,
            "kind": DSSE,
            "spec": {
                "proposedContent": {
                    "envelope": self.envelope.decode("utf-8"),
                    "verifiers": [_b64(key) for key in self.verifiers],
                }
            },
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> DsseProposal:
        """Read the ``spec`` of a proposed dsse entry."""
        with _invalid("dsse proposal"):
            content = _read.child(_read.object(spec, "spec"), "proposedContent", "")
            envelope = _read.string(content, "envelope", "proposedContent")
            verifiers = _read.array(content, "verifiers", "proposedContent", least=1, most=64)
            for number, key in enumerate(verifiers):
                if not isinstance(key, str):
                    raise EntryKindError(f"proposedContent.verifiers.{number}: expected a string, got "
                                         f"{type_name(key)}")
        keys = tuple(decode_base64(key, "dsse verifier") for key in verifiers)
        return cls(envelope.encode("utf-8"), keys)


# -- intoto (read only) ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IntotoSignature:
    """One signature of an ``intoto`` 0.0.2 body: the envelope's signature text and the PEM key or certificate."""

    sig: str
    public_key: bytes


@dataclass(frozen=True, slots=True)
class IntotoRecord:
    """An ``intoto`` 0.0.2 body: the envelope's payload type, hashes, and signatures (the payload is not kept)."""

    payload_type: str
    envelope_hash: bytes
    payload_hash: bytes
    signatures: tuple[IntotoSignature, ...]

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> IntotoRecord:
        """Read the ``spec`` of a stored intoto 0.0.2 body."""
        with _invalid("intoto body"):
            content = _read.child(_read.object(spec, "spec"), "content", "")
            envelope = _read.child(content, "envelope", "content")
            payload_type = _read.string(envelope, "payloadType", "content.envelope")
            raw = []
            for where, item in _read.objects(envelope, "signatures", "content.envelope", least=1, most=64):
                _read.optional_string(item, "keyid", where)
                raw.append((_read.string(item, "sig", where), _read.string(item, "publicKey", where)))
            content_hash = _hash(content, "hash", "content")
            payload_hash = _hash(content, "payloadHash", "content")
        signatures = []
        for number, (encoded, public_key) in enumerate(raw):
            sig = decode_base64(encoded, f"intoto signature {number}")  # base64 of the envelope's base64 text
            try:
                text = sig.decode("ascii")
            except UnicodeDecodeError as exc:
                raise EntryKindError(f"intoto signature {number} is not base64 signature text") from exc
            signatures.append(IntotoSignature(text, decode_base64(public_key, f"intoto public key {number}")))
        return cls(payload_type, _sha256(content_hash, "intoto hash"),
                   _sha256(payload_hash, "intoto payloadHash"), tuple(signatures))


EntryRecord = HashedRekord | DsseRecord | IntotoRecord


# -- hashedrekord 0.0.2 (Rekor v2, read only) ------------------------------------------------------------------

REKOR_V2_API_VERSION = "0.0.2"
# protobuf-specs HashAlgorithm names a Rekor v2 body may carry, with their digest sizes.
_V2_DIGEST_SIZES = {"SHA2_256": 32, "SHA2_384": 48, "SHA2_512": 64}


@dataclass(frozen=True, slots=True)
class HashedRekordV2:
    """A ``hashedrekord`` 0.0.2 body (Rekor v2): a signature over a digest, and the DER certificate or public key
    that verifies it (``verifier_is_certificate`` says which)."""

    algorithm: str  # protobuf-specs HashAlgorithm: "SHA2_256"...
    digest: bytes
    signature: bytes
    verifier: bytes  # DER
    verifier_is_certificate: bool
    key_details: str

    @property
    def hash_name(self) -> str:
        """The digest algorithm in the spelling of ``hashlib`` (``sha256``)."""
        return "sha" + self.algorithm.removeprefix("SHA2_")


def _v2_bytes(obj: dict[str, Any], name: str, where: str) -> bytes:
    text = _read.string(obj, name, where)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EntryKindError(f"{path(where, name)} is not valid base64") from exc


def parse_hashedrekord_v2(body: bytes) -> HashedRekordV2:
    """Read a stored Rekor v2 ``hashedrekord`` 0.0.2 body; ``EntryKindError`` for anything else or malformed."""
    kind, version, spec = parse_entry(body, "the entry body")
    if (kind, version) != (HASHEDREKORD, REKOR_V2_API_VERSION):
        raise EntryKindError(f"entry body is {kind} {version}, not hashedrekord 0.0.2")
    with _invalid("hashedrekord 0.0.2 spec"):
        root = _read.child(_read.object(spec, "spec"), "hashedRekordV002", "spec")
        data = _read.child(root, "data", "hashedRekordV002")
        algorithm = _read.string(data, "algorithm", "data")
        digest = _v2_bytes(data, "digest", "data")
        signature = _read.child(root, "signature", "hashedRekordV002")
        content = _v2_bytes(signature, "content", "signature")
        verifier = _read.child(signature, "verifier", "signature")
        key_details = _read.string(verifier, "keyDetails", "signature.verifier")
        if ("x509Certificate" in verifier) == ("publicKey" in verifier):
            raise EntryKindError("signature.verifier: expected exactly one of x509Certificate and publicKey")
        is_certificate = "x509Certificate" in verifier
        material = _read.child(verifier, "x509Certificate" if is_certificate else "publicKey", "signature.verifier")
        der = _v2_bytes(material, "rawBytes", "signature.verifier")
    if _V2_DIGEST_SIZES.get(algorithm) != len(digest):
        raise EntryKindError(f"hashedrekord 0.0.2 digest: expected SHA2_256, SHA2_384 or SHA2_512 of its size, got "
                             f"{algorithm[:40]!r} of {len(digest)} bytes")
    if not content or not der:
        raise EntryKindError("hashedrekord 0.0.2: the signature or its verifier is empty")
    return HashedRekordV2(algorithm, digest, content, der, is_certificate, key_details)


def parse_body(body: bytes) -> EntryRecord:
    """Read a stored body: ``hashedrekord`` or ``dsse`` 0.0.1, ``intoto`` 0.0.2; other kinds raise
    ``EntryKindError``."""
    kind, version, spec = parse_entry(body, "the entry body")
    if (kind, version) == (HASHEDREKORD, API_VERSION):
        return HashedRekord.from_spec(spec)
    if (kind, version) == (DSSE, API_VERSION):
        return DsseRecord.from_spec(spec)
    if (kind, version) == (INTOTO, INTOTO_API_VERSION):
        return IntotoRecord.from_spec(spec)
    raise EntryKindError(f"entry body is {kind} {version}, not hashedrekord or dsse 0.0.1 (or intoto 0.0.2)")


def body_kind(body: bytes) -> tuple[str, str]:
    """``(kind, apiVersion)`` of any Rekor body (``intoto``, ``rekord``... included)."""
    kind, version, _ = parse_entry(body, "the entry body")
    return kind, version


# -- LogEntry and cosign's RekorBundle -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogEntry:
    """The fields of a Rekor v1 ``LogEntry`` that its signed entry timestamp covers.

    ``logID`` is the hex SHA-256 of the log key's DER SubjectPublicKeyInfo; the body is kept as the log's bytes.
    """

    body: bytes
    integrated_time: int
    log_index: int
    log_id: str

    def __post_init__(self) -> None:
        check_json_integer(self.integrated_time, "integratedTime")
        check_json_integer(self.log_index, "logIndex")
        if not _LOG_ID_RE.fullmatch(self.log_id):
            raise EntryFormatError(f"log ID {self.log_id!r} is not 64 lowercase hex characters")

    @classmethod
    def from_base64(cls, body: str, integrated_time: int, log_index: int, log_id: str) -> LogEntry:
        """Build an entry from the wire form (base64 body), checking the base64 is canonical."""
        return cls(decode_base64_strict(body, "entry body"), integrated_time, log_index, log_id)

    @property
    def body_base64(self) -> str:
        """The body as Rekor sends it (standard, padded base64)."""
        return base64.b64encode(self.body).decode()

    def timestamp_payload(self) -> bytes:
        """The bytes a SET signs: RFC 8785 canonical JSON of body, integratedTime, logID and logIndex."""
        return canonical_json(
            {
                "body": self.body_base64,
                "integratedTime": self.integrated_time,
                "logID": self.log_id,
                "logIndex": self.log_index,
            }
        )


def _exact_keys(value: object, keys: set[str], what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EntryFormatError(f"{what} must be a JSON object, got {type(value).__name__}")
    if set(value) != keys:
        raise EntryFormatError(f"{what} has keys {sorted(value)}, expected exactly {sorted(keys)}")
    return value


@dataclass(frozen=True, slots=True)
class RekorBundle:
    """cosign's ``dev.sigstore.cosign/bundle`` annotation: a Rekor v1 entry and its signed entry timestamp.

    Wire form (cosign writes the keys in this order; containers/image accepts exactly these keys)::

        {"SignedEntryTimestamp": "<base64 SET>",
         "Payload": {"body": "<base64 body>", "integratedTime": 1, "logIndex": 2, "logID": "<hex>"}}
    """

    signed_entry_timestamp: bytes
    entry: LogEntry

    @classmethod
    def parse(cls, data: str | bytes) -> RekorBundle:
        """Parse the annotation strictly; raise ``EntryFormatError`` on anything else."""
        if len(data) > MAX_BUNDLE_BYTES:
            raise EntryFormatError(f"Rekor bundle is larger than {MAX_BUNDLE_BYTES} bytes")
        try:
            document = loads_untrusted(data)
        except JsonFormatError as exc:  # duplicate keys, bad UTF-8, numbers out of range, deep nesting
            raise EntryFormatError(f"Rekor bundle is not valid JSON: {json_error_text(exc)}") from exc
        top = _exact_keys(document, {"SignedEntryTimestamp", "Payload"}, "Rekor bundle")
        payload = _exact_keys(top["Payload"], {"body", "integratedTime", "logIndex", "logID"}, "Rekor bundle Payload")
        signature, body, entry_log_id = top["SignedEntryTimestamp"], payload["body"], payload["logID"]
        for value, what in ((signature, "SignedEntryTimestamp"), (body, "Payload.body"), (entry_log_id, "logID")):
            if not isinstance(value, str):
                raise EntryFormatError(f"Rekor bundle {what} must be a string, got {type(value).__name__}")
        entry = LogEntry.from_base64(body, payload["integratedTime"], payload["logIndex"], entry_log_id)
        return cls(decode_base64_strict(signature, "SignedEntryTimestamp"), entry)

    def to_document(self) -> dict[str, Any]:
        """The annotation as a JSON object, in cosign's (Go's struct) key order."""
        return {
            "SignedEntryTimestamp": base64.b64encode(self.signed_entry_timestamp).decode(),
            "Payload": {
                "body": self.entry.body_base64,
                "integratedTime": self.entry.integrated_time,
                "logIndex": self.entry.log_index,
                "logID": self.entry.log_id,
            },
        }

    def to_json(self) -> str:
        """The annotation value, in cosign's key order, compact."""
        return json.dumps(self.to_document(), separators=(",", ":"))


def cosign_bundle_document(text: str) -> dict[str, Any]:
    """The annotation as cosign's Go ``RekorBundle`` struct reads it and re-marshals it (what ``download signature``
    and ``verify`` print): ``SignedEntryTimestamp`` (base64, re-encoded as Go round-trips ``[]byte``), then
    ``Payload`` with ``body``, ``integratedTime``, ``logIndex``, ``logID`` in that order; unknown keys dropped and
    missing ones zero, as ``json.Unmarshal`` does. Verification reads the annotation strictly (``RekorBundle``)."""
    try:
        document = loads_untrusted(text)
    except JsonFormatError as exc:
        raise EntryFormatError(f"the bundle annotation is not valid JSON: {json_error_text(exc)}") from exc
    if not isinstance(document, dict):
        raise EntryFormatError("the bundle annotation is not a JSON object")
    payload = document.get("Payload")
    if not isinstance(payload, dict):
        raise EntryFormatError("the bundle annotation has no Payload object")
    signature = document.get("SignedEntryTimestamp", "")
    if not isinstance(signature, str):
        raise EntryFormatError("bundle SignedEntryTimestamp is not a base64 string")
    try:
        signature = base64.b64encode(base64.b64decode(signature, validate=True)).decode("ascii")
    except (binascii.Error, ValueError) as exc:
        raise EntryFormatError("bundle SignedEntryTimestamp is not valid base64") from exc
    fields: dict[str, Any] = {"body": payload.get("body")}
    for name in ("integratedTime", "logIndex"):
        value = payload.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int):
            raise EntryFormatError(f"bundle {name} is not an integer")
        fields[name] = value
    log_id = payload.get("logID", "")
    if not isinstance(log_id, str):
        raise EntryFormatError("bundle logID is not a string")
    fields["logID"] = log_id
    return {"SignedEntryTimestamp": signature, "Payload": fields}
