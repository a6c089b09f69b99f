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
import re
from dataclasses import dataclass

from supplychain.errors import VerificationError
from supplychain.formats.b64 import decode_canonical
from supplychain.keys.log import LogKeyError, NoteSigner, NoteVerifier, check_key_name

MAX_NOTE_BYTES = 1 << 20
"""Largest signed note accepted (the signed-note spec asks verifiers to bound notes; 1 MiB is generous)."""

MAX_NOTE_SIGNATURES = 100
"""Most signature lines accepted in one note (the spec requires at least 16; Go's note package allows 100)."""

_EM_DASH_PREFIX = "\u2014 "
_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f]")  # ASCII controls but newline (signed-note "Format")


# -- errors ----------------------------------------------------------------------------------------


class SignedNoteError(VerificationError):
    """A signed note or checkpoint that cannot be trusted."""


class NoteFormatError(SignedNoteError):
    """A signed note that is not well-formed (c2sp.org/signed-note "Format")."""

    default_hint = "the note was damaged or is not a signed note; fetch it again from the log"


class NoteSignatureError(SignedNoteError):
    """A note without a valid signature from the expected key."""

    default_hint = "the checkpoint was not signed by this log's key: check the log's public key and URL"


# -- signed notes ----------------------------------------------------------------------------------


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
            raw = decode_canonical(encoded)
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
    candidates = [signature for signature in note.signatures if verifier.matches(signature.name, signature.key_id)]
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
