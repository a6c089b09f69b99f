"""The error of the wire formats: a document (simple-signing payload, in-toto statement, DSSE envelope, Sigstore
bundle) that is not well formed. One class, so that every reader of these formats refuses the same way (exit 3)."""

from __future__ import annotations

from supplychain.errors import InvalidInputError


class InvalidPayloadError(InvalidInputError):
    """A simple-signing payload, in-toto statement, DSSE envelope or bundle that is not well formed."""

    default_hint = "the signature artifact was not written by cosign or supplychain, or was damaged"


__all__ = ["InvalidPayloadError"]
