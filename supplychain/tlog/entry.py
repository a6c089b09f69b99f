"""Rekor log entries: the signed entry timestamp (the "inclusion promise") and the proof that an entry is in the log.

A Rekor v1 entry is the canonical JSON ``body`` it stores (a ``hashedrekord``, ``dsse`` or ``intoto`` record), the
``integratedTime`` at which it was added, its ``logIndex`` and the ``logID`` of the log (hex SHA-256 of the log key's
DER SubjectPublicKeyInfo). Two pieces of evidence travel with it:

* the **signed entry timestamp (SET)**: the log key's signature over the RFC 8785 canonical JSON of
  ``{"body": <base64 body>, "integratedTime": <int>, "logID": <hex>, "logIndex": <int>}`` (cosign's
  ``dev.sigstore.cosign/bundle`` annotation, a Sigstore bundle's ``inclusionPromise``). It promises inclusion;
* the **inclusion proof**: an RFC 9162 audit path from the entry's leaf, ``SHA-256(0x00 || body)``, to a root hash,
  with a checkpoint (c2sp.org/tlog-checkpoint) in which the log signs that root. Note that the proof's index is the
  index in the log shard's tree, which differs from the global ``logIndex`` of a sharded log such as
  rekor.sigstore.dev.

Canonicalisation is the ``rfc8785`` package's, never hand-written. Bodies are kept as the bytes the log returned
(STYLE.md section 4): the leaf hash and the SET are computed over them, never over a re-serialisation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from supplychain.errors import VerificationError
from supplychain.formats.rekor import (
    EntryFormatError,
    LogEntry,
    RekorBundle,
    check_json_integer,
    decode_base64_strict,
)
from supplychain.tlog.checkpoint import Checkpoint, CheckpointMismatchError, verify_checkpoint
from supplychain.tlog.merkle import HASH_SIZE, hash_leaf, verify_inclusion
from supplychain.tlog.note import (
    LogKeyError,
    LogPrivateKey,
    LogPublicKey,
    NoteVerifier,
    check_public_key,
    create_signature,
    ed25519_key_id,
    load_public_key,
    spki_der,
    verify_signature,
)


class LogEntryError(VerificationError):
    """Transparency-log evidence for an entry that does not hold."""

    default_hint = ("the signature's log evidence does not prove it was logged: verify against the log it was "
                    "recorded in, or sign again to record it")


class EntryTimestampError(LogEntryError):
    """A signed entry timestamp that is not the given log's signature over this entry."""

    default_hint = "the entry was not signed by this log: check the log's public key (--rekor-public-key)"


class EntryInclusionError(LogEntryError):
    """An inclusion proof that cannot be tied to a root the log signed."""


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
        if len(self.log_id) != HASH_SIZE:
            raise LogKeyError(f"a log ID is {HASH_SIZE} bytes, got {len(self.log_id)}")

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


# -- entries and their signed entry timestamps -----------------------------------------------------


def entry_leaf_hash(body: bytes) -> bytes:
    """The Merkle leaf hash of an entry: ``SHA-256(0x00 || body)`` over the canonical body bytes (RFC 9162 2.1.1)."""
    return hash_leaf(body)


def verify_entry_timestamp(entry: LogEntry, signature: bytes, key: LogKey) -> None:
    """Check that ``signature`` is ``key``'s signed entry timestamp for ``entry``; raise ``EntryTimestampError``.

    The entry must name the key's log (a SET from another log is refused before any cryptography).
    """
    if entry.log_id != key.log_id_hex:
        raise EntryTimestampError(f"entry is from log {entry.log_id}, expected log {key.log_id_hex}")
    if not verify_signature(key.public_key, signature, entry.timestamp_payload()):
        raise EntryTimestampError(
            f"signed entry timestamp of entry {entry.log_index} does not verify with the key of log {key.log_id_hex}"
        )


def sign_entry_timestamp(entry: LogEntry, private_key: LogPrivateKey) -> bytes:
    """Sign ``entry`` as the log: the SET a local log returns with each entry."""
    expected = LogKey.from_public_key(private_key.public_key()).log_id_hex
    if entry.log_id != expected:
        raise EntryFormatError(f"entry names log {entry.log_id}, but this key is log {expected}")
    return create_signature(private_key, entry.timestamp_payload())


# -- inclusion proofs ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """An audit path for one entry, as Rekor returns it: index in the (shard) tree, size, root, hashes, checkpoint."""

    log_index: int
    tree_size: int
    root_hash: bytes
    hashes: tuple[bytes, ...]
    checkpoint: str | None = None

    @classmethod
    def from_wire(
        cls, log_index: int, tree_size: int, root_hash: str, hashes: Sequence[str], checkpoint: str | None = None
    ) -> InclusionProof:
        """Build from hex-encoded hashes (Rekor v1 API) or base64 (Sigstore bundles): 64 characters is hex."""
        return cls(
            check_json_integer(log_index, "inclusion proof logIndex"),
            check_json_integer(tree_size, "inclusion proof treeSize"),
            _decode_hash(root_hash, "root hash"),
            tuple(_decode_hash(value, f"proof hash {n}") for n, value in enumerate(hashes)),
            checkpoint,
        )


def _decode_hash(text: str, what: str) -> bytes:
    if len(text) == 2 * HASH_SIZE:
        try:
            return bytes.fromhex(text)
        except ValueError as exc:
            raise EntryFormatError(f"{what} {text!r} is not hex") from exc
    return decode_base64_strict(text, what)


def verify_entry_inclusion(
    body: bytes, proof: InclusionProof, verifier: NoteVerifier, *, origin: str | None = None
) -> Checkpoint:
    """Prove that ``body`` is in the log: the proof leads from its leaf to a root the log signed.

    1. RFC 9162 2.1.3.2: the audit path from ``SHA-256(0x00 || body)`` at ``proof.log_index`` reaches
       ``proof.root_hash`` in a tree of ``proof.tree_size`` (``InclusionProofError`` otherwise);
    2. the checkpoint is signed by ``verifier`` (``NoteSignatureError``) and, if given, has ``origin``;
    3. the checkpoint's size and root are the proof's (``CheckpointMismatchError``).

    Return the verified checkpoint. A proof without a checkpoint raises ``EntryInclusionError``: its root is
    unauthenticated, so it proves nothing offline.
    """
    verify_inclusion(hash_leaf(body), proof.log_index, proof.tree_size, proof.hashes, proof.root_hash)
    if proof.checkpoint is None:
        raise EntryInclusionError(
            "the inclusion proof has no checkpoint, so nothing signed its root hash",
            hint="fetch the log's current checkpoint and a proof against it (--tlog-online)",
        )
    checkpoint = verify_checkpoint(proof.checkpoint, verifier, origin=origin)
    if checkpoint.size != proof.tree_size or checkpoint.root_hash != proof.root_hash:
        raise CheckpointMismatchError(
            f"checkpoint is for tree size {checkpoint.size} with root {checkpoint.root_hash.hex()}, but the "
            f"inclusion proof is for tree size {proof.tree_size} with root {proof.root_hash.hex()}"
        )
    return checkpoint


def verify_rekor_bundle(bundle: RekorBundle, key: LogKey) -> LogEntry:
    """Verify a cosign Rekor bundle's SET with the log's key; return the entry (its ``integrated_time`` is then
    trustworthy)."""
    verify_entry_timestamp(bundle.entry, bundle.signed_entry_timestamp, key)
    return bundle.entry
