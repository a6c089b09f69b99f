"""Verification results: values, never exceptions (STYLE.md section 3).

A ``VerificationResult`` per image holds one ``SignatureOutcome`` per signature found, each with the
``CheckOutcome`` of every check that ran ("expected X, got Y" when it failed). Only the CLI turns an
unverified result into exit status 1. ``error`` is set when the tool could not answer at all for that image
(the image does not exist, the registry is down): that is not a verdict, and the CLI reports it as an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from supplychain.digest import Digest
from supplychain.errors import SupplyChainError


class EvidenceSource(StrEnum):
    """Where a signature was found."""

    LEGACY_TAG = "legacy-tag"  # a layer of the cosign sha256-<hex>.sig manifest
    REFERRER = "referrer"  # a Sigstore bundle in an OCI 1.1 referrer
    BUNDLE_FILE = "bundle-file"  # a Sigstore bundle file beside a blob (verify-blob)
    BUILDKIT = "buildkit"  # a BuildKit attestation manifest in the image index (unsigned in-toto statements)


class CheckName(StrEnum):
    """The checks a signature goes through, in order."""

    READ = "read"  # the evidence could be fetched and decoded
    SIGNATURE = "signature"  # the signature verifies with one of the given public keys (or the certificate's)
    TLOG = "tlog"  # a trusted transparency log recorded exactly this signature (SET, inclusion proof)
    CERTIFICATE = "certificate"  # the signing certificate chains to a trusted root and names the identity
    CLAIMS = "claims"  # the signed digest claim names the image being verified
    ANNOTATIONS = "annotations"  # the required -a annotations are signed
    REFERENCE = "reference"  # the signed docker-reference names the repository being verified


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """One check on one signature."""

    check: CheckName
    passed: bool
    detail: str  # what was found; on failure "expected X, got Y"
    log_time: int | None = None  # tlog: the integratedTime (Unix seconds) the log vouched for with its SET
    # What cosign adds to a verified payload's "optional" when it prints it (Bundle, Issuer, Subject).
    optional: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class SignatureOutcome:
    """The verdict on one signature."""

    source: EvidenceSource
    location: str  # e.g. "sha256-<hex>.sig layer 0", "referrer sha256:..."
    checks: tuple[CheckOutcome, ...]
    docker_reference: str | None = None  # the signed identity, when the payload could be read
    key_index: int | None = None  # which --key verified it
    # The verified claims in the cosign simple-signing JSON shape (what `cosign verify -o json` prints).
    payload: Mapping[str, Any] | None = None
    # In-toto evidence: the DSSE envelope as cosign prints it ({"payloadType", "payload", "signatures"}), what
    # `verify-attestation` prints for each verified attestation.
    envelope: Mapping[str, Any] | None = None

    @property
    def verified(self) -> bool:
        """All checks ran and passed."""
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def reason(self) -> str | None:
        """The first failure, or ``None`` when verified."""
        failed = next((c for c in self.checks if not c.passed), None)
        return f"{failed.check.value}: {failed.detail}" if failed else None


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """The verdict on one image."""

    reference: str  # as the user named it
    digest: Digest | None  # what was verified (None if resolving failed)
    resolved_from: str | None = None  # the tag it was resolved from, if any
    signatures: tuple[SignatureOutcome, ...] = ()
    problems: tuple[str, ...] = ()  # about a place rather than a signature (".sig tag is an index", caps)
    skipped: int = 0  # attachments found that are not signatures (other media types or predicates)
    checks: tuple[CheckName, ...] = ()  # the checks each signature had to pass
    error: SupplyChainError | None = field(default=None, compare=False)
    warnings: tuple[str, ...] = ()  # shown whatever the verdict: a referrers listing cut at the store's cap
    # "<location>: <why>" of each skipped attachment (an attestation bundle, a message-signature bundle...)
    skipped_reasons: tuple[str, ...] = ()
    predicate_type: str | None = None  # attestations of this predicate type were verified, not image signatures

    @property
    def verified(self) -> bool:
        """At least one signature passed every check."""
        return self.error is None and any(s.verified for s in self.signatures)

    @property
    def verified_signatures(self) -> tuple[SignatureOutcome, ...]:
        return tuple(s for s in self.signatures if s.verified)

    def reasons(self) -> list[str]:
        """Why the image is not verified: one line per failed signature and per problem."""
        if self.error is not None:
            return [self.error.message]
        lines = [f"{s.location}: {s.reason}" for s in self.signatures if not s.verified]
        lines.extend(self.problems)
        if not self.signatures and not self.problems:
            if self.predicate_type is not None:
                extra = f" ({self.skipped} other attachments skipped)" if self.skipped else ""
                lines.append(f"no attestations of predicateType {self.predicate_type} found{extra}")
            else:
                extra = f" ({self.skipped} non-signature attachments skipped)" if self.skipped else ""
                lines.append(f"no signatures found{extra}")
        return lines
