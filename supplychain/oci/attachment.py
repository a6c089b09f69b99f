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
    """What an attachment is, wherever it lives (a cosign tag, a referrer, a BuildKit attestation manifest): the
    one kind enum of the package. The values are the words ``--type`` and the JSON reports use."""

    SIGNATURE = "signature"
    ATTESTATION = "attestation"
    SBOM = "sbom"
    OTHER = "other"  # a referrer of another tool (a Notation signature, ...): only ``clean --type all`` touches it


# The kinds cosign keeps at a tag, and the tag suffix of each.
TAG_KINDS = (AttachmentKind.SIGNATURE, AttachmentKind.ATTESTATION, AttachmentKind.SBOM)
_TAG_SUFFIX = {AttachmentKind.SIGNATURE: "sig", AttachmentKind.ATTESTATION: "att", AttachmentKind.SBOM: "sbom"}
_SUFFIX_KIND = {suffix: kind for kind, suffix in _TAG_SUFFIX.items()}

# cosign v3's annotations on a Sigstore bundle referrer manifest (SPECS.md "cosign v3"): with the predicate type
# (``formats.intoto.COSIGN_SIGN_PREDICATE``), what tells a signature bundle from an attestation without reading it.
BUNDLE_CONTENT_ANNOTATION = "dev.sigstore.bundle.content"
BUNDLE_PREDICATE_TYPE_ANNOTATION = "dev.sigstore.bundle.predicateType"
BUNDLE_CONTENT_MESSAGE_SIGNATURE = "message-signature"
# cosign's annotation on each layer of a ``.att`` manifest (a DSSE envelope): the attested predicate type, a hint
# outside the signature (the signed statement's predicateType is what counts).
ATTESTATION_PREDICATE_TYPE_ANNOTATION = "predicateType"
# BuildKit's annotation on each in-toto layer of an attestation manifest (docker/buildx "Attestation storage").
INTOTO_PREDICATE_TYPE_ANNOTATION = "in-toto.io/predicate-type"


def attachment_tag(subject: Digest, kind: AttachmentKind) -> str:
    """``sha256-<hex>.<suffix>``: where cosign keeps ``kind`` for ``subject`` (``kind`` one of ``TAG_KINDS``)."""
    suffix = _TAG_SUFFIX.get(kind)
    if suffix is None:
        raise ValueError(f"cosign keeps no {kind.value} attachment at a tag")
    return f"{subject.tag_form}.{suffix}"


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
    kind = _SUFFIX_KIND.get(suffix)
    if kind is None:
        return None
    algorithm, dash, hex_ = stem.partition("-")
    if not dash:
        return None
    try:
        return Digest(algorithm, hex_), kind
    except InvalidDigestError:
        return None
