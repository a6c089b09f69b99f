"""cosign's legacy attachment tags: ``sha256-<hex>.sig``, ``.att`` and ``.sbom`` next to the image.

cosign v1/v2 (and everything that reads them: policy-controller, Kyverno, skopeo with
``use-sigstore-attachments``) find a digest's signatures, attestations and SBOMs at these tags of the same
repository (cosign ``pkg/oci/remote``; SPECS.md "cosign, legacy tag scheme").
"""

from __future__ import annotations

from enum import StrEnum

from supplychain.digest import Digest
from supplychain.errors import InvalidDigestError


class AttachmentKind(StrEnum):
    """The three tag suffixes cosign uses."""

    SIGNATURE = "sig"
    ATTESTATION = "att"
    SBOM = "sbom"


def attachment_tag(subject: Digest, kind: AttachmentKind) -> str:
    """``sha256-<hex>.<suffix>``: where cosign keeps ``kind`` for ``subject``."""
    return f"{subject.tag_form}.{kind.value}"


def parse_attachment_tag(tag: str) -> tuple[Digest, AttachmentKind] | None:
    """The subject and kind of a cosign attachment tag, or ``None`` for any other tag."""
    stem, dot, suffix = tag.rpartition(".")
    if not dot:
        return None
    try:
        kind = AttachmentKind(suffix)
    except ValueError:
        return None
    algorithm, dash, hex_ = stem.partition("-")
    if not dash:
        return None
    try:
        return Digest(algorithm, hex_), kind
    except InvalidDigestError:
        return None
