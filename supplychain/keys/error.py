"""Errors about keys: all are ``InvalidInputError`` (exit code 3), each with a hint saying what to do."""

from __future__ import annotations

from supplychain.errors import InvalidInputError


class InvalidKeyError(InvalidInputError):
    """A key file that cannot be parsed: not PEM, truncated, wrong PEM type, malformed DER or envelope."""

    default_hint = (
        "give a cosign key (ENCRYPTED SIGSTORE PRIVATE KEY), a PEM private key (PKCS#1, SEC1 or PKCS#8) "
        "or a PKIX PUBLIC KEY PEM, as the command expects"
    )


class UnsupportedKeyError(InvalidKeyError):
    """A well-formed key of an algorithm, curve or size that cosign does not accept either."""

    default_hint = "supported: ECDSA P-256/P-384/P-521, RSA 2048-4096 bits, Ed25519"


class WrongPasswordError(InvalidKeyError):
    """The encrypted private key does not open with this password (nacl/secretbox authentication failed)."""

    default_hint = "check the password in SUPPLYCHAIN_PASSWORD or COSIGN_PASSWORD, or unset them to be prompted"


class KeyExistsError(InvalidInputError):
    """A key file is already at the output path and overwriting was not asked for."""

    default_hint = "pass --force to overwrite it, or choose another --output-key-prefix"


class KeyFileError(InvalidInputError):
    """A key file could not be read or written (missing, unreadable, directory not writable, too large)."""

    default_hint = "check the path and its permissions"
