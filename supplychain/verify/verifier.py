"""``verify_image`` and ``verify_images``: evidence, checks, one ``VerificationResult`` per image.

Store-agnostic: a store (or, for several images, a function that opens one, called on the worker thread) is
passed in. Several images are verified concurrently on a thread pool, one store per image, results in the
order asked; an image the tool cannot answer for (missing, unreachable, a manifest nested too deeply to read)
gets ``error`` set and does not stop the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from supplychain.clock import Clock, utc_now
from supplychain.digest import Digest
from supplychain.errors import ConfigurationError, InvalidManifestError, SupplyChainError
from supplychain.keys import PublicKey
from supplychain.oci.locate import describe
from supplychain.oci.store import ArtifactStore
from supplychain.verify.certificate import CertificateCheck, CertificatePolicy, signer_of
from supplychain.verify.check import (
    AnnotationCheck,
    CheckContext,
    ClaimsCheck,
    EvidenceCheck,
    ReferenceCheck,
    Signer,
    check_signature,
    parse_claims,
)
from supplychain.verify.evidence import (
    Evidence,
    Limits,
    SignatureEvidence,
    find_candidates,
    read_candidates,
)
from supplychain.verify.result import CheckName, CheckOutcome, SignatureOutcome, VerificationResult
from supplychain.verify.transparency import TlogPolicy, TransparencyLogCheck

DEFAULT_WORKERS = 8
_DIGEST_PREFIXES = ("sha256:", "sha512:")
SIGNATURE_CHECK_DESCRIPTION = "The signatures were verified against the specified public key"
TLOG_IGNORED_WARNING = (
    "WARNING: Skipping tlog verification is an insecure practice that lacks transparency and auditability "
    "verification for the signature."
)


@dataclass(frozen=True, slots=True)
class VerifyPolicy:
    """What a signature must satisfy.

    Exactly one way to name the signer: ``keys`` (any of them), or ``certificate`` (a signing certificate from
    trusted roots naming an identity). The transparency log is required by default, checked offline with
    Sigstore's production trusted root (``TlogPolicy()``), as cosign requires Rekor evidence unless told
    otherwise; ``insecure_ignore_tlog`` turns that off (cosign ``--insecure-ignore-tlog``: the signature is then
    trusted without any proof that it was ever made public). ``clock`` is the time a certificate is checked at
    when no log vouches for one.
    """

    keys: tuple[PublicKey, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    check_claims: bool = True
    check_reference: bool = False
    limits: Limits = field(default_factory=Limits)
    certificate: CertificatePolicy | None = None
    tlog: TlogPolicy = field(default_factory=TlogPolicy)
    insecure_ignore_tlog: bool = False
    clock: Clock = utc_now

    def __post_init__(self) -> None:
        if not self.keys and self.certificate is None:
            raise ConfigurationError(
                "no public key or certificate identity to verify with",
                hint="pass --key PUB (repeatable), or --certificate-identity and --certificate-oidc-issuer",
            )
        if self.keys and self.certificate is not None:
            raise ConfigurationError("give public keys or a certificate identity, not both",
                                     hint="--key verifies key-signed images; the certificate options keyless ones")


@dataclass(frozen=True, slots=True)
class VerifyTarget:
    """One image to verify, with the way to open its store (called on a worker thread)."""

    reference: str  # for messages
    identifier: str | Digest  # tag or digest within the store
    open_store: Callable[[], ArtifactStore]
    repository: str | None = None  # the name --check-reference compares the signed docker-reference with


def evidence_checks(policy: VerifyPolicy, repository: str | None) -> tuple[EvidenceCheck, ...]:
    """The checks after the signature check, in order, for ``policy``."""
    checks: list[EvidenceCheck] = []
    if not policy.insecure_ignore_tlog:
        checks.append(TransparencyLogCheck(policy.tlog, clock=policy.clock))
    if policy.certificate is not None:
        checks.append(CertificateCheck(policy.certificate, at_current_time=policy.insecure_ignore_tlog,
                                       clock=policy.clock))
    if policy.check_claims:
        checks.append(ClaimsCheck())
    if policy.annotations:
        checks.append(AnnotationCheck(dict(policy.annotations)))
    if policy.check_reference:
        if repository is None:
            raise ConfigurationError(
                "--check-reference needs the repository name the signature must carry",
                hint="for an oci: layout pass --reference-name REGISTRY/REPOSITORY",
            )
        checks.append(ReferenceCheck(repository))
    return tuple(checks)


def check_descriptions(policy: VerifyPolicy) -> list[str]:
    """The "checks performed" lines for ``policy``, in cosign's order and wording (cosign
    ``cmd/cosign/cli/verify/verify.go`` ``PrintVerificationHeader``: annotations, claims, log, key or certificate),
    then ours that cosign has no line for (the docker-reference)."""
    lines = [AnnotationCheck(policy.annotations).description] if policy.annotations else []
    if policy.check_claims:
        lines.append(ClaimsCheck().description)
    if not policy.insecure_ignore_tlog:
        lines.append(TransparencyLogCheck(policy.tlog).description)
    if policy.certificate is not None:
        lines.append(CertificateCheck(policy.certificate).description)
    else:
        lines.append(SIGNATURE_CHECK_DESCRIPTION)
    if policy.check_reference:
        lines.append(ReferenceCheck("").description)
    return lines


def verify_image(
    store: ArtifactStore,
    identifier: str | Digest,
    policy: VerifyPolicy,
    *,
    reference: str | None = None,
    repository: str | None = None,
) -> VerificationResult:
    """Verify one image of ``store``: resolve ``identifier`` once, gather its signatures, check each.

    Raises ``SupplyChainError`` only when it cannot answer (the image is missing, the store or the transparency
    log unreachable).
    """
    checks = evidence_checks(policy, repository)
    descriptor = store.resolve(identifier)
    resolved_from = None if isinstance(identifier, Digest) or identifier.startswith(_DIGEST_PREFIXES) else identifier
    found = find_candidates(store, descriptor.digest, policy.limits)
    # One signature read, checked and dropped at a time (issue 7.4): only the outcomes are kept.
    outcomes, skipped = [], list(found.skipped_reasons)
    for item in read_candidates(store, found, policy.limits):
        if item.skip is not None:  # readable, but no image signature: said why, never silently dropped
            skipped.append(f"{item.location}: {item.skip}")
        else:
            outcomes.append(_check_one(item, found.subject, policy, checks))
    read_skips = len(skipped) - len(found.skipped_reasons)
    return VerificationResult(reference or f"{store.name}@{descriptor.digest}", found.subject, resolved_from,
                              tuple(outcomes), found.problems, found.skipped + read_skips,
                              (CheckName.SIGNATURE, *(c.name for c in checks)), warnings=found.warnings,
                              skipped_reasons=tuple(skipped))


def evaluate(
    evidence: Evidence,
    policy: VerifyPolicy,
    checks: tuple[EvidenceCheck, ...],
    *,
    reference: str,
    resolved_from: str | None = None,
) -> VerificationResult:
    """Run the checks over gathered evidence (no store; only an online transparency-log check does I/O)."""
    outcomes = tuple(_check_one(item, evidence.subject, policy, checks) for item in evidence.signatures)
    performed = (CheckName.SIGNATURE, *(c.name for c in checks))
    return VerificationResult(reference, evidence.subject, resolved_from, outcomes, evidence.problems,
                              evidence.skipped, performed, warnings=evidence.warnings,
                              skipped_reasons=evidence.skipped_reasons)


def _check_one(
    item: SignatureEvidence, subject: Digest, policy: VerifyPolicy, checks: tuple[EvidenceCheck, ...]
) -> SignatureOutcome:
    if item.problem is not None:
        return SignatureOutcome(item.source, item.location, (CheckOutcome(CheckName.READ, False, item.problem),))
    keys, certified = policy.keys, None
    if policy.certificate is not None:
        certified, problem = signer_of(item)
        if certified is None:
            return SignatureOutcome(item.source, item.location,
                                    (CheckOutcome(CheckName.CERTIFICATE, False, problem or "no certificate"),))
        keys = (certified.public_key,)
    signature, key_index = check_signature(item, keys, certificate=certified is not None)
    if key_index is None:
        return SignatureOutcome(item.source, item.location, (signature,))
    claims, parse_error = parse_claims(item, subject)
    context = CheckContext(subject, certified or Signer(keys[key_index]), claims, parse_error)
    results = [signature]
    optional: dict[str, Any] = {}
    for check in checks:
        outcome = check.run(item, context)
        if claims is None and parse_error is not None and not outcome.passed and outcome.check in _CLAIM_CHECKS:
            outcome = CheckOutcome(outcome.check, False, f"the signed payload could not be parsed: {parse_error}")
        if outcome.check is CheckName.TLOG:
            context = replace(context, log_time=outcome.log_time, log_verified=outcome.passed)
        optional.update(outcome.optional or {})
        results.append(outcome)
    return SignatureOutcome(
        item.source,
        item.location,
        tuple(results),
        docker_reference=claims.docker_reference if claims else None,
        key_index=key_index if certified is None else None,
        payload=_printed(claims.shaped, optional) if claims else None,
    )


_CLAIM_CHECKS = frozenset({CheckName.CLAIMS, CheckName.ANNOTATIONS, CheckName.REFERENCE})


def _printed(shaped: Mapping[str, Any], optional: Mapping[str, Any]) -> Mapping[str, Any]:
    """The payload as cosign prints it: with the Rekor bundle, issuer and subject merged into ``optional``."""
    if not optional:
        return shaped
    merged = dict(shaped)
    merged["optional"] = {**(shaped.get("optional") or {}), **optional}
    return merged


def verify_images(
    targets: Sequence[VerifyTarget], policy: VerifyPolicy, *, max_workers: int = DEFAULT_WORKERS
) -> list[VerificationResult]:
    """Verify every target concurrently; results in the order of ``targets``."""
    if len(targets) <= 1 or max_workers <= 1:
        return [_verify_target(t, policy) for t in targets]
    with ThreadPoolExecutor(max_workers=min(max_workers, len(targets)),
                            thread_name_prefix="supplychain-verify") as pool:
        return list(pool.map(lambda t: _verify_target(t, policy), targets))


def _verify_target(target: VerifyTarget, policy: VerifyPolicy) -> VerificationResult:
    try:
        store = target.open_store()
    except SupplyChainError as exc:
        return VerificationResult(target.reference, None, error=exc)
    try:
        return verify_image(store, target.identifier, policy, reference=target.reference,
                            repository=target.repository)
    except SupplyChainError as exc:
        return VerificationResult(target.reference, None, error=exc)
    except RecursionError as exc:  # a manifest or index too deeply nested for a JSON reader below: this image only
        error = InvalidManifestError(f"{target.reference}: {describe(exc)}",
                                     hint="the registry serves a malformed or hostile document for this image")
        return VerificationResult(target.reference, None, error=error)
    finally:
        close = getattr(store, "close", None)
        if callable(close):
            close()
