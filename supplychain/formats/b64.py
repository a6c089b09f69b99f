"""Base64 in its one canonical spelling (RFC 4648 section 4: standard alphabet, padded).

Signed data that carries base64 text (a SET signs the entry body's base64; a checkpoint's root hash; a note's
signature lines; a verifier key string) must have one spelling per byte string, or two different texts would carry
the same signature. Every strict reader of such fields decodes through here.
"""

from __future__ import annotations

import base64


class NonCanonicalBase64Error(ValueError):
    """Valid base64, but not its canonical spelling (unpadded, a non-zero trailing bit, ...)."""


def decode_canonical(text: str) -> bytes:
    """Decode standard, padded base64 and refuse every other spelling of the same bytes (``ValueError``)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:  # binascii.Error, or non-ASCII text
        raise ValueError(f"invalid base64 {text[:64]!r}: {exc}") from exc
    if base64.b64encode(raw).decode() != text:
        raise NonCanonicalBase64Error(f"non-canonical base64 {text[:64]!r}")
    return raw


__all__ = ["NonCanonicalBase64Error", "decode_canonical"]
