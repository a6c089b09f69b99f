"""Verify image signatures, cosign-compatible: by public key or signing certificate, with transparency-log
evidence (row 8: store-agnostic).

- ``evidence``: find the signatures of one digest, in referrers (Sigstore bundles) and the ``.sig`` tag, both,
  bounded before any blob is read;
- ``check``: the signature check, then the claim checks ("expected X, got Y");
- ``transparency``: the transparency-log check (Rekor SET, inclusion proof, splice checks; online confirmation);
- ``certificate``: the signing-certificate check (chain at every trusted time, SCT, identity, OIDC issuer), with
  ``sct`` (embedded SCTs against the trusted CT logs) and ``timestamp`` (RFC 3161 timestamps against the trusted
  timestamp authorities);
- ``blob``: evidence from a Sigstore bundle file and an artifact digest (``Verifier.verify_blob``, ``verify-blob``);
- ``result``: the result values;
- ``policy``: ``VerifyPolicy`` (pure data) and ``build_verify_policy``, the one function that builds it from what a
  user names (``VerifyRequest``); ``error``: why a verification cannot be set up (``VerifySetupError.problem``);
- ``verifier``: the ``Verifier`` (trust material and the online log client; a context manager): ``verify_image``
  over a store, ``verify_images`` concurrently over several, streamed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supplychain.lazy import lazy_exports

if TYPE_CHECKING:
    from supplychain.limits import DEFAULT_MAX_SIGNATURES
    from supplychain.verify.blob import artifact_digest, blob_evidence, read_bundle
    from supplychain.verify.certificate import CertificateCheck, CertificatePolicy
    from supplychain.verify.check import (
        AnnotationCheck,
        CheckContext,
        Claims,
        ClaimsCheck,
        EvidenceCheck,
        ReferenceCheck,
        Signer,
    )
    from supplychain.verify.error import SetupProblem, VerifySetupError
    from supplychain.verify.evidence import Evidence, Limits, PayloadKind, SignatureEvidence, gather_evidence
    from supplychain.verify.policy import (
        TlogPolicy,
        VerifyPolicy,
        VerifyRequest,
        build_verify_policy,
        target_repository,
    )
    from supplychain.verify.result import CheckName, CheckOutcome, EvidenceSource, SignatureOutcome, VerificationResult
    from supplychain.verify.sct import check_embedded_scts
    from supplychain.verify.timestamp import VerifiedTimestamp, verify_timestamps
    from supplychain.verify.transparency import TransparencyLogCheck
    from supplychain.verify.verifier import (
        TLOG_IGNORED_WARNING,
        Verifier,
        VerifyTarget,
        check_descriptions,
        verify_image,
    )

__all__ = [
    "DEFAULT_MAX_SIGNATURES",
    "TLOG_IGNORED_WARNING",
    "AnnotationCheck",
    "CertificateCheck",
    "CertificatePolicy",
    "CheckContext",
    "CheckName",
    "CheckOutcome",
    "Claims",
    "ClaimsCheck",
    "Evidence",
    "EvidenceCheck",
    "EvidenceSource",
    "Limits",
    "PayloadKind",
    "ReferenceCheck",
    "SetupProblem",
    "SignatureEvidence",
    "SignatureOutcome",
    "Signer",
    "TlogPolicy",
    "TransparencyLogCheck",
    "VerificationResult",
    "VerifiedTimestamp",
    "Verifier",
    "VerifyPolicy",
    "VerifyRequest",
    "VerifySetupError",
    "VerifyTarget",
    "artifact_digest",
    "blob_evidence",
    "build_verify_policy",
    "check_descriptions",
    "check_embedded_scts",
    "gather_evidence",
    "read_bundle",
    "target_repository",
    "verify_image",
    "verify_timestamps",
]

# mypy reads the imports above; a module __getattr__ it could see would make every unknown name Any.
if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, {
        "supplychain.limits": ("DEFAULT_MAX_SIGNATURES",),
        "supplychain.verify.blob": ("artifact_digest", "blob_evidence", "read_bundle"),
        "supplychain.verify.sct": ("check_embedded_scts",),
        "supplychain.verify.timestamp": ("VerifiedTimestamp", "verify_timestamps"),
        "supplychain.verify.certificate": ("CertificateCheck", "CertificatePolicy"),
        "supplychain.verify.check": (
            "AnnotationCheck", "CheckContext", "Claims", "ClaimsCheck", "EvidenceCheck", "ReferenceCheck", "Signer",
        ),
        "supplychain.verify.error": ("SetupProblem", "VerifySetupError"),
        "supplychain.verify.evidence": ("Evidence", "Limits", "PayloadKind", "SignatureEvidence", "gather_evidence"),
        "supplychain.verify.policy": (
            "TlogPolicy", "VerifyPolicy", "VerifyRequest", "build_verify_policy", "target_repository",
        ),
        "supplychain.verify.result": (
            "CheckName", "CheckOutcome", "EvidenceSource", "SignatureOutcome", "VerificationResult",
        ),
        "supplychain.verify.transparency": ("TransparencyLogCheck",),
        "supplychain.verify.verifier": (
            "TLOG_IGNORED_WARNING", "Verifier", "VerifyTarget", "check_descriptions", "verify_image",
        ),
    })
