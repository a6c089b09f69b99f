"""The transparency-log check of one signature: its Rekor evidence, verified offline (and with ``online``, again
against the log itself).

Where the evidence is (what ``sign`` and cosign write):

* legacy ``.sig`` layer: cosign's Rekor bundle in the annotation ``dev.sigstore.cosign/bundle`` (SET only);
* Sigstore bundle: ``verificationMaterial.tlogEntries`` (inclusion promise and/or inclusion proof with checkpoint).

What must hold, for at least one entry (cosign and containers/image ``signature/internal/rekor_set.go``; the
Sigstore client spec "Transparency log entry verification"):

1. **The entry is about exactly this signature.** Its body, compared *before* anything else is believed, must
   record the signature being verified, the key (or certificate) that verified it, and the digest of the signed
   payload: a ``hashedrekord`` with ``sha256(payload)`` for a legacy layer, a ``dsse`` entry with
   ``sha256(statement)`` and the one envelope signature for a bundle. A valid entry of another signature, key or
   artifact spliced next to ours proves nothing about ours (cosign CVE-2022-23649, where the bundle's body was not
   compared with the signature; CVE-2026-22703, evidence checked against other material than what was verified).
2. **A trusted log made it** (``tlog.evidence.verify_entry``): the entry's log ID names a trusted key (a SET from
   another log is refused); the SET verifies over the entry (RFC 8785 canonical JSON of body, integratedTime,
   logID, logIndex); the key was valid at the entry's ``integratedTime`` if the SET signed it, else at the current
   time (an unsigned ``integratedTime`` is never used); an inclusion proof, where present, leads from the body's
   leaf to a root in a checkpoint signed by that key (RFC 9162 2.1.3.2). A legacy annotation must carry the SET; a
   bundle entry what its bundle version requires (v0.1: the SET; v0.2+: a proof with its checkpoint,
   ``tlog.evidence.bundle_entries`` of the bundle value parsed when it was read).
3. **Online** (``--tlog-online``): the log still holds the entry (fetched by UUID, same body, index, time and log)
   and proves its inclusion in its current signed tree; a checkpoint held in the evidence must be consistent with
   it (``RekorClient.confirm_entry``). A log without the entry is a rejection; a log that cannot be reached is an
   error (the tool could not answer).

The outcome carries the SET-verified ``integratedTime`` (``log_time``; ``None`` for an entry without a SET), at
which ``CertificateCheck`` verifies a short-lived signing certificate, and, for a legacy layer, cosign's ``Bundle``
for the printed payload.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, assert_never

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from supplychain.clock import Clock, utc_now
from supplychain.digest import Digest
from supplychain.errors import IntegrityError, InvalidInputError, NotFoundError, VerificationError
from supplychain.formats.rekor import (
    HASHEDREKORD,
    REKOR_BUNDLE_ANNOTATION,
    REKOR_V2_API_VERSION,
    DsseRecord,
    EntryFormatError,
    EntryKindError,
    HashedRekord,
    HashedRekordV2,
    IntotoRecord,
    RekorBundle,
    body_kind,
    cosign_bundle_document,
    parse_body,
    parse_hashedrekord_v2,
)
from supplychain.signing import legacy
from supplychain.tlog.evidence import RekorEntry, bundle_entries, rekor_bundle_entry, verify_entry
from supplychain.tlog.pki import VerifierKey
from supplychain.trust.keyring import LogKeyring
from supplychain.verify.check import CheckContext, Signer
from supplychain.verify.evidence import PayloadKind, SignatureEvidence
from supplychain.verify.result import CheckName, CheckOutcome

if TYPE_CHECKING:
    from supplychain.tlog.client import RekorClient  # only an online check has one (and loads it)

IGNORE_FLAG = "--insecure-ignore-tlog"
OFFLINE_DESCRIPTION = "Existence of the claims in the transparency log was verified offline"
ONLINE_DESCRIPTION = "The claims were present in the transparency log, and its inclusion was proven online"
# Failures that are a verdict on the evidence, not an inability to answer (those, e.g. an unreachable log, raise).
_VERDICT_ERRORS = (VerificationError, IntegrityError, InvalidInputError, NotFoundError)




@dataclass(frozen=True, slots=True)
class TransparencyLogCheck:
    """At least one transparency-log entry of the evidence records exactly this signature and verifies.

    ``keyring``: the trusted log keys; ``online``: a client for the log to confirm each entry with too; ``clock``:
    the current time, at which a log key's validity is checked for an entry without a SET. ``threshold``: how many
    *distinct logs* must have verified entries of this signature (``--tlog-threshold``): two entries of one log
    count once (CVE-2026-49834), so every entry is checked, not only the first that passes.
    """

    keyring: LogKeyring
    online: RekorClient | None = None
    clock: Clock = utc_now
    threshold: int = 1
    name: CheckName = CheckName.TLOG

    @property
    def description(self) -> str:
        """cosign's wording for what was checked."""
        if self.online is not None:
            return ONLINE_DESCRIPTION
        return OFFLINE_DESCRIPTION

    def run(self, evidence: SignatureEvidence, context: CheckContext) -> CheckOutcome:
        """The verdict on the signature's log evidence (see the module docstring)."""
        entries, problem = _entries(evidence)
        if problem is not None:
            return CheckOutcome(self.name, False, problem)
        keyring = self.keyring
        require_timestamp = evidence.bundle is None  # cosign's annotation carries only the SET
        failures: list[str] = []
        passed: dict[bytes, tuple[RekorEntry, Any]] = {}  # log ID -> its first verified entry
        clock = _entry_clock(context, self.clock)
        for entry in entries:
            mismatch = _body_mismatch(entry, evidence, context.signer, context.subject)
            if mismatch is not None:
                failures.append(f"entry {entry.log_index}: {mismatch}")
                continue
            try:
                verification = verify_entry(entry, keyring, require_timestamp=require_timestamp, clock=clock)
                if self.online is not None:
                    verification = self.online.confirm_entry(entry).verification
            except _VERDICT_ERRORS as exc:
                failures.append(f"entry {entry.log_index}: {exc.message}")
                continue
            passed.setdefault(verification.log.key.log_id, (entry, verification))
            if len(passed) >= self.threshold:
                break
        if len(passed) < self.threshold:
            if self.threshold > 1 and passed:
                failures.insert(0, f"expected verified entries from {self.threshold} distinct trusted logs, got "
                                   f"{len(passed)} (entries of one log count once)")
            return CheckOutcome(self.name, False, "; ".join(failures) or "no entry verified")
        first, verification = next(iter(passed.values()))
        log_time = verification.integrated_time  # signed by the log, or None: never the unsigned field
        where = " online" if self.online is not None else ""
        detail = f"entry {first.log_index} of {verification.log.label}{where}: {verification.summary()}"
        if len(passed) > 1:
            detail += f" (and {len(passed) - 1} more logs)"
        return CheckOutcome(self.name, True, detail, log_time=log_time, optional=_cosign_optional(evidence))


def _entry_clock(context: CheckContext, clock: Clock) -> Callable[[], float]:
    """The time a log key is checked at for an entry without a SET (Rekor v2): the earliest of the signature's
    verified RFC 3161 timestamps (its key must have been valid then, not now: a Rekor v2 shard's key retires with
    the shard), else the current time."""
    if context.timestamps:
        earliest = min(stamp.time for stamp in context.timestamps).timestamp()
        return lambda: earliest
    return lambda: clock().timestamp()


def _entries(evidence: SignatureEvidence) -> tuple[list[RekorEntry], str | None]:
    """The log entries the evidence carries, or why there are none to check: a layer's (``.sig``, and ``.att``,
    whose DSSE envelope is logged as a ``dsse`` entry) in cosign's Rekor bundle annotation, a bundle's in its
    ``tlogEntries``."""
    match evidence.kind:
        case PayloadKind.SIMPLE_SIGNING:
            return _annotation_entries(evidence)
        case PayloadKind.IN_TOTO | PayloadKind.MESSAGE:
            if evidence.bundle is None:
                return _annotation_entries(evidence)
            bundle = evidence.bundle
            if not bundle.tlog_entries:
                return [], ("expected a transparency-log entry in the bundle's verificationMaterial.tlogEntries, "
                            f"got none ({IGNORE_FLAG} skips this check)")
            try:
                return bundle_entries(bundle), None
            except _VERDICT_ERRORS as exc:
                return [], f"expected valid tlogEntries in the bundle, got: {exc.message}"
        case _:
            assert_never(evidence.kind)


def _annotation_entries(evidence: SignatureEvidence) -> tuple[list[RekorEntry], str | None]:
    """The entry in a layer's ``dev.sigstore.cosign/bundle`` annotation (cosign's Rekor bundle: the SET only)."""
    value = legacy.annotation_value(evidence.annotations, (REKOR_BUNDLE_ANNOTATION,))
    if value is None:
        return [], (f"expected a Rekor bundle in the {REKOR_BUNDLE_ANNOTATION} annotation, got none "
                    f"(missing {REKOR_BUNDLE_ANNOTATION} annotation; {IGNORE_FLAG} skips this check)")
    try:
        return [rekor_bundle_entry(RekorBundle.parse(value))], None
    except _VERDICT_ERRORS as exc:
        return [], f"expected a Rekor bundle in {REKOR_BUNDLE_ANNOTATION}, got one that is invalid: {exc.message}"


def _body_mismatch(entry: RekorEntry, evidence: SignatureEvidence, signer: Signer, subject: Digest) -> str | None:
    """Why the logged body is not a record of exactly this signature, key and payload (or, for a message signature,
    artifact: ``subject``); ``None`` when it is."""
    assert evidence.payload is not None and evidence.signature is not None
    try:
        if body_kind(entry.entry.body) == (HASHEDREKORD, REKOR_V2_API_VERSION):
            return _v2_mismatch(parse_hashedrekord_v2(entry.entry.body), evidence, signer, subject)
        record = parse_body(entry.entry.body)
    except EntryKindError as exc:
        return f"expected a hashedrekord or dsse 0.0.1 entry, got {exc.message}"
    if isinstance(record, IntotoRecord):
        return "expected a hashedrekord or dsse 0.0.1 entry, got an intoto 0.0.2 entry, which is not supported"
    payload_hash = hashlib.sha256(evidence.payload).digest()
    match evidence.kind:
        case PayloadKind.SIMPLE_SIGNING | PayloadKind.MESSAGE:
            # A hashedrekord records the signed digest: the payload's for a signature layer, the artifact's for a
            # message signature (which signs the artifact through its digest).
            if evidence.kind is PayloadKind.SIMPLE_SIGNING:
                what, wanted = "a signature layer", Digest("sha256", payload_hash.hex())
                named = f"the payload's digest {wanted}"
            else:
                what, wanted, named = "a message signature", subject, f"the artifact's digest {subject}"
            if not isinstance(record, HashedRekord):
                return f"expected a hashedrekord entry for {what}, got a dsse entry"
            if (record.algorithm, record.digest.hex()) != (wanted.algorithm, wanted.hex):
                return f"expected an entry for {named}, got {record.algorithm}:{record.digest.hex()}"
            if record.signature != evidence.signature:
                return "expected the entry to record the signature being verified, got another signature"
            return _key_mismatch(record.public_key, signer)
        case PayloadKind.IN_TOTO:
            if not isinstance(record, DsseRecord):
                return "expected a dsse entry for a bundle's DSSE envelope, got a hashedrekord entry"
            if record.payload_hash != payload_hash:
                return (f"expected an entry for the statement's digest sha256:{payload_hash.hex()}, "
                        f"got sha256:{record.payload_hash.hex()}")
            if len(record.signatures) != 1:
                return f"expected an entry with the envelope's 1 signature, got {len(record.signatures)}"
            (logged,) = record.signatures
            if logged.signature != _b64(evidence.signature):
                return "expected the entry to record the signature being verified, got another signature"
            return _key_mismatch(logged.verifier, signer)
        case _:
            assert_never(evidence.kind)


def _v2_mismatch(record: HashedRekordV2, evidence: SignatureEvidence, signer: Signer, subject: Digest) -> str | None:
    """A Rekor v2 ``hashedrekord`` 0.0.2 body must record this signature, its verifier and the signed digest: the
    artifact's for a message signature, that of the envelope's PAE for a DSSE envelope (rekor-v2-spec 6.1.4; as
    sigstore-python's ``_validate_hashedrekord_v002_dsse_entry_body``). A legacy layer is never logged in v2."""
    assert evidence.signature is not None and evidence.signed_bytes is not None
    match evidence.kind:
        case PayloadKind.MESSAGE:
            wanted, what = (subject.algorithm, subject.hex), f"the artifact's digest {subject}"
        case PayloadKind.IN_TOTO:
            pae = hashlib.new(record.hash_name, evidence.signed_bytes).hexdigest() \
                if record.hash_name in hashlib.algorithms_available else ""
            wanted, what = (record.hash_name, pae), "the digest of the DSSE envelope's PAE"
        case PayloadKind.SIMPLE_SIGNING:
            return "expected a Rekor v1 entry for a signature layer, got a hashedrekord 0.0.2 entry"
        case _:
            assert_never(evidence.kind)
    if (record.hash_name, record.digest.hex()) != wanted:
        return f"expected an entry for {what}, got {record.hash_name}:{record.digest.hex()}"
    if record.signature != evidence.signature:
        return "expected the entry to record the signature being verified, got another signature"
    if signer.certificate is not None:
        certificate = signer.certificate.public_bytes(serialization.Encoding.DER)
        if not record.verifier_is_certificate or record.verifier != certificate:
            return (f"expected the entry to record the signing certificate ({_fingerprint(certificate)}), "
                    f"got another verifier ({_fingerprint(record.verifier)})")
        return None
    wanted_key = signer.public_key.der()
    if record.verifier_is_certificate:
        try:
            logged = x509.load_der_x509_certificate(record.verifier).public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        except ValueError as exc:
            return f"expected the verifying key in the entry, got an unusable certificate: {exc}"
    else:
        logged = record.verifier
    if logged != wanted_key:
        return (f"expected the entry to record the verifying public key ({_fingerprint(wanted_key)}), "
                f"got another key ({_fingerprint(logged)})")
    return None


def _key_mismatch(pem: bytes, signer: Signer) -> str | None:
    """The logged key or certificate must be the signer's: the certificate itself in certificate mode (as
    containers/image compares it), else the verifying public key (a certificate for that key is accepted)."""
    try:
        logged = VerifierKey.load(pem)
    except EntryKindError as exc:
        return f"expected the verifying key in the entry, got an unusable one: {exc.message}"
    spki = logged.public_key.der()
    if signer.certificate is not None:
        wanted = signer.certificate.public_bytes(serialization.Encoding.DER)
        if logged.der != wanted:
            got = "another certificate" if logged.der != spki else "a public key"
            return (f"expected the entry to record the signing certificate ({_fingerprint(wanted)}), "
                    f"got {got} ({_fingerprint(logged.der)})")
        return None
    wanted = signer.public_key.der()
    if spki != wanted:
        return (f"expected the entry to record the verifying public key ({_fingerprint(wanted)}), "
                f"got another key ({_fingerprint(spki)})")
    return None


def _fingerprint(der: bytes) -> str:
    return "sha256:" + hashlib.sha256(der).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _cosign_optional(evidence: SignatureEvidence) -> dict[str, Any] | None:
    """cosign adds the layer's Rekor bundle to the printed payload as ``optional.Bundle``."""
    value = legacy.annotation_value(evidence.annotations, (REKOR_BUNDLE_ANNOTATION,))
    if evidence.kind is not PayloadKind.SIMPLE_SIGNING or value is None:
        return None
    try:
        return {"Bundle": cosign_bundle_document(value)}
    except EntryFormatError:
        return None


__all__ = ["IGNORE_FLAG", "TransparencyLogCheck"]
