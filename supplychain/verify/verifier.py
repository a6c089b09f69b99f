"""The ``Verifier``: trust material and the optional online log client, over which images are verified, one
``VerificationResult`` per image, streamed as they are answered.

Modelled on sigstore-python's ``Verifier(trusted_root=...)`` / ``Verifier.production()``: the verifier owns what is
trusted (a TrustedRoot: by default Sigstore's production root, read offline, only when a policy needs it) and the
clients it opens (the Rekor client for ``TlogPolicy.online_url``), and is a context manager that closes them. A
``VerifyPolicy`` is pure data (``verify.policy``). Store-agnostic: a store (or, for several images, a function that
opens one, called on the worker thread) is passed in. Several images are verified concurrently on a thread pool, one
store per image, results yielded in the order asked as soon as each is ready; an image the tool cannot answer for
(missing, unreachable, a manifest nested too deeply to read) gets ``error`` set and does not stop the others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from supplychain.config import Settings
from supplychain.digest import Digest
from supplychain.errors import InvalidManifestError, SupplyChainError
from supplychain.formats.intoto import COSIGN_SIGN_PREDICATE
from supplychain.oci.locate import describe
from supplychain.oci.store import ArtifactStore
from supplychain.parallel import ordered_map
from supplychain.verify.certificate import CertificateCheck, signer_of
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
from supplychain.verify.error import SetupProblem, VerifySetupError
from supplychain.verify.evidence import (
    Evidence,
    SignatureEvidence,
    find_candidates,
    read_candidates,
)
from supplychain.verify.policy import VerifyPolicy
from supplychain.verify.result import CheckName, CheckOutcome, SignatureOutcome, VerificationResult
from supplychain.verify.timestamp import VerifiedTimestamp, verify_timestamps
from supplychain.verify.transparency import OFFLINE_DESCRIPTION, ONLINE_DESCRIPTION, TransparencyLogCheck

if TYPE_CHECKING:
    # Loaded on use (docs/architecture.md, "Fast start"): the Rekor client and its answer models only for an online
    # check, the trusted root only for a policy that names no log keys.
    from supplychain.formats.bundle import Bundle
    from supplychain.tlog.client import RekorClient
    from supplychain.trust.keyring import LogKeyring
    from supplychain.trust.root import TrustedRoot

DEFAULT_WORKERS = 8
_DIGEST_PREFIXES = ("sha256:", "sha512:")
SIGNATURE_CHECK_DESCRIPTION = "The signatures were verified against the specified public key"
TLOG_IGNORED_WARNING = (
    "WARNING: Skipping tlog verification is an insecure practice that lacks transparency and auditability "
    "verification for the signature."
)


@dataclass(frozen=True, slots=True)
class VerifyTarget:
    """One image to verify, with the way to open its store (called on a worker thread)."""

    reference: str  # for messages
    identifier: str | Digest  # tag or digest within the store
    open_store: Callable[[], ArtifactStore]
    repository: str | None = None  # the name --check-reference compares the signed docker-reference with


def check_descriptions(policy: VerifyPolicy) -> list[str]:
    """The "checks performed" lines for ``policy``, in cosign's order and wording (cosign
    ``cmd/cosign/cli/verify/verify.go`` ``PrintVerificationHeader``: annotations, claims, log, key or certificate),
    then ours that cosign has no line for (the docker-reference)."""
    lines = [AnnotationCheck(policy.annotations).description] if policy.annotations else []
    if policy.check_claims:
        lines.append(ClaimsCheck().description)
    if not policy.insecure_ignore_tlog:
        online = policy.tlog.online_url is not None
        lines.append(ONLINE_DESCRIPTION if online else OFFLINE_DESCRIPTION)
    if policy.certificate is not None:
        lines.append(CertificateCheck(policy.certificate).description)
    else:
        lines.append(SIGNATURE_CHECK_DESCRIPTION)
    if policy.check_reference:
        lines.append(ReferenceCheck("").description)
    return lines


class Verifier:
    """Verifies images against policies, with the trust material and log client it owns (see the module docstring).

    ``trusted_root``: the default trust for a policy that names no log keys (``TlogPolicy.keyring`` ``None``); by
    default Sigstore's production root, read on first use. ``online``: a client to confirm entries with (else one is
    opened, with ``settings``, for a policy's ``TlogPolicy.online_url``, and closed with the verifier).
    """

    def __init__(self, trusted_root: TrustedRoot | None = None, *, online: RekorClient | None = None,
                 settings: Settings | None = None) -> None:
        self._trusted_root = trusted_root
        self._online = online
        self._owned: list[RekorClient] = []
        self._settings = settings
        self._lock = threading.Lock()

    @classmethod
    def production(cls, *, settings: Settings | None = None) -> Verifier:
        """A verifier trusting Sigstore's public-good instance (its production trusted root)."""
        from supplychain.trust.root import TrustedRoot

        return cls(TrustedRoot.production(), settings=settings)

    @classmethod
    def staging(cls, *, settings: Settings | None = None) -> Verifier:
        """A verifier trusting Sigstore's staging instance."""
        from supplychain.trust.root import TrustedRoot

        return cls(TrustedRoot.staging(), settings=settings)

    @property
    def trusted_root(self) -> TrustedRoot:
        """The trusted root (Sigstore's production root unless another was given)."""
        if self._trusted_root is None:
            from supplychain.trust.root import TrustedRoot

            self._trusted_root = TrustedRoot.production()
        return self._trusted_root

    def close(self) -> None:
        """Close the clients this verifier opened (idempotent)."""
        with self._lock:
            owned, self._owned = self._owned, []
            if self._online in owned:
                self._online = None
        for client in owned:
            client.close()

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- checks ------------------------------------------------------------------------------------------------

    def _keyring(self, policy: VerifyPolicy) -> LogKeyring:
        return self.trusted_root.tlog_keyring() if policy.tlog.keyring is None else policy.tlog.keyring

    def _online_client(self, policy: VerifyPolicy) -> RekorClient | None:
        """The client that confirms entries: the one given, else one opened for ``policy.tlog.online_url``."""
        url = policy.tlog.online_url
        if url is None and self._online is None:
            return None
        with self._lock:
            if self._online is None and url is not None:
                from supplychain.tlog.client import RekorClient

                keyring = self._keyring(policy)
                narrowed = keyring.for_url(url)  # the keys of the log at url check its checkpoints
                self._online = RekorClient.open(url, narrowed if len(narrowed) else keyring,
                                                self._settings or Settings())
                self._owned.append(self._online)
            return self._online

    def evidence_checks(self, policy: VerifyPolicy, repository: str | None) -> tuple[EvidenceCheck, ...]:
        """The checks after the signature check, in order, for ``policy``."""
        checks: list[EvidenceCheck] = []
        if not policy.insecure_ignore_tlog:
            checks.append(TransparencyLogCheck(self._keyring(policy), self._online_client(policy),
                                               clock=policy.clock, threshold=policy.tlog_threshold))
        if policy.certificate is not None:
            checks.append(CertificateCheck(policy.certificate, at_current_time=policy.insecure_ignore_tlog,
                                           clock=policy.clock))
        if policy.check_claims:
            checks.append(ClaimsCheck(policy.predicate_type))
        if policy.annotations:
            checks.append(AnnotationCheck(dict(policy.annotations)))
        if policy.check_reference:
            if repository is None:
                raise VerifySetupError(SetupProblem.NO_REPOSITORY,
                                       "checking the docker-reference needs the repository name it must carry",
                                       hint="an OCI layout has no repository name: give the one it was signed for")
            checks.append(ReferenceCheck(repository))
        return tuple(checks)

    # -- verification ------------------------------------------------------------------------------------------

    def verify_image(self, store: ArtifactStore, identifier: str | Digest, policy: VerifyPolicy, *,
                     reference: str | None = None, repository: str | None = None) -> VerificationResult:
        """Verify one image of ``store``: resolve ``identifier`` once, gather its signatures, check each.

        Raises ``SupplyChainError`` only when it cannot answer (the image is missing, the store or the transparency
        log unreachable).
        """
        checks = self.evidence_checks(policy, repository)
        descriptor = store.resolve(identifier)
        resolved_from = None if isinstance(identifier, Digest) or identifier.startswith(_DIGEST_PREFIXES) \
            else identifier
        # Attestations of an index: BuildKit keeps its (unsigned) ones as entries of the index itself.
        index = store.get_manifest(descriptor) if policy.attestations and descriptor.is_index else None
        # An image's evidence is looked up by type (None, "any statement", is verify-blob's: its bundle is given).
        found = find_candidates(store, descriptor.digest, policy.limits,
                                predicate_type=policy.predicate_type or COSIGN_SIGN_PREDICATE, index=index)
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
                                  skipped_reasons=tuple(skipped),
                                  predicate_type=policy.predicate_type if policy.attestations else None)

    def evaluate(self, evidence: Evidence, policy: VerifyPolicy, *, reference: str, repository: str | None = None,
                 resolved_from: str | None = None) -> VerificationResult:
        """Run the checks over gathered evidence (no store; only an online transparency-log check does I/O)."""
        checks = self.evidence_checks(policy, repository)
        outcomes = tuple(_check_one(item, evidence.subject, policy, checks) for item in evidence.signatures)
        performed = (CheckName.SIGNATURE, *(c.name for c in checks))
        return VerificationResult(reference, evidence.subject, resolved_from, outcomes, evidence.problems,
                                  evidence.skipped, performed, warnings=evidence.warnings,
                                  skipped_reasons=evidence.skipped_reasons,
                                  predicate_type=policy.predicate_type if policy.attestations else None)

    def verify_blob(self, bundle: Bundle, digest: Digest, policy: VerifyPolicy, *,
                    reference: str | None = None) -> VerificationResult:
        """Verify a blob's Sigstore bundle (``verify.blob``): its one signature, against the artifact ``digest``,
        through the same checks as an image's (``evaluate``)."""
        from supplychain.verify.blob import blob_evidence

        evidence = blob_evidence(bundle, digest, location=reference or "bundle", predicate_type=policy.predicate_type)
        return self.evaluate(evidence, policy, reference=reference or str(digest))

    def verify_images(self, targets: Iterable[VerifyTarget], policy: VerifyPolicy, *,
                      max_workers: int = DEFAULT_WORKERS) -> Iterator[VerificationResult]:
        """Verify every target, at most ``max_workers`` at a time; results in the order of ``targets``, each
        yielded as soon as it and those before it are answered (an audit of thousands of images reports as it
        goes). The targets are consumed as the pool frees up, never all held at once."""
        self._online_client(policy)  # opened once, before the workers share it
        yield from ordered_map(lambda target: self._verify_target(target, policy), targets, max_workers)

    def _verify_target(self, target: VerifyTarget, policy: VerifyPolicy) -> VerificationResult:
        try:
            store = target.open_store()
        except SupplyChainError as exc:
            return VerificationResult(target.reference, None, error=exc)
        try:
            return self.verify_image(store, target.identifier, policy, reference=target.reference,
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


def verify_image(store: ArtifactStore, identifier: str | Digest, policy: VerifyPolicy, *,
                 reference: str | None = None, repository: str | None = None) -> VerificationResult:
    """``Verifier().verify_image(...)``: one image, with Sigstore's production root as the default trust."""
    with Verifier() as verifier:
        return verifier.verify_image(store, identifier, policy, reference=reference, repository=repository)


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
    stamps, stamp_problem = _verified_timestamps(item, policy)
    context = CheckContext(subject, certified or Signer(keys[key_index]), claims, parse_error,
                           timestamps=stamps, timestamp_problem=stamp_problem)
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
        envelope=item.envelope.to_go_json() if claims and item.envelope is not None else None,
    )


def _verified_timestamps(item: SignatureEvidence, policy: VerifyPolicy
                         ) -> tuple[tuple[VerifiedTimestamp, ...], str | None]:
    """A certificate bundle's RFC 3161 timestamps, verified once against the trusted timestamp authorities for
    every check that needs them (``CheckContext.timestamps``); a key's bundle is dated by its log alone."""
    bundle = item.bundle
    if policy.certificate is None or bundle is None or not bundle.rfc3161_timestamps or item.signature is None:
        return (), None
    return verify_timestamps(bundle.rfc3161_timestamps, item.signature, policy.certificate.timestamp_authorities)


_CLAIM_CHECKS = frozenset({CheckName.CLAIMS, CheckName.ANNOTATIONS, CheckName.REFERENCE})


def _printed(shaped: Mapping[str, Any], optional: Mapping[str, Any]) -> Mapping[str, Any]:
    """The payload as cosign prints it: with the Rekor bundle, issuer and subject merged into ``optional``."""
    if not optional:
        return shaped
    merged = dict(shaped)
    merged["optional"] = {**(shaped.get("optional") or {}), **optional}
    return merged


