"""``verify_image`` and ``verify_images``: evidence, checks, one ``VerificationResult`` per image.

Store-agnostic: a store (or, for several images, a function that opens one, called on the worker thread) is
passed in. Several images are verified concurrently on a thread pool, one store per image, results in the
order asked; an image the tool cannot answer for (missing, unreachable) gets ``error`` set and does not stop
the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from supplychain.digest import Digest
from supplychain.errors import ConfigurationError, SupplyChainError
from supplychain.keys import PublicKey
from supplychain.oci.store import ArtifactStore
from supplychain.verify.check import (
    AnnotationCheck,
    ClaimsCheck,
    EvidenceCheck,
    ReferenceCheck,
    check_signature,
    parse_claims,
)
from supplychain.verify.evidence import Evidence, Limits, SignatureEvidence, gather_evidence
from supplychain.verify.result import CheckName, CheckOutcome, SignatureOutcome, VerificationResult

DEFAULT_WORKERS = 8
_DIGEST_PREFIXES = ("sha256:", "sha512:")
SIGNATURE_CHECK_DESCRIPTION = "The signatures were verified against the specified public key"


@dataclass(frozen=True, slots=True)
class VerifyPolicy:
    """What a signature must satisfy."""

    keys: tuple[PublicKey, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)
    check_claims: bool = True
    check_reference: bool = False
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        if not self.keys:
            raise ConfigurationError("no public key to verify with", hint="pass --key PUB (repeatable)")


@dataclass(frozen=True, slots=True)
class VerifyTarget:
    """One image to verify, with the way to open its store (called on a worker thread)."""

    reference: str  # for messages
    identifier: str | Digest  # tag or digest within the store
    open_store: Callable[[], ArtifactStore]
    repository: str | None = None  # the name --check-reference compares the signed docker-reference with


def claim_checks(policy: VerifyPolicy, repository: str | None) -> tuple[EvidenceCheck, ...]:
    """The checks after the signature check, in order, for ``policy``."""
    checks: list[EvidenceCheck] = []
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
    """The "checks performed" lines for ``policy``, in cosign's order (claims, then the signature)."""
    lines = [ClaimsCheck().description] if policy.check_claims else []
    lines.append(SIGNATURE_CHECK_DESCRIPTION)
    if policy.annotations:
        lines.append(AnnotationCheck(policy.annotations).description)
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

    Raises ``SupplyChainError`` only when it cannot answer (the image is missing, the store unreachable).
    """
    checks = claim_checks(policy, repository)
    descriptor = store.resolve(identifier)
    resolved_from = None if isinstance(identifier, Digest) or identifier.startswith(_DIGEST_PREFIXES) else identifier
    evidence = gather_evidence(store, descriptor.digest, policy.limits)
    return evaluate(evidence, policy, checks, reference=reference or f"{store.name}@{descriptor.digest}",
                    resolved_from=resolved_from)


def evaluate(
    evidence: Evidence,
    policy: VerifyPolicy,
    checks: tuple[EvidenceCheck, ...],
    *,
    reference: str,
    resolved_from: str | None = None,
) -> VerificationResult:
    """Run the checks over gathered evidence (pure: no store)."""
    outcomes = tuple(_check_one(item, evidence.subject, policy, checks) for item in evidence.signatures)
    performed = (CheckName.SIGNATURE, *(c.name for c in checks))
    return VerificationResult(reference, evidence.subject, resolved_from, outcomes, evidence.problems,
                              evidence.skipped, performed)


def _check_one(
    item: SignatureEvidence, subject: Digest, policy: VerifyPolicy, checks: tuple[EvidenceCheck, ...]
) -> SignatureOutcome:
    if item.problem is not None:
        return SignatureOutcome(item.source, item.location, (CheckOutcome(CheckName.READ, False, item.problem),))
    signature, key_index = check_signature(item, policy.keys)
    if not signature.passed:
        return SignatureOutcome(item.source, item.location, (signature,))
    claims, parse_error = parse_claims(item, subject)
    results = [signature]
    for check in checks:
        outcome = check.run(item, claims, subject)
        if claims is None and parse_error is not None and not outcome.passed:
            outcome = CheckOutcome(outcome.check, False, f"the signed payload could not be parsed: {parse_error}")
        results.append(outcome)
    return SignatureOutcome(
        item.source,
        item.location,
        tuple(results),
        docker_reference=claims.docker_reference if claims else None,
        key_index=key_index,
        payload=claims.shaped if claims else None,
    )


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
    finally:
        close = getattr(store, "close", None)
        if callable(close):
            close()
