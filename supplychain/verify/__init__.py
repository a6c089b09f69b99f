"""Verify image signatures, cosign-compatible: by public key or signing certificate, with transparency-log
evidence (row 8: store-agnostic).

- ``evidence``: find the signatures of one digest, in referrers (Sigstore bundles) and the ``.sig`` tag, both,
  bounded before any blob is read;
- ``check``: the signature check, then the claim checks ("expected X, got Y");
- ``transparency``: the transparency-log check (Rekor SET, inclusion proof, splice checks; online confirmation);
- ``certificate``: the signing-certificate check (chain at the log's time, identity, OIDC issuer);
- ``result``: the result values;
- ``verifier``: ``verify_image`` over a store, ``verify_images`` concurrently over several.
"""

from __future__ import annotations

from supplychain.limits import DEFAULT_MAX_SIGNATURES
from supplychain.verify.certificate import CertificateCheck, CertificatePolicy, load_certificates
from supplychain.verify.check import (
    AnnotationCheck,
    CheckContext,
    Claims,
    ClaimsCheck,
    EvidenceCheck,
    ReferenceCheck,
    Signer,
)
from supplychain.verify.evidence import (
    Evidence,
    Limits,
    PayloadKind,
    SignatureEvidence,
    gather_evidence,
)
from supplychain.verify.result import (
    CheckName,
    CheckOutcome,
    EvidenceSource,
    SignatureOutcome,
    VerificationResult,
)
from supplychain.verify.transparency import TlogPolicy, TransparencyLogCheck
from supplychain.verify.verifier import (
    TLOG_IGNORED_WARNING,
    VerifyPolicy,
    VerifyTarget,
    check_descriptions,
    evaluate,
    evidence_checks,
    verify_image,
    verify_images,
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
    "SignatureEvidence",
    "SignatureOutcome",
    "Signer",
    "TlogPolicy",
    "TransparencyLogCheck",
    "VerificationResult",
    "VerifyPolicy",
    "VerifyTarget",
    "check_descriptions",
    "evaluate",
    "evidence_checks",
    "gather_evidence",
    "load_certificates",
    "verify_image",
    "verify_images",
]
