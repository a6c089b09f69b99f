"""cosign's encrypted private key file: PEM ``ENCRYPTED SIGSTORE PRIVATE KEY`` around the password envelope.

Layout (cosign ``pkg/cosign/keys.go``, sigstore ``cryptoutils``): the PEM body is the JSON envelope of
``supplychain.keys.envelope``; the envelope's plaintext is the key as PKCS#8 DER. cosign writes the label
``ENCRYPTED SIGSTORE PRIVATE KEY`` and reads the older ``ENCRYPTED COSIGN PRIVATE KEY`` too. Inside, only PKCS#8
is accepted (cosign parses it with ``x509.ParsePKCS8PrivateKey``: a SEC1 key there is refused).
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

from supplychain.keys.envelope import SCRYPT_LEGACY, ScryptParams, open_envelope, seal
from supplychain.keys.error import InvalidKeyError
from supplychain.keys.key import (
    PrivateKey,
    PrivateKeyForm,
    load_private_key_der,
    load_private_key_pem,
    private_key_form,
)
from supplychain.keys.pem import decode_pem, encode_pem

EncryptedLabel: TypeAlias = Literal["ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY"]
SIGSTORE_PRIVATE_KEY_LABEL: Final = "ENCRYPTED SIGSTORE PRIVATE KEY"
COSIGN_PRIVATE_KEY_LABEL: Final = "ENCRYPTED COSIGN PRIVATE KEY"
ENCRYPTED_LABELS = frozenset({SIGSTORE_PRIVATE_KEY_LABEL, COSIGN_PRIVATE_KEY_LABEL})

Password: TypeAlias = bytes | str


def password_bytes(password: Password) -> bytes:
    """The bytes scrypt receives: a ``str`` is UTF-8 encoded (what a Go string holds)."""
    return password.encode("utf-8") if isinstance(password, str) else bytes(password)


def encrypt_private_key(
    private_key: PrivateKey,
    password: Password,
    *,
    label: EncryptedLabel = SIGSTORE_PRIVATE_KEY_LABEL,
    scrypt_params: ScryptParams = SCRYPT_LEGACY,
) -> bytes:
    """The PEM text of ``private_key`` encrypted under ``password`` (may be empty, as in cosign).

    The default scrypt cost N=2^15 is the one every cosign release reads; recent cosign writes N=2^16
    (``SCRYPT_STANDARD``), which readers built on older go-securesystemslib refuse.
    """
    envelope = seal(private_key.pkcs8_der(), password_bytes(password), params=scrypt_params)
    return encode_pem(label, envelope)


def is_encrypted_private_key(data: bytes) -> bool:
    """Whether ``data`` is PEM labelled as a cosign encrypted private key (the envelope is not checked)."""
    try:
        return decode_pem(data).label in ENCRYPTED_LABELS
    except InvalidKeyError:
        return False


def decrypt_private_key(data: bytes, password: Password) -> PrivateKey:
    """Open a cosign encrypted private key file's content with ``password``."""
    block = decode_pem(data)
    if block.label not in ENCRYPTED_LABELS:
        raise InvalidKeyError(
            f"expected an encrypted cosign private key, got PEM type {block.label!r}",
            hint="give a key written by generate-key-pair or import-key-pair (ENCRYPTED SIGSTORE PRIVATE KEY)",
        )
    plaintext = open_envelope(block.body, password_bytes(password))
    try:
        return load_private_key_der(plaintext, pkcs8_only=True)
    except InvalidKeyError:
        # Classified only when it fails: a good key loads without asn1crypto (key._canonical_private_key).
        form = private_key_form(plaintext)
        if form is not PrivateKeyForm.PKCS8:
            raise InvalidKeyError(
                f"the encrypted key holds a {form.value} private key, not PKCS#8",
                hint="cosign refuses it too; re-import the plain key with import-key-pair",
            ) from None
        raise


def load_private_key(data: bytes, password: Password | None = None) -> PrivateKey:
    """A private key from a cosign encrypted key (needs ``password``) or an unencrypted PEM private key."""
    if is_encrypted_private_key(data):
        if password is None:
            raise InvalidKeyError("the private key is encrypted and no password was given")
        return decrypt_private_key(data, password)
    return load_private_key_pem(data)
