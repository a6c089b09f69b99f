"""The checks one signature goes through, each returning a ``CheckOutcome`` ("expected X, got Y").

Order matters. The signature is verified first, with the given public keys or with the key of the signing
certificate the evidence carries (certificate mode), and only then are the signed claims parsed (untrusted bytes
are not interpreted before they are authenticated). Then each ``EvidenceCheck`` runs, in this order:

- ``TransparencyLogCheck`` (``verify.transparency``): the Rekor evidence of exactly this signature verifies with a
  trusted log key; its ``integratedTime``, when a SET signed it, is handed on in the ``CheckContext``;
- ``CertificateCheck`` (``verify.certificate``): the signing certificate chains to the trusted roots *at that time*
  and names the expected identity and OIDC issuer;
- ``ClaimsCheck``: the digest claim names the image being verified (simple-signing ``docker-manifest-digest``,
  or a statement subject with predicateType ``https://sigstore.dev/cosign/sign/v1``). Without it, a signature
  copied from another image would verify (SPECS.md "cosign, legacy tag scheme"; cosign ``--check-claims``);
- ``AnnotationCheck``: every ``-a key=value`` is signed, with that exact string value (cosign ``verify -a``);
- ``ReferenceCheck``: the signed docker-reference names the repository being verified (containers/image's
  ``matchRepository``; off by default as in cosign, since mirrored images keep their original name).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, assert_never

from cryptography import x509

from supplychain.digest import Digest
from supplychain.errors import InvalidReferenceError
from supplychain.formats.error import InvalidPayloadError
from supplychain.formats.intoto import COSIGN_SIGN_PREDICATE, parse_statement
from supplychain.keys import PublicKey
from supplychain.reference import parse_image_reference
from supplychain.signing.payload import SIMPLE_SIGNING_TYPE, parse_payload
from supplychain.signing.signature import first_key_verifying_digest, first_verifying_key
from supplychain.verify.evidence import PayloadKind, SignatureEvidence
from supplychain.verify.result import CheckName, CheckOutcome

if TYPE_CHECKING:
    from supplychain.verify.timestamp import VerifiedTimestamp


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified signature says, whatever its format."""

    docker_reference: str
    claimed_digests: tuple[str, ...]  # "sha256:<hex>" strings as signed
    annotations: Mapping[str, Any]
    predicate_type: str | None  # in-toto only
    shaped: Mapping[str, Any]  # the cosign simple-signing JSON shape, for output

    def names(self, digest: Digest) -> bool:
        return str(digest) in self.claimed_digests


@dataclass(frozen=True, slots=True)
class Signer:
    """Who made a signature: the public key that verified it and, in certificate mode, the (untrusted until
    ``CertificateCheck`` passes) leaf certificate and the chain the evidence carries."""

    public_key: PublicKey
    certificate: x509.Certificate | None = None
    chain: tuple[x509.Certificate, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What the checks of one signature share: the image, the verified signer, the signed claims (``None`` if
    they could not be parsed, with ``parse_error``), whether the transparency-log check passed, and the time
    the log vouched for (its SET signs ``integratedTime``; an entry proven only by an inclusion proof has none)."""

    subject: Digest
    signer: Signer
    claims: Claims | None = None
    parse_error: str | None = None
    log_time: int | None = None  # Unix seconds: the SET-verified integratedTime of the signature's log entry
    log_verified: bool = False  # the transparency-log check ran and passed
    # The bundle's RFC 3161 timestamps that trusted authorities verified, verified once per signature before the
    # checks run (the log check dates an entry without a SET by them, the certificate check holds the chain at
    # each), and why the bundle's timestamps were refused (None: none refused, or none to verify).
    timestamps: tuple[VerifiedTimestamp, ...] = ()
    timestamp_problem: str | None = None


def check_signature(
    evidence: SignatureEvidence, keys: tuple[PublicKey, ...], *, certificate: bool = False
) -> tuple[CheckOutcome, int | None]:
    """Verify the signature over the signed bytes with each key; the outcome and the verifying key's index."""
    assert evidence.signature is not None and evidence.signed_bytes is not None
    if evidence.kind is PayloadKind.MESSAGE:  # signed_bytes is the artifact's SHA-256 (bundle messageSignature)
        index = first_key_verifying_digest(keys, evidence.signature, evidence.signed_bytes, "sha256")
    else:
        index = first_verifying_key(keys, evidence.signature, evidence.signed_bytes)
    if index is None:
        what = {PayloadKind.SIMPLE_SIGNING: "the payload", PayloadKind.IN_TOTO: "the DSSE envelope",
                PayloadKind.MESSAGE: "the artifact's digest"}[evidence.kind]
        by = "the signing certificate's key" if certificate else (
            "the given key" if len(keys) == 1 else f"the given {len(keys)} keys")
        detail = f"expected a signature over {what} by {by}, got one that does not verify"
        return CheckOutcome(CheckName.SIGNATURE, False, detail), None
    detail = "verified with the signing certificate's key" if certificate else f"verified with key {index + 1}"
    return CheckOutcome(CheckName.SIGNATURE, True, detail), index


def read_claims(evidence: SignatureEvidence, subject: Digest) -> Claims:
    """Parse the signed document into ``Claims``; raise ``InvalidPayloadError`` if it is malformed."""
    assert evidence.payload is not None
    match evidence.kind:
        case PayloadKind.SIMPLE_SIGNING:
            payload = parse_payload(evidence.payload)
            return Claims(payload.docker_reference, (str(payload.digest),), dict(payload.optional or {}), None,
                          payload.to_json())
        case PayloadKind.IN_TOTO:
            statement = parse_statement(evidence.payload)
            chosen = statement.subject_for(subject) or statement.subjects[0]
            claimed = tuple(f"{alg}:{hex_.lower()}" for s in statement.subjects for alg, hex_ in s.digests.items())
            matched = statement.subject_for(subject) is not None
            shaped = {
                "critical": {
                    "identity": {"docker-reference": chosen.name},
                    "image": {"docker-manifest-digest": str(subject) if matched else claimed[0]},
                    "type": SIMPLE_SIGNING_TYPE,
                },
                "optional": dict(chosen.annotations) or None,
            }
            return Claims(chosen.name, claimed, dict(chosen.annotations), statement.predicate_type, shaped)
        case PayloadKind.MESSAGE:
            # The claim is the bundle's messageDigest (protobuf-specs: SHOULD be present); without one, the digest
            # the signature verified over is the claim.
            message = evidence.bundle.message_signature if evidence.bundle is not None else None
            if message is not None and message.digest is not None:
                if message.digest_algorithm != "SHA2_256":
                    raise InvalidPayloadError(f"the bundle's messageDigest is {message.digest_algorithm}, expected "
                                              "SHA2_256")
                claimed = (f"sha256:{message.digest.hex()}",)
            else:
                claimed = (str(subject),)
            return Claims("", claimed, {}, None, {})
        case _:
            assert_never(evidence.kind)


class EvidenceCheck(Protocol):
    """A check on a signature whose cryptography passed; a verdict, never an exception for bad evidence."""

    @property
    def name(self) -> CheckName: ...

    @property
    def description(self) -> str:
        """The line ``verify`` prints under "The following checks were performed"."""
        ...

    def run(self, evidence: SignatureEvidence, context: CheckContext) -> CheckOutcome: ...


@dataclass(frozen=True, slots=True)
class ClaimsCheck:
    """The signed digest claim equals the digest being verified, and a signed statement is of ``predicate_type``
    (cosign's sign predicate for an image signature; ``verify-attestation --type``'s for an attestation, where a
    simple-signing payload, which has no predicate type, does not count; ``None``: any statement, as
    ``verify-blob`` accepts any statement naming the blob)."""

    predicate_type: str | None = COSIGN_SIGN_PREDICATE
    name: CheckName = CheckName.CLAIMS
    description: str = "The cosign claims were validated"

    def run(self, evidence: SignatureEvidence, context: CheckContext) -> CheckOutcome:
        claims, subject = context.claims, context.subject
        if claims is None:
            return CheckOutcome(self.name, False, "the signed payload could not be parsed")
        if self.predicate_type is not None:
            signature = claims.predicate_type is None and self.predicate_type == COSIGN_SIGN_PREDICATE
            if claims.predicate_type != self.predicate_type and not signature:
                got = claims.predicate_type or "a simple-signing payload, which has none"
                return CheckOutcome(self.name, False, f"expected predicateType {self.predicate_type}, got {got}")
        if not claims.names(subject):
            got = ", ".join(claims.claimed_digests)
            what = "an attestation" if self.predicate_type not in (None, COSIGN_SIGN_PREDICATE) else "a signature"
            return CheckOutcome(self.name, False, f"expected {what} for {subject}, got one for {got}")
        return CheckOutcome(self.name, True, f"signed digest is {subject}")


@dataclass(frozen=True, slots=True)
class AnnotationCheck:
    """Every required annotation is signed with exactly the required string value."""

    required: Mapping[str, str]
    name: CheckName = CheckName.ANNOTATIONS
    description: str = "The specified annotations were verified."  # cosign's line, its full stop included

    def run(self, evidence: SignatureEvidence, context: CheckContext) -> CheckOutcome:
        claims = context.claims
        if claims is None:
            return CheckOutcome(self.name, False, "the signed payload could not be parsed")
        for key, wanted in sorted(self.required.items()):
            if key not in claims.annotations:
                return CheckOutcome(self.name, False, f"expected annotation {key}={wanted}, got none for {key}")
            have = claims.annotations[key]
            if have != wanted:
                return CheckOutcome(self.name, False,
                                    f"expected annotation {key}={wanted}, got {key}={json.dumps(have)}")
        return CheckOutcome(self.name, True, f"{len(self.required)} annotations matched")


@dataclass(frozen=True, slots=True)
class ReferenceCheck:
    """The signed docker-reference names ``repository`` (tag and digest ignored, names normalised)."""

    repository: str
    name: CheckName = CheckName.REFERENCE
    description: str = "The signed docker-reference was matched against the repository being verified"

    def run(self, evidence: SignatureEvidence, context: CheckContext) -> CheckOutcome:
        claims = context.claims
        if claims is None:
            return CheckOutcome(self.name, False, "the signed payload could not be parsed")
        try:
            signed = parse_image_reference(claims.docker_reference).name
        except InvalidReferenceError:
            return CheckOutcome(self.name, False, f"expected a docker-reference naming {self.repository}, "
                                                  f"got {claims.docker_reference!r}, which does not parse")
        if signed != self.repository:
            return CheckOutcome(self.name, False,
                                f"expected a docker-reference naming {self.repository}, got {claims.docker_reference}")
        return CheckOutcome(self.name, True, f"docker-reference {claims.docker_reference}")


def parse_claims(evidence: SignatureEvidence, subject: Digest) -> tuple[Claims | None, str | None]:
    """``read_claims`` as a value: the claims, or the parse error's message."""
    try:
        return read_claims(evidence, subject), None
    except InvalidPayloadError as exc:
        return None, exc.message
