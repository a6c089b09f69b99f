"""Making and checking one signature, with the hash choices cosign's ecosystem expects.

- Signing: ECDSA keys of any curve sign SHA-256 of the message (cosign v2 loads its keys with
  ``signature.LoadSignerVerifier(key, crypto.SHA256)``; containers/image always verifies with SHA-256;
  sigstore-js verifies ECDSA with Node's default, SHA-256). RSA is PKCS#1 v1.5 over SHA-256, Ed25519 signs the
  message itself.
- Checking: the curve's own hash is accepted as well (sigstore-go's default signer pairs P-384 with SHA-384 and
  P-521 with SHA-512), so signatures from either generation of cosign verify.
"""

from __future__ import annotations

from supplychain.keys import HashName, PrivateKey, PublicKey, sign, verify, verify_digest


def _signing_hash(algorithm: str) -> HashName | None:
    return "sha256" if algorithm.startswith("ecdsa") else None


def create_signature(private_key: PrivateKey, message: bytes) -> bytes:
    """``private_key``'s signature over ``message`` (see the module docstring for the hash)."""
    return sign(private_key, message, hash_name=_signing_hash(private_key.algorithm))


def signature_verifies(public_key: PublicKey, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` over ``message`` verifies with ``public_key`` (either accepted hash)."""
    if verify(public_key, signature, message):
        return True
    fallback = _signing_hash(public_key.algorithm)
    return fallback is not None and fallback != public_key.hash_name and verify(
        public_key, signature, message, hash_name=fallback
    )


def first_verifying_key(keys: tuple[PublicKey, ...], signature: bytes, message: bytes) -> int | None:
    """The index of the first of ``keys`` that verifies ``signature`` over ``message``, or ``None``."""
    return next((i for i, key in enumerate(keys) if signature_verifies(key, signature, message)), None)


def first_key_verifying_digest(keys: tuple[PublicKey, ...], signature: bytes, digest: bytes,
                               hash_name: HashName) -> int | None:
    """The index of the first of ``keys`` whose signature over the pre-computed ``digest`` is ``signature`` (a
    Sigstore bundle's ``messageSignature``, which signs an artifact through its digest), or ``None``. Ed25519 keys
    sign messages, never digests: they do not verify here."""
    return next((i for i, key in enumerate(keys)
                 if key.algorithm != "ed25519" and verify_digest(key, signature, digest, hash_name)), None)
