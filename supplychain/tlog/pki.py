"""The signers' keys and signatures inside Rekor entries, read the way Rekor's ``pkg/pki/x509`` reads them.

A key arrives as a PEM ``PUBLIC KEY`` or PEM ``CERTIFICATE`` (chain) and is stored in canonical PEM; a
``hashedrekord`` signature is over the digest itself (pre-hashed, as cosign signs); a ``dsse`` signature is over
the DSSE pre-authentication encoding (``formats.dsse.pae``). Keys are ``keys.PublicKey`` (what cosign accepts) and
every signature is checked by ``keys.verify`` / ``keys.verify_digest``: this module only decides which.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from supplychain.formats.rekor import EntryKindError
from supplychain.keys import HashName, InvalidKeyError, PublicKey, verify, verify_digest


class EntrySignatureError(EntryKindError):
    """A proposed entry whose signature does not verify with its key (Rekor answers 400)."""

    default_hint = "sign the digest (hashedrekord) or the DSSE PAE (dsse) with the key you send"


# -- keys ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A signer's public key or certificate (chain) as Rekor's ``x509`` PKI reads it.

    ``pem`` is the canonical PEM Rekor stores (the key re-encoded as SubjectPublicKeyInfo, or every certificate
    re-encoded); ``der`` is the DER of the key or leaf certificate, used to compare keys whatever their spelling.
    """

    pem: bytes
    der: bytes
    public_key: PublicKey

    @classmethod
    def load(cls, data: bytes) -> VerifierKey:
        """Read a PEM public key or PEM certificate(s); raise ``EntryKindError`` for anything else.

        The last ``KEY_CACHE_SIZE`` keys read are remembered by their bytes: a log checks every proposal's key, and
        one signer (a CI key) logs many entries; parsing and re-encoding a key cost about as much as checking the
        signature. The value is immutable, so sharing it is safe."""
        return _load_key(bytes(data))

    @classmethod
    def _parse(cls, data: bytes) -> VerifierKey:
        text = data.lstrip()
        if text.startswith(b"-----BEGIN CERTIFICATE-----"):
            from cryptography import x509  # ~25 ms to import: only keyless entries carry certificates

            try:
                certificates = x509.load_pem_x509_certificates(data)
            except ValueError as exc:
                raise EntryKindError(f"invalid PEM certificate: {exc}") from exc
            pem = b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certificates)
            leaf = certificates[0]
            return cls(pem, leaf.public_bytes(serialization.Encoding.DER), _check_key(leaf.public_key()))
        if not text.startswith(b"-----BEGIN PUBLIC KEY-----"):
            raise EntryKindError("the public key must be a PEM 'PUBLIC KEY' or 'CERTIFICATE'")
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise EntryKindError(f"invalid PEM public key: {exc}") from exc
        checked = _check_key(key)
        return cls(checked.pem(), checked.der(), checked)


KEY_CACHE_SIZE = 256


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def _load_key(data: bytes) -> VerifierKey:
    return VerifierKey._parse(data)  # the class's own reader, behind the cache


def _check_key(key: object) -> PublicKey:
    try:
        return PublicKey(key)  # type: ignore[arg-type]  # PublicKey checks the type itself
    except InvalidKeyError as exc:
        raise EntryKindError(f"unsupported signing key: {exc.message}") from exc


def verify_prehashed(key: PublicKey, signature: bytes, digest: bytes, algorithm: HashName) -> bool:
    """Rekor's hashedrekord check: the signature is over the digest itself (cosign signs pre-hashed)."""
    if isinstance(key.key, Ed25519PublicKey):
        raise EntrySignatureError(
            "Ed25519 hashedrekord entries need Ed25519ph, which this log does not support",
            hint="use an ECDSA or RSA key, or a dsse entry",
        )
    return verify_digest(key, signature, digest, algorithm)


def verify_message(key: PublicKey, signature: bytes, message: bytes) -> bool:
    """A DSSE signature over the PAE: SHA-256 for ECDSA and RSA (Rekor loads verifiers with SHA-256), pure Ed25519."""
    return verify(key, signature, message, hash_name=None if isinstance(key.key, Ed25519PublicKey) else "sha256")
