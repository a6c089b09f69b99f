"""The identity a signature names, and the ``-a key=value`` annotations it carries.

cosign signs ``ref.Context().Name()`` of go-containerregistry as the docker-reference: the repository without
tag or digest, with Docker Hub spelled ``index.docker.io`` (its ``name.DefaultRegistry``). containers/image and
docker's reference parser normalise ``index.docker.io`` back to ``docker.io``, so both spellings name the same
repository; we write cosign's so that our payload for an image is byte-identical to cosign's.
"""

from __future__ import annotations

from collections.abc import Iterable

from supplychain.errors import InvalidReferenceError
from supplychain.oci.attachment import COSIGN_DOCKER_HUB, cosign_repository_name
from supplychain.reference import ImageReference, parse_image_reference
from supplychain.signing.error import InvalidAnnotationError, ReferenceNameError

__all__ = ["COSIGN_DOCKER_HUB", "check_reference_name", "cosign_reference_name", "parse_annotations"]


def cosign_reference_name(ref: ImageReference) -> str:
    """The docker-reference cosign signs for ``ref``: ``registry/repository`` (Docker Hub: ``index.docker.io``)."""
    return cosign_repository_name(ref)


def check_reference_name(text: str) -> str:
    """A user-given identity (``--reference-name``): any docker reference, kept verbatim (as cosign's
    ``--sign-container-identity``), refused if it does not parse."""
    if text.startswith("oci:"):
        raise ReferenceNameError(f"--reference-name {text!r} names a layout, not a registry repository")
    try:
        parse_image_reference(text)
    except InvalidReferenceError as exc:
        raise ReferenceNameError(f"--reference-name {text!r} is not a docker reference: {exc.message}") from exc
    return text


def parse_annotations(items: Iterable[str]) -> dict[str, str]:
    """``["k=v", ...]`` as a dict (a later key wins, as cosign's flag parsing does)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidAnnotationError(f"invalid annotation {item!r}: expected key=value")
        out[key] = value
    return out
