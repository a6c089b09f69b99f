"""Keys, wire-compatible with cosign: generate, load, encrypt, write, sign and verify.

- Private keys on disk are cosign's ``ENCRYPTED SIGSTORE PRIVATE KEY`` PEM (scrypt + nacl/secretbox around
  PKCS#8; ``encrypted`` and ``envelope``); the older ``ENCRYPTED COSIGN PRIVATE KEY`` label is read as well.
- Plain PEM private keys (PKCS#1 RSA, SEC1 EC, PKCS#8 v1/v2) can be imported; public keys are PKIX PEM (PKCS#1
  ``RSA PUBLIC KEY`` is read too, as cosign reads it).
- A key is named by a path or cosign's ``env://VAR`` (``read_key``); errors about it name it (``key_source``).
- Only what cosign accepts: ECDSA P-256/P-384/P-521, RSA 2048-4096, Ed25519 (``key``).
- Files are written atomically, the private key 0600 (``file``).

The library never prompts: passwords are parameters (``bytes`` or ``str``, empty allowed). Every failure is an
``InvalidInputError`` subclass from ``supplychain.keys.error`` with a one-line message and a hint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supplychain.lazy import lazy_exports

if TYPE_CHECKING:
    from supplychain.keys.encrypted import (
        COSIGN_PRIVATE_KEY_LABEL,
        SIGSTORE_PRIVATE_KEY_LABEL,
        EncryptedLabel,
        Password,
        decrypt_private_key,
        encrypt_private_key,
        is_encrypted_private_key,
        load_private_key,
    )
    from supplychain.keys.envelope import (
        ACCEPTED_SCRYPT_PARAMS,
        SCRYPT_LEGACY,
        SCRYPT_OWASP,
        SCRYPT_STANDARD,
        ScryptParams,
    )
    from supplychain.keys.error import (
        InvalidKeyError,
        KeyExistsError,
        KeyFileError,
        UnsupportedKeyError,
        WrongPasswordError,
    )
    from supplychain.keys.file import (
        KeyPairFiles,
        ensure_key_pair_absent,
        key_pair_paths,
        key_source,
        named_key_error,
        read_key,
        read_key_file,
        read_private_key,
        read_public_key,
        write_key_pair,
        write_public_key,
    )
    from supplychain.keys.key import (
        DEFAULT_ALGORITHM,
        HashName,
        KeyAlgorithm,
        KeyPair,
        PrivateKey,
        PublicKey,
        generate_key_pair,
        load_private_key_der,
        load_private_key_pem,
        load_public_key_der,
        load_public_key_pem,
        sign,
        verify,
        verify_digest,
    )

__all__ = [
    "ACCEPTED_SCRYPT_PARAMS",
    "COSIGN_PRIVATE_KEY_LABEL",
    "DEFAULT_ALGORITHM",
    "SCRYPT_LEGACY",
    "SCRYPT_OWASP",
    "SCRYPT_STANDARD",
    "SIGSTORE_PRIVATE_KEY_LABEL",
    "EncryptedLabel",
    "HashName",
    "InvalidKeyError",
    "KeyAlgorithm",
    "KeyExistsError",
    "KeyFileError",
    "KeyPair",
    "KeyPairFiles",
    "Password",
    "PrivateKey",
    "PublicKey",
    "ScryptParams",
    "UnsupportedKeyError",
    "WrongPasswordError",
    "decrypt_private_key",
    "encrypt_private_key",
    "ensure_key_pair_absent",
    "generate_key_pair",
    "is_encrypted_private_key",
    "key_pair_paths",
    "key_source",
    "load_private_key",
    "load_private_key_der",
    "load_private_key_pem",
    "load_public_key_der",
    "load_public_key_pem",
    "named_key_error",
    "read_key",
    "read_key_file",
    "read_private_key",
    "read_public_key",
    "sign",
    "verify",
    "verify_digest",
    "write_key_pair",
    "write_public_key",
]

# mypy reads the imports above; a module __getattr__ it could see would make every unknown name Any.
if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, {
        "supplychain.keys.encrypted": (
            "COSIGN_PRIVATE_KEY_LABEL", "SIGSTORE_PRIVATE_KEY_LABEL", "EncryptedLabel", "Password",
            "decrypt_private_key", "encrypt_private_key", "is_encrypted_private_key", "load_private_key",
        ),
        "supplychain.keys.envelope": (
            "ACCEPTED_SCRYPT_PARAMS", "SCRYPT_LEGACY", "SCRYPT_OWASP", "SCRYPT_STANDARD", "ScryptParams",
        ),
        "supplychain.keys.error": (
            "InvalidKeyError", "KeyExistsError", "KeyFileError", "UnsupportedKeyError", "WrongPasswordError",
        ),
        "supplychain.keys.file": (
            "KeyPairFiles", "ensure_key_pair_absent", "key_pair_paths", "key_source", "named_key_error", "read_key",
            "read_key_file", "read_private_key", "read_public_key", "write_key_pair", "write_public_key",
        ),
        "supplychain.keys.key": (
            "DEFAULT_ALGORITHM", "HashName", "KeyAlgorithm", "KeyPair", "PrivateKey", "PublicKey",
            "generate_key_pair", "load_private_key_der", "load_private_key_pem", "load_public_key_der",
            "load_public_key_pem", "sign", "verify", "verify_digest",
        ),
    })
