"""cosign's legacy attachment tags: ``sha256-<hex>.sig``, ``.att`` and ``.sbom`` next to the image.

cosign v1/v2 (and everything that reads them: policy-controller, Kyverno, skopeo with
``use-sigstore-attachments``) find a digest's signatures, attestations and SBOMs at these tags of the same
repository (cosign ``pkg/oci/remote``; SPECS.md "cosign, legacy tag scheme").
"""

from __future__ import annotations

from enum import StrEnum

from supplychain.digest import Digest
from supplychain.errors import InvalidDigestError
from supplychain.reference import DOCKER_HUB, AnyReference, ImageReference

COSIGN_DOCKER_HUB = "index.docker.io"  # go-containerregistry's name.DefaultRegistry, how cosign spells Docker Hub


class AttachmentKind(StrEnum):
    """The three tag suffixes cosign uses."""

    SIGNATURE = "sig"
    ATTESTATION = "att"
    SBOM = "sbom"


def attachment_tag(subject: Digest, kind: AttachmentKind) -> str:
    """``sha256-<hex>.<suffix>``: where cosign keeps ``kind`` for ``subject``."""
    return f"{subject.tag_form}.{kind.value}"


def cosign_repository_name(ref: ImageReference) -> str:
    """``registry/repository`` as cosign spells it (go-containerregistry's ``ref.Context().Name()``): Docker Hub as
    ``index.docker.io``. The docker-reference cosign signs, and where it looks for attachments."""
    registry = COSIGN_DOCKER_HUB if ref.registry == DOCKER_HUB else ref.registry
    return f"{registry}/{ref.repository}"


def attachment_repository(reference: AnyReference) -> str:
    """How attachment locations are spelled for ``reference``'s repository: cosign's ``registry/repository``, or
    ``oci:PATH`` for a layout."""
    if isinstance(reference, ImageReference):
        return cosign_repository_name(reference)
    return reference.name


def attachment_location(repository: str, subject: Digest, kind: AttachmentKind) -> str:
    """``<repository>:sha256-<hex>.<suffix>``: the full reference of ``kind`` for ``subject``. Computed from the
    digest alone, offline (cosign ``triangulate`` does not check that it exists either)."""
    return f"{repository}:{attachment_tag(subject, kind)}"


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
