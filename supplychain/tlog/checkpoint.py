"""Transparency-log checkpoints (https://c2sp.org/tlog-checkpoint): signed notes (``supplychain.tlog.note``) whose
text is the log's tree head, "my tree has ``size`` leaves and this root hash"::

    rekor.sigstore.dev - 2605736670972794746       <- origin
    75441653                                       <- tree size, decimal, no leading zeros
    uAqI3id6JHPMMNUltHIKHuX1kVHpm5y7jSfnbaRO+E4=   <- base64 root hash (32 bytes)
    <extension lines, optional>
                                                   <- blank line: end of the note text
    — rekor.sigstore.dev wNI9ajBGAiEA5perJLLm...   <- "— <key name> base64(key ID || signature)"
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from supplychain.formats.b64 import decode_canonical
from supplychain.keys.log import LogKeyError, NoteSigner, NoteVerifier, check_key_name
from supplychain.tlog.merkle import HASH_SIZE, MAX_TREE_SIZE
from supplychain.tlog.note import NoteFormatError, SignedNote, SignedNoteError, parse_note, sign_note, verify_note

_TREE_SIZE_RE = re.compile(r"(?:0|[1-9][0-9]*)", re.ASCII)
_REKOR_ORIGIN_RE = re.compile(r"(\S+) - ([0-9]+)", re.ASCII)


class CheckpointFormatError(NoteFormatError):
    """A note whose text is not a checkpoint (c2sp.org/tlog-checkpoint "Note text")."""


class CheckpointMismatchError(SignedNoteError):
    """A validly signed checkpoint that is not the one expected (another origin, size or root)."""

    default_hint = "the evidence does not fit together (forged, or from another log or tree): do not trust it"


# -- checkpoints -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head: origin, tree size, root hash and opaque extension lines (c2sp.org/tlog-checkpoint)."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise CheckpointFormatError(f"checkpoint origin {self.origin!r} must be one non-empty line")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointFormatError(f"checkpoint tree size {self.size} is out of range (0 to 2^64-1)")
        if len(self.root_hash) != HASH_SIZE:
            raise CheckpointFormatError(
                f"checkpoint root hash is {len(self.root_hash)} bytes, expected {HASH_SIZE} (SHA-256)"
            )
        for line in self.extensions:
            if not line or "\n" in line:
                raise CheckpointFormatError(f"checkpoint extension line {line!r} must be one non-empty line")

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        """Parse a checkpoint note text: origin, size and root lines, then extension lines, each ending in "\\n"."""
        if not text.endswith("\n"):
            raise CheckpointFormatError("checkpoint text does not end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointFormatError(
                f"checkpoint text has {len(lines)} line(s), expected at least 3: origin, tree size and root hash"
            )
        origin, size_line, root_line, *extensions = lines
        if not origin:
            raise CheckpointFormatError("checkpoint origin line is empty")
        if not _TREE_SIZE_RE.fullmatch(size_line):
            raise CheckpointFormatError(
                f"checkpoint tree size {size_line!r} is not a decimal number without leading zeros"
            )
        size = int(size_line)
        if size > MAX_TREE_SIZE:
            raise CheckpointFormatError(f"checkpoint tree size {size_line} is out of range (0 to 2^64-1)")
        try:
            root_hash = decode_canonical(root_line)
        except ValueError as exc:
            raise CheckpointFormatError(f"checkpoint root hash: {exc}") from exc
        if len(root_hash) != HASH_SIZE:
            raise CheckpointFormatError(
                f"checkpoint root hash is {len(root_hash)} bytes, expected {HASH_SIZE} (SHA-256)"
            )
        for number, line in enumerate(extensions, start=4):
            if not line:
                raise CheckpointFormatError(f"checkpoint line {number} is empty (extension lines must not be)")
        return cls(origin, size, root_hash, tuple(extensions))

    def to_text(self) -> str:
        """The note text this checkpoint signs."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode(), *self.extensions]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A parsed (not yet verified) checkpoint with the note it came in."""

    checkpoint: Checkpoint
    note: SignedNote


def parse_checkpoint(data: str | bytes) -> SignedCheckpoint:
    """Parse a signed checkpoint strictly, without verifying it (see ``verify_checkpoint``)."""
    note = parse_note(data)
    return SignedCheckpoint(Checkpoint.from_text(note.text), note)


def verify_checkpoint(
    data: str | bytes | SignedCheckpoint, verifier: NoteVerifier, *, origin: str | None = None
) -> Checkpoint:
    """Parse ``data``, require a valid signature from ``verifier`` and, if given, the ``origin``; return it.

    Raise ``NoteFormatError`` for a malformed note, ``NoteSignatureError`` without a valid signature from the key,
    ``CheckpointMismatchError`` for another origin.
    """
    signed = data if isinstance(data, SignedCheckpoint) else parse_checkpoint(data)
    verify_note(signed.note, verifier)
    if origin is not None and signed.checkpoint.origin != origin:
        raise CheckpointMismatchError(
            f"checkpoint origin is {signed.checkpoint.origin!r}, expected {origin!r}",
            hint="the checkpoint comes from another log (or another shard of it)",
        )
    return signed.checkpoint


def sign_checkpoint(
    origin: str, size: int, root: bytes, signer: NoteSigner, *, extensions: tuple[str, ...] = ()
) -> str:
    """Build and sign a checkpoint; return the signed note text the log hands out."""
    return sign_note(Checkpoint(origin, size, root, extensions).to_text(), [signer])


def rekor_origin(hostname: str, tree_id: int) -> str:
    """Rekor v1's checkpoint origin ``<hostname> - <tree ID>``, e.g. ``rekor.sigstore.dev - 1193050959916656506``."""
    check_key_name(hostname)
    if tree_id < 0:
        raise LogKeyError(f"tree ID {tree_id} is negative")
    return f"{hostname} - {tree_id}"


def parse_rekor_origin(origin: str) -> tuple[str, int | None]:
    """Split a Rekor origin into (host name, tree ID): ``host - 123`` (v1) or a bare ``host`` (v2, C2SP logs)."""
    match = _REKOR_ORIGIN_RE.fullmatch(origin)
    if match:
        return match.group(1), int(match.group(2))
    if not origin or any(ch.isspace() for ch in origin):
        raise CheckpointFormatError(f"checkpoint origin {origin!r} is neither 'host - treeID' nor a bare name")
    return origin, None
