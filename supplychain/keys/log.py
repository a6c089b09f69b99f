"""Transparency-log keys: a log's public key and the IDs it is known by, and the keys that sign and verify notes.

Everything here is a key and its identity, below the log code that uses it (``tlog``) and the trust material that
lists it (``trust``):

* a log key is ECDSA P-256 (Rekor v1) or Ed25519 (Rekor v2 and most C2SP logs); signatures are ``keys.sign`` /
  ``keys.verify`` with their defaults, which are Rekor's (ECDSA: ASN.1 DER over SHA-256; Ed25519: the message);
* ``LogKey``: the key with the 32-byte log ID entries name it by. Rekor v1: SHA-256 of the DER
  SubjectPublicKeyInfo. Rekor v2: the C2SP signed-note key hash ``SHA-256(name || 0x0A || 0x01 || key)``;
* ``NoteVerifier`` / ``NoteSigner``: a key under the (name, 4-byte key ID) that c2sp.org/signed-note signature
  lines carry. Ed25519 (type 0x01): key ID = the first 4 bytes of the key hash above. Rekor v1 (type 0x02 for
  ECDSA): key ID = ``SHA-256(SPKI DER)[:4]``.

The note format itself (text, signature lines, which signatures count) is ``supplychain.tlog.note``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from supplychain.errors import InvalidInputError
from supplychain.formats.b64 import decode_canonical
from supplychain.keys.key import PrivateKey, PublicKey, sign, verify

LogPublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey
"""A transparency log's public key: ECDSA P-256 (Rekor v1) or Ed25519 (Rekor v2, most C2SP logs)."""

LogPrivateKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey
"""The private half of a ``LogPublicKey``, for the local log."""

LOG_ID_SIZE = 32
"""Bytes in a log ID (a SHA-256 digest, both for Rekor v1 and v2)."""

ED25519_SIGNATURE_TYPE = 0x01  # c2sp.org/signed-note "Signature types"
ECDSA_SIGNATURE_TYPE = 0x02


class LogKeyError(InvalidInputError):
    """A log key, key name or verifier key string that cannot be used."""

    default_hint = "a log key is an ECDSA P-256 or Ed25519 public key in PEM or DER (SubjectPublicKeyInfo)"



# -- log-key primitives --------------------------------------------------------------------------------------


def load_public_key(data: bytes) -> LogPublicKey:
    """Load a log public key from PEM or DER SubjectPublicKeyInfo; only ECDSA P-256 and Ed25519 are accepted."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(data)
        else:
            key = serialization.load_der_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise LogKeyError(f"cannot read the log public key: {exc}") from exc
    return check_public_key(key)


def check_public_key(key: object) -> LogPublicKey:
    """Return ``key`` if it is a supported log key (ECDSA P-256 or Ed25519), else raise ``LogKeyError``."""
    if isinstance(key, Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise LogKeyError(f"unsupported log key curve {key.curve.name}: expected ECDSA P-256 (secp256r1)")
        return key
    raise LogKeyError(f"unsupported log key type {type(key).__name__}: expected ECDSA P-256 or Ed25519")


def spki_der(key: LogPublicKey) -> bytes:
    """The DER SubjectPublicKeyInfo of ``key`` (the input of Rekor's log ID and v1 key ID)."""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def verify_signature(key: LogPublicKey, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` is ``key``'s signature over ``message``, as Rekor signs: ``keys.verify``, whose
    defaults are Rekor's for a log key (ECDSA P-256: ASN.1 DER over SHA-256; Ed25519: over the message itself)."""
    return verify(PublicKey(check_public_key(key)), signature, message)


def create_signature(key: LogPrivateKey, message: bytes) -> bytes:
    """Sign ``message`` as Rekor does (see ``verify_signature``), with ``keys.sign``."""
    return LogSigner(key).sign(message)


class LogSigner:
    """``create_signature`` with one key, checked once: for a log that signs on every append."""

    def __init__(self, key: LogPrivateKey) -> None:
        check_public_key(key.public_key())
        self._key = PrivateKey(key)

    def sign(self, message: bytes) -> bytes:
        """Sign ``message`` as Rekor does (see ``verify_signature``)."""
        return sign(self._key, message)


# -- note verifiers and signers --------------------------------------------------------------------


def check_key_name(name: str) -> str:
    # c2sp.org/signed-note: key names are non-empty and contain no Unicode spaces and no "+".
    if not name or "+" in name or any(ch.isspace() or ord(ch) < 0x20 for ch in name):
        raise LogKeyError(f"invalid note key name {name!r}: it must be non-empty, without spaces or '+'")
    return name


def ed25519_key_id(name: str, key: Ed25519PublicKey) -> bytes:
    """The full ``SHA-256(name || 0x0A || 0x01 || key)``; its first 4 bytes are the note key ID.

    Rekor v2 uses the full 32 bytes as its log ID.
    """
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519_SIGNATURE_TYPE]) + raw).digest()


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A key that verifies note signatures: the (name, 4-byte key ID) it answers to, and the public key.

    ``name`` is ``None`` only for Rekor v1 keys, whose checkpoints are signed under the server's host name (in
    test deployments a pod name) that no trust root records; such a verifier answers to its key ID under any name,
    as sigstore-go and sigstore-python do.
    """

    name: str | None
    key_id: bytes
    public_key: LogPublicKey

    def __post_init__(self) -> None:
        if self.name is not None:
            check_key_name(self.name)
        check_public_key(self.public_key)
        if len(self.key_id) != 4:
            raise LogKeyError(f"a note key ID is 4 bytes, got {len(self.key_id)}")

    @classmethod
    def ed25519(cls, name: str, public_key: Ed25519PublicKey) -> NoteVerifier:
        """An Ed25519 verifier with the signed-note key ID (type 0x01), as Rekor v2 and C2SP logs use."""
        return cls(check_key_name(name), ed25519_key_id(name, public_key)[:4], public_key)

    @classmethod
    def rekor_v1(cls, public_key: LogPublicKey, *, name: str | None = None) -> NoteVerifier:
        """A verifier with the key ID ``SHA-256(SPKI DER)[:4]`` (Rekor v1; signed-note type 0x02 for ECDSA).

        ``name``, if known, is the key name Rekor signs under (its host name, e.g. ``rekor.sigstore.dev``).
        """
        key_id = hashlib.sha256(spki_der(check_public_key(public_key))).digest()[:4]
        return cls(None if name is None else check_key_name(name), key_id, public_key)

    def matches(self, name: str, key_id: bytes) -> bool:
        """Whether a signature line under key ``name`` and 4-byte ``key_id`` is this key's."""
        return key_id == self.key_id and (self.name is None or name == self.name)

    @property
    def label(self) -> str:
        """``name (key ID hex)``, or ``key ID hex`` for a Rekor v1 key whose name is not known, for messages."""
        return f"{self.name} (key ID {self.key_id.hex()})" if self.name is not None else f"key ID {self.key_id.hex()}"

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse a verifier key string ``<name>+<hex key ID>+<base64(0x01 || 32-byte Ed25519 key)>``.

        This is the format Go's ``golang.org/x/mod/sumdb/note`` and C2SP logs publish. The key ID must match the
        one computed from the name and key.
        """
        parts = vkey.split("+", 2)  # the base64 key may itself contain "+"
        if len(parts) != 3:
            raise LogKeyError(f"invalid verifier key {vkey!r}: expected <name>+<hex key ID>+<base64 key>")
        name, hex_id, b64_key = parts
        try:
            key_id = bytes.fromhex(hex_id) if len(hex_id) == 8 else b""
            raw = decode_canonical(b64_key)
        except ValueError as exc:
            raise LogKeyError(f"invalid verifier key {vkey!r}: {exc}") from exc
        if len(key_id) != 4:
            raise LogKeyError(f"invalid verifier key {vkey!r}: the key ID must be 8 hex digits")
        if len(raw) != 33 or raw[0] != ED25519_SIGNATURE_TYPE:
            raise LogKeyError(f"unsupported verifier key {vkey!r}: only Ed25519 (type 0x01, 32 bytes) is supported")
        verifier = cls.ed25519(name, Ed25519PublicKey.from_public_bytes(raw[1:]))
        if verifier.key_id != key_id:
            raise LogKeyError(
                f"verifier key {vkey!r} names key ID {key_id.hex()}, but its key hashes to {verifier.key_id.hex()}"
            )
        return verifier

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (without the key ID) is this key's signature over the note ``text``."""
        return verify_signature(self.public_key, signature, text)


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """A private key that signs notes under a (name, key ID), for the local log."""

    name: str
    key_id: bytes
    private_key: LogPrivateKey
    _signer: LogSigner = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The key checked once, not on every checkpoint (the local log signs one per commit).
        object.__setattr__(self, "_signer", LogSigner(self.private_key))

    @classmethod
    def ed25519(cls, name: str, private_key: Ed25519PrivateKey) -> NoteSigner:
        """An Ed25519 signer with the signed-note key ID (type 0x01)."""
        return cls(name, NoteVerifier.ed25519(name, private_key.public_key()).key_id, private_key)

    @classmethod
    def rekor_v1(cls, name: str, private_key: LogPrivateKey) -> NoteSigner:
        """A signer with the Rekor v1 key ID ``SHA-256(SPKI DER)[:4]``, under key name ``name`` (the host name)."""
        key_id = NoteVerifier.rekor_v1(check_public_key(private_key.public_key())).key_id
        return cls(check_key_name(name), key_id, private_key)

    def verifier(self) -> NoteVerifier:
        """The matching verifier."""
        return NoteVerifier(self.name, self.key_id, check_public_key(self.private_key.public_key()))

    def vkey(self) -> str:
        """The verifier key string ``<name>+<hex key ID>+<base64 key>`` (Ed25519 signers only)."""
        public = self.private_key.public_key()
        if not isinstance(public, Ed25519PublicKey):
            raise LogKeyError("only Ed25519 note keys have a verifier key string")
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        encoded = base64.b64encode(bytes([ED25519_SIGNATURE_TYPE]) + raw).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def sign(self, text: bytes) -> bytes:
        """The signature (without key ID) over the note ``text``."""
        return self._signer.sign(text)


# -- the log's key ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogKey:
    """A transparency log's public key, the 32-byte log ID entries and bundles name it by, and (Rekor v2) its name.

    Rekor v1: log ID = SHA-256 of the DER key; the name is unknown to clients. Rekor v2 and other C2SP logs:
    log ID = the full signed-note Ed25519 key hash, which binds the key name (the log's host name).
    """

    public_key: LogPublicKey
    log_id: bytes
    name: str | None = None

    def __post_init__(self) -> None:
        check_public_key(self.public_key)
        if len(self.log_id) != LOG_ID_SIZE:
            raise LogKeyError(f"a log ID is {LOG_ID_SIZE} bytes, got {len(self.log_id)}")

    @classmethod
    def from_public_key(cls, public_key: LogPublicKey) -> LogKey:
        """A Rekor v1 log key: log ID = SHA-256 of the key's DER SubjectPublicKeyInfo."""
        return cls(public_key, hashlib.sha256(spki_der(check_public_key(public_key))).digest())

    @classmethod
    def load(cls, data: bytes) -> LogKey:
        """A Rekor v1 log key from PEM or DER (e.g. ``rekor.pub``)."""
        return cls.from_public_key(load_public_key(data))

    @classmethod
    def rekor_v2(cls, name: str, public_key: Ed25519PublicKey) -> LogKey:
        """A Rekor v2 (C2SP) log key: log ID = ``SHA-256(name || 0x0A || 0x01 || key)``, the full note key hash."""
        return cls(public_key, ed25519_key_id(name, public_key), name)

    @property
    def log_id_hex(self) -> str:
        """The log ID as Rekor v1 spells it in entries: 64 lowercase hex characters."""
        return self.log_id.hex()

    def note_verifier(self, name: str | None = None) -> NoteVerifier:
        """The verifier for this log's checkpoints, signed under key name ``name`` (default: the key's name).

        A Rekor v2 key (log ID = the C2SP Ed25519 key hash under ``name``) verifies with the signed-note Ed25519 key
        ID and needs the name; any other key with Rekor v1's key ID (SHA-256 of the DER key), under ``name`` if
        given, else under any name (Rekor v1 signs with its server's host name, which trust roots do not record).
        """
        key = self.public_key
        name = self.name if name is None else name
        if name is not None and isinstance(key, Ed25519PublicKey) and ed25519_key_id(name, key) == self.log_id:
            return NoteVerifier.ed25519(name, key)
        return NoteVerifier.rekor_v1(key, name=name)


def log_id(public_key: LogPublicKey) -> str:
    """Rekor v1's log ID for ``public_key``: hex SHA-256 of its DER SubjectPublicKeyInfo."""
    return LogKey.from_public_key(public_key).log_id_hex
