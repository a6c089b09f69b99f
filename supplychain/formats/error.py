"""The error of the wire formats: a document (simple-signing payload, in-toto statement, DSSE envelope, Sigstore
bundle) that is not well formed. One class, so that every reader of these formats refuses the same way (exit 3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from supplychain.errors import InvalidInputError

if TYPE_CHECKING:
    from pydantic import ValidationError


class InvalidPayloadError(InvalidInputError):
    """A simple-signing payload, in-toto statement, DSSE envelope or bundle that is not well formed."""

    default_hint = "the signature artifact was not written by cosign or supplychain, or was damaged"


def first_error(exc: ValidationError) -> str:
    """``field.path: message`` of a pydantic validation failure, for one-line errors."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "document"
    return f"{where}: {error['msg']}"


__all__ = ["InvalidPayloadError", "first_error"]
