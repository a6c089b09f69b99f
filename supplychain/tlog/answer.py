"""Rekor v1 API answers as pydantic wire models: the ``LogEntry`` map (``GET /api/v1/log/entries/{uuid}``, ``POST``
answers, ``rekor-cli get --format json``), read by ``evidence.parse_log_entries``.

A module of its own so that pydantic loads only when such an answer is read (docs/architecture.md, "Fast start"): a
``verify`` of a cosign annotation or a Sigstore bundle never needs it. Untrusted JSON: strict types, extra fields
ignored (STYLE.md section 6).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class V1Proof(_Wire):
    """``verification.inclusionProof``: hex hashes, at most 128 (a tree of 2^64 leaves needs 64)."""

    logIndex: int
    rootHash: str
    treeSize: int
    hashes: list[str] = Field(max_length=128)
    checkpoint: str | None = None


class V1Verification(_Wire):
    """``verification``: the inclusion proof and the SET, each optional."""

    inclusionProof: V1Proof | None = None
    signedEntryTimestamp: str | None = None


class V1Entry(_Wire):
    """One value of the ``LogEntry`` map."""

    body: str
    integratedTime: int
    logID: str
    logIndex: int
    verification: V1Verification | None = None


__all__ = ["V1Entry", "V1Proof", "V1Verification"]
