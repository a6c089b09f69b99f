"""cosign's password envelope: scrypt + NaCl secretbox, as go-securesystemslib ``encrypted`` writes it.

The envelope is compact JSON, fields in Go's order (cosign ``pkg/cosign/keys.go``, go-securesystemslib
``encrypted/encrypted.go``)::

    {"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"<b64, 32 bytes>"},
     "cipher":{"name":"nacl/secretbox","nonce":"<b64, 24 bytes>"},
     "ciphertext":"<b64: 16-byte Poly1305 tag || XSalsa20 ciphertext>"}

key = scrypt(password, salt, N, r, p, 32); plaintext = secretbox_open(ciphertext, nonce, key). Decryption accepts
only the three parameter sets go-securesystemslib accepts (legacy 2^15, standard 2^16, OWASP 2^17; r=8, p=1):
anything else is refused before scrypt runs, so a hostile file cannot ask for gigabytes of memory.
Secretbox is PyNaCl's (libsodium ``crypto_secretbox_easy``: same layout as Go's ``secretbox.Seal``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from supplychain.formats.strictjson import DuplicateKeyError, JsonFormatError, loads_untrusted
from supplychain.keys.error import InvalidKeyError, UnsupportedKeyError, WrongPasswordError

KDF_NAME = "scrypt"
CIPHER_NAME = "nacl/secretbox"
SALT_SIZE = 32  # go-securesystemslib saltSize
NONCE_SIZE = 24  # nacl secretbox nonce (XSalsa20)
KEY_SIZE = 32  # nacl secretbox key
_MAX_SALT_SIZE = 1024


@dataclass(frozen=True, slots=True)
class ScryptParams:
    """scrypt cost parameters (RFC 7914)."""

    n: int
    r: int
    p: int

    def __str__(self) -> str:
        return f"N={self.n} r={self.r} p={self.p}"


# go-securesystemslib encrypted.go: LegacyScryptKDF / StandardScryptKDF / OWASPScryptKDF.
SCRYPT_LEGACY = ScryptParams(32768, 8, 1)
SCRYPT_STANDARD = ScryptParams(65536, 8, 1)
SCRYPT_OWASP = ScryptParams(131072, 8, 1)
ACCEPTED_SCRYPT_PARAMS = (SCRYPT_LEGACY, SCRYPT_STANDARD, SCRYPT_OWASP)


def seal(plaintext: bytes, password: bytes, *, params: ScryptParams = SCRYPT_LEGACY) -> bytes:
    """Encrypt ``plaintext`` under ``password`` into the JSON envelope (fresh random salt and nonce)."""
    if params not in ACCEPTED_SCRYPT_PARAMS:
        raise UnsupportedKeyError(f"unsupported scrypt parameters {params}", hint=_PARAMS_HINT)
    salt = secrets.token_bytes(SALT_SIZE)
    nonce = secrets.token_bytes(NONCE_SIZE)
    import nacl.secret  # here, not at the top: only signing and key commands seal or open a key

    box = nacl.secret.SecretBox(_derive_key(password, salt, params))
    ciphertext = bytes(box.encrypt(plaintext, nonce).ciphertext)
    envelope = {
        "kdf": {
            "name": KDF_NAME,
            "params": {"N": params.n, "r": params.r, "p": params.p},
            "salt": _b64(salt),
        },
        "cipher": {"name": CIPHER_NAME, "nonce": _b64(nonce)},
        "ciphertext": _b64(ciphertext),
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def open_envelope(envelope: bytes, password: bytes) -> bytes:
    """Decrypt a JSON envelope; refuse unknown algorithms, unaccepted scrypt parameters and wrong passwords."""
    document = _parse_json(envelope)
    kdf = _object(document, "kdf")
    cipher = _object(document, "cipher")
    if kdf.get("name") != KDF_NAME:
        raise UnsupportedKeyError(f"unsupported key derivation {kdf.get('name')!r} (cosign uses scrypt)")
    if cipher.get("name") != CIPHER_NAME:
        raise UnsupportedKeyError(f"unsupported cipher {cipher.get('name')!r} (cosign uses nacl/secretbox)")
    raw_params = _object(kdf, "params")
    params = ScryptParams(_int(raw_params, "N"), _int(raw_params, "r"), _int(raw_params, "p"))
    if params not in ACCEPTED_SCRYPT_PARAMS:
        raise UnsupportedKeyError(f"unsupported scrypt parameters {params}", hint=_PARAMS_HINT)
    salt = _bytes(kdf, "salt")
    nonce = _bytes(cipher, "nonce")
    ciphertext = _bytes(document, "ciphertext")
    if len(salt) > _MAX_SALT_SIZE:
        raise InvalidKeyError("malformed encrypted key: salt too long")
    if len(nonce) != NONCE_SIZE:
        raise InvalidKeyError(f"malformed encrypted key: nonce is {len(nonce)} bytes, nacl/secretbox needs 24")
    import nacl.exceptions
    import nacl.secret

    if len(ciphertext) < nacl.secret.SecretBox.MACBYTES:
        raise InvalidKeyError("malformed encrypted key: ciphertext shorter than its authentication tag")
    box = nacl.secret.SecretBox(_derive_key(password, salt, params))
    try:
        return bytes(box.decrypt(ciphertext, nonce))
    except nacl.exceptions.CryptoError as exc:
        raise WrongPasswordError(
            "cannot decrypt the private key: wrong password (nacl/secretbox authentication failed)"
        ) from exc


_PARAMS_HINT = "cosign and go-securesystemslib accept N=32768, 65536 or 131072 with r=8 and p=1"


def _derive_key(password: bytes, salt: bytes, params: ScryptParams) -> bytes:
    # hashlib.scrypt refuses to use more than maxmem (default 32 MiB); scrypt needs 128*r*N bytes for V plus
    # 256*r for the block, so 2^16 needs 64 MiB and 2^17 128 MiB. The parameters were checked beforehand.
    maxmem = 128 * params.r * (params.n + params.p + 2) + 1024 * 1024
    return hashlib.scrypt(password, salt=salt, n=params.n, r=params.r, p=params.p, maxmem=maxmem, dklen=KEY_SIZE)


def _b64(data: bytes) -> str:
    # Go marshals []byte as standard, padded base64.
    return base64.b64encode(data).decode("ascii")


def _parse_json(envelope: bytes) -> dict[str, Any]:
    try:
        document = loads_untrusted(envelope)
    except DuplicateKeyError as exc:
        raise InvalidKeyError("malformed encrypted key: duplicate JSON field") from exc
    except JsonFormatError as exc:
        raise InvalidKeyError("malformed encrypted key: the PEM body is not the expected JSON") from exc
    if not isinstance(document, dict):
        raise InvalidKeyError("malformed encrypted key: the PEM body is not a JSON object")
    return document


def _object(parent: dict[str, Any], name: str) -> dict[str, Any]:
    value = parent.get(name)
    if not isinstance(value, dict):
        raise InvalidKeyError(f"malformed encrypted key: {name!r} is missing or not an object")
    return value


def _int(parent: dict[str, Any], name: str) -> int:
    value = parent.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidKeyError(f"malformed encrypted key: scrypt parameter {name!r} is missing or not an integer")
    return value


def _bytes(parent: dict[str, Any], name: str) -> bytes:
    value = parent.get(name)
    if not isinstance(value, str):
        raise InvalidKeyError(f"malformed encrypted key: {name!r} is missing or not a string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidKeyError(f"malformed encrypted key: {name!r} is not valid base64") from exc
