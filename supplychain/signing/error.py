"""Errors of signing: each an ``InvalidInputError``, ``InvalidManifestError`` or ``UnavailableError`` subclass
with a hint. A malformed document is ``formats.error.InvalidPayloadError``, the wire formats' one error."""

from __future__ import annotations

from supplychain.errors import InvalidInputError, InvalidManifestError, UnavailableError


class InvalidAnnotationError(InvalidInputError):
    """A ``-a key=value`` signature annotation that is not of that form."""

    default_hint = "write annotations as -a key=value (the key may not be empty)"


class ReferenceNameError(InvalidInputError):
    """No usable docker-reference to put into the signature."""

    default_hint = (
        "pass --reference-name REGISTRY/REPOSITORY: the name the image is published and verified under"
    )


class SignatureTagError(InvalidManifestError):
    """The ``sha256-<hex>.sig`` tag holds something we must not append to (an index, a foreign manifest)."""

    default_hint = (
        "another tool wrote this tag; inspect it (supplychain tree), and remove it before signing again"
    )


class SignatureWriteError(UnavailableError):
    """A signature appended to the ``sha256-<hex>.sig`` manifest kept being overwritten by concurrent writers."""

    default_hint = (
        "run the command again once the other signing of this image is over (a signature already stored by the "
        "same key is not added twice)"
    )
