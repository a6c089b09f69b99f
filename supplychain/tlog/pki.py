"""The signers' keys and signatures inside Rekor entries, read the way Rekor's ``pkg/pki/x509`` reads them.

A key arrives as a PEM ``PUBLIC KEY`` or PEM ``CERTIFICATE`` (chain) and is stored in canonical PEM; a
``hashedrekord`` signature is over the digest itself (pre-hashed, as cosign signs); a ``dsse`` signature is over
the DSSE pre-authentication encoding (``formats.dsse.pae``).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from supplychain.formats.rekor import EntryKindError

HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
"""The digest algorithms a ``hashedrekord`` 0.0.1 entry may name."""

SignatureKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | Ed25519PublicKey


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
    public_key: SignatureKey

    @classmethod
    def load(cls, data: bytes) -> VerifierKey:
        """Read a PEM public key or PEM certificate(s); raise ``EntryKindError`` for anything else."""
        text = data.lstrip()
        if text.startswith(b"-----BEGIN CERTIFICATE-----"):
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
        der = checked.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        pem = checked.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        return cls(pem, der, checked)


def _check_key(key: object) -> SignatureKey:
    if isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | Ed25519PublicKey):
        return key
    raise EntryKindError(f"unsupported signing key type {type(key).__name__}: expected ECDSA, RSA or Ed25519")


def verify_prehashed(key: SignatureKey, signature: bytes, digest: bytes, algorithm: str) -> bool:
    """Rekor's hashedrekord check: the signature is over the digest itself (cosign signs pre-hashed)."""
    prehashed = utils.Prehashed(HASHES[algorithm]())
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, digest, ec.ECDSA(prehashed))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, digest, padding.PKCS1v15(), prehashed)
        else:
            raise EntrySignatureError(
                "Ed25519 hashedrekord entries need Ed25519ph, which this log does not support",
                hint="use an ECDSA or RSA key, or a dsse entry",
            )
    except InvalidSignature:
        return False
    return True


def verify_message(key: SignatureKey, signature: bytes, message: bytes) -> bool:
    """A DSSE signature over the PAE: SHA-256 for ECDSA and RSA (Rekor loads verifiers with SHA-256), pure Ed25519."""
    try:
        if isinstance(key, Ed25519PublicKey):
            key.verify(signature, message)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        else:
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
