"""Verify image signatures, cosign-compatible and key-based (row 8: store-agnostic).

- ``evidence``: find the signatures of one digest, in referrers (Sigstore bundles) and the ``.sig`` tag, both,
  bounded before any blob is read;
- ``check``: the signature check, then the claim checks ("expected X, got Y");
- ``result``: the result values;
- ``verifier``: ``verify_image`` over a store, ``verify_images`` concurrently over several.

No transparency-log check yet: results never claim one. It will be another ``EvidenceCheck``.
"""

from __future__ import annotations

from supplychain.verify.check import AnnotationCheck, Claims, ClaimsCheck, EvidenceCheck, ReferenceCheck
from supplychain.verify.evidence import (
    DEFAULT_MAX_SIGNATURES,
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
from supplychain.verify.verifier import (
    VerifyPolicy,
    VerifyTarget,
    check_descriptions,
    evaluate,
    verify_image,
    verify_images,
)

__all__ = [
    "DEFAULT_MAX_SIGNATURES",
    "AnnotationCheck",
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
    "VerificationResult",
    "VerifyPolicy",
    "VerifyTarget",
    "check_descriptions",
    "evaluate",
    "gather_evidence",
    "verify_image",
    "verify_images",
]
