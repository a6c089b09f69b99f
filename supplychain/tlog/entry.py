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

Canonicalisation is ``formats.jcs.canonical_json``: the ``rfc8785`` package's bytes, never a hand-written
encoder (the stdlib's where it provably gives the same bytes). Bodies are kept as the bytes the log returned
(STYLE.md section 4): the leaf hash and the SET are computed over them, never over a re-serialisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from supplychain.formats.rekor import (
    EntryFormatError,
    LogEntry,
    RekorBundle,
    check_json_integer,
    decode_base64_strict,
)
from supplychain.keys.log import (
    LogKey,
    LogPrivateKey,
    LogSigner,
    NoteVerifier,
    verify_signature,
)
from supplychain.tlog.checkpoint import Checkpoint, CheckpointMismatchError, verify_checkpoint
from supplychain.tlog.merkle import HASH_SIZE, hash_leaf, verify_inclusion
from supplychain.trust.error import LogEntryError


class EntryTimestampError(LogEntryError):
    """A signed entry timestamp that is not the given log's signature over this entry."""

    default_hint = "the entry was not signed by this log: check the log's public key (--rekor-public-key)"


class EntryInclusionError(LogEntryError):
    """An inclusion proof that cannot be tied to a root the log signed."""


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
    return EntryTimestampSigner(private_key).sign(entry)


class EntryTimestampSigner:
    """The SETs of one log key: the key is checked and its log ID derived once, not for every entry (a log signs
    one SET per append, on its busiest path)."""

    def __init__(self, private_key: LogPrivateKey) -> None:
        self._signer = LogSigner(private_key)
        self.log_id = LogKey.from_public_key(private_key.public_key()).log_id_hex

    def sign(self, entry: LogEntry) -> bytes:
        """The SET of ``entry``, which must name this key's log."""
        if entry.log_id != self.log_id:
            raise EntryFormatError(f"entry names log {entry.log_id}, but this key is log {self.log_id}")
        return self._signer.sign(entry.timestamp_payload())


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
