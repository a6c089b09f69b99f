"""Signed notes (https://c2sp.org/signed-note): note text, signature lines, key IDs, Ed25519 and ECDSA verifiers.

A note is a UTF-8 text ending in a newline, a blank line, then signature lines
``— <key name> base64(4-byte key ID || signature)``. The signatures cover the note text including its final
newline. Two key schemes matter here:

* Ed25519 (signed-note type 0x01, Rekor v2 and most other logs): key ID =
  ``SHA-256(name || 0x0A || 0x01 || 32-byte key)[:4]``, signature = Ed25519 over the note text.
* Rekor v1 (signed-note type 0x02 for ECDSA): key ID = ``SHA-256(SPKI DER of the key)[:4]``, signature = ASN.1 DER
  ECDSA P-256 over SHA-256 of the note text (or Ed25519 over the text for an Ed25519-keyed Rekor v1).

Per the signed-note spec, signatures from unknown keys (another name or key ID, e.g. witness cosignatures) are
ignored, a signature from the known key that fails rejects the note, and a note without a verifying signature from
the known key is rejected. Checkpoints (``supplychain.tlog.checkpoint``) are notes whose text is a tree head.

This module also holds the small set of log-key primitives (load, SPKI encoding, sign, verify) that the signed
entry timestamps of ``supplychain.tlog.entry`` share with notes.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from supplychain.errors import InvalidInputError, VerificationError
from supplychain.keys import PrivateKey, PublicKey, sign, verify

LogPublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey
"""A transparency log's public key: ECDSA P-256 (Rekor v1) or Ed25519 (Rekor v2, most C2SP logs)."""

LogPrivateKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey
"""The private half of a ``LogPublicKey``, for the local log."""

MAX_NOTE_BYTES = 1 << 20
"""Largest signed note accepted (the signed-note spec asks verifiers to bound notes; 1 MiB is generous)."""

MAX_NOTE_SIGNATURES = 100
"""Most signature lines accepted in one note (the spec requires at least 16; Go's note package allows 100)."""

ED25519_SIGNATURE_TYPE = 0x01  # c2sp.org/signed-note "Signature types"
ECDSA_SIGNATURE_TYPE = 0x02

_EM_DASH_PREFIX = "\u2014 "
_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f]")  # ASCII controls but newline (signed-note "Format")


# -- errors ----------------------------------------------------------------------------------------


class LogKeyError(InvalidInputError):
    """A log key, key name or verifier key string that cannot be used."""

    default_hint = "a log key is an ECDSA P-256 or Ed25519 public key in PEM or DER (SubjectPublicKeyInfo)"


class SignedNoteError(VerificationError):
    """A signed note or checkpoint that cannot be trusted."""


class NoteFormatError(SignedNoteError):
    """A signed note that is not well-formed (c2sp.org/signed-note "Format")."""

    default_hint = "the note was damaged or is not a signed note; fetch it again from the log"


class NoteSignatureError(SignedNoteError):
    """A note without a valid signature from the expected key."""

    default_hint = "the checkpoint was not signed by this log's key: check the log's public key and URL"


# -- log keys --------------------------------------------------------------------------------------


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
    check_public_key(key.public_key())
    return sign(PrivateKey(key), message)


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

    def matches(self, signature: NoteSignature) -> bool:
        """Whether a signature line is under this key's (name, key ID)."""
        return signature.key_id == self.key_id and (self.name is None or signature.name == self.name)

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
            raw = strict_b64decode(b64_key)
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
        return create_signature(self.private_key, text)


# -- signed notes ----------------------------------------------------------------------------------


def strict_b64decode(text: str) -> bytes:
    """Decode standard, padded base64 (RFC 4648 section 4) and refuse every other spelling of the same bytes."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:  # binascii.Error, or non-ASCII text
        raise ValueError(f"invalid base64 {text[:64]!r}: {exc}") from exc
    if base64.b64encode(raw).decode() != text:
        raise ValueError(f"non-canonical base64 {text[:64]!r}")
    return raw


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: the key name, the 4-byte key ID and the signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def to_line(self) -> str:
        """``— <name> <base64(key ID || signature)>`` followed by a newline."""
        return f"{_EM_DASH_PREFIX}{self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


@dataclass(frozen=True, slots=True)
class SignedNote:
    """A note text (ending in a newline) and its signature lines, not yet verified."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def to_text(self) -> str:
        """The note as it is sent: text, blank line, signature lines."""
        return self.text + "\n" + "".join(sig.to_line() for sig in self.signatures)


def _decode_note(data: str | bytes) -> str:
    if isinstance(data, bytes):
        if len(data) > MAX_NOTE_BYTES:
            raise NoteFormatError(f"signed note is {len(data)} bytes, more than the {MAX_NOTE_BYTES}-byte limit")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteFormatError(f"signed note is not valid UTF-8: {exc}") from exc
    if len(data) > MAX_NOTE_BYTES:  # characters, so at most 4x that in bytes: a cheap first bound
        raise NoteFormatError(f"signed note is longer than the {MAX_NOTE_BYTES}-byte limit")
    try:
        encoded_size = len(data.encode("utf-8"))
    except UnicodeEncodeError as exc:  # lone surrogates
        raise NoteFormatError(f"signed note is not valid UTF-8: {exc}") from exc
    if encoded_size > MAX_NOTE_BYTES:
        raise NoteFormatError(f"signed note is {encoded_size} bytes, more than the {MAX_NOTE_BYTES}-byte limit")
    return data


def parse_note(data: str | bytes) -> SignedNote:
    """Parse a signed note (c2sp.org/signed-note "Format") without verifying any signature.

    Strict: valid UTF-8, no ASCII control characters but newline, the text separated from the signatures by the
    last blank line, every signature line ``— <name> <base64>`` with a valid key name and canonical base64 of a
    4-byte key ID plus a non-empty signature, at most ``MAX_NOTE_SIGNATURES`` lines.
    """
    message = _decode_note(data)
    control = _CONTROL_RE.search(message)
    if control:
        raise NoteFormatError(f"signed note has control character {control.group()!r} at offset {control.start()}")
    if not message.endswith("\n"):
        raise NoteFormatError("signed note does not end with a newline")
    split = message.rfind("\n\n")
    if split < 0:
        raise NoteFormatError("signed note has no blank line between the text and the signatures")
    text, signature_block = message[: split + 1], message[split + 2 :]
    lines = signature_block[:-1].split("\n") if signature_block else []
    if not lines:
        raise NoteFormatError("signed note has no signature lines")
    if len(lines) > MAX_NOTE_SIGNATURES:
        raise NoteFormatError(f"signed note has {len(lines)} signatures, more than {MAX_NOTE_SIGNATURES}")
    signatures = []
    for number, line in enumerate(lines, start=1):
        if not line.startswith(_EM_DASH_PREFIX):
            raise NoteFormatError(f"signature line {number} does not start with an em dash and a space: {line!r}")
        name, space, encoded = line[len(_EM_DASH_PREFIX) :].partition(" ")
        if not space:
            raise NoteFormatError(f"signature line {number} has no space between key name and signature")
        try:
            check_key_name(name)
            raw = strict_b64decode(encoded)
        except (LogKeyError, ValueError) as exc:
            raise NoteFormatError(f"signature line {number}: {exc}") from exc
        if len(raw) < 5:
            raise NoteFormatError(f"signature line {number} holds {len(raw)} bytes, expected a key ID and a signature")
        signatures.append(NoteSignature(name, raw[:4], raw[4:]))
    return SignedNote(text, tuple(signatures))


def verify_note(note: SignedNote, verifier: NoteVerifier) -> NoteSignature:
    """Check that ``note`` is signed by ``verifier``'s key; return that signature.

    Signatures under another (name, key ID) are ignored (c2sp.org/signed-note "Signatures"). Every signature under
    the verifier's name and key ID must verify, else the whole note is rejected, as Go's ``note.Open`` does
    ("invalid signature for key"): one good line does not excuse a bad one from the same key. A verifier without
    a name (Rekor v1) learns the name from the first line with its key ID that verifies (a 4-byte key ID alone may
    collide with another signer's); from then on every line under that name and key ID must verify too.
    """
    text = note.text.encode("utf-8")
    candidates = [signature for signature in note.signatures if verifier.matches(signature)]
    name = verifier.name
    if name is None:
        name = next((sig.name for sig in candidates if verifier.verify(text, sig.signature)), None)
    if name is not None:
        signed = [signature for signature in candidates if signature.name == name]
        for signature in signed:
            if not verifier.verify(text, signature.signature):
                raise NoteSignatureError(
                    f"the signature by {signature.name} (key ID {signature.key_id.hex()}) on the note does not verify"
                )
        if signed:
            return signed[0]
    if candidates:
        names = ", ".join(sorted({sig.name for sig in candidates}))
        raise NoteSignatureError(
            f"the signature with key ID {verifier.key_id.hex()} (by {names}) on the note does not verify"
        )
    seen = ", ".join(f"{sig.name} (key ID {sig.key_id.hex()})" for sig in note.signatures)
    raise NoteSignatureError(f"note is not signed by {verifier.label}; signed by: {seen}")


def sign_note(text: str, signers: list[NoteSigner] | tuple[NoteSigner, ...]) -> str:
    """Sign a note text (ending in a newline) with each signer; return the whole signed note."""
    if not text.endswith("\n"):
        raise NoteFormatError("note text must end with a newline")
    if not signers:
        raise NoteFormatError("a signed note needs at least one signer")
    raw = text.encode("utf-8")
    signatures = tuple(
        NoteSignature(check_key_name(signer.name), signer.key_id, signer.sign(raw)) for signer in signers
    )
    note = SignedNote(text, signatures).to_text()
    parse_note(note)  # the note we emit must be one we (and Go's note.Open) accept
    return note
