"""Transparency-log evidence for one entry, in every wire form, and its offline verification against trusted keys.

Three forms carry the same facts (the body, when and where it was logged, a SET and/or an inclusion proof):

* a Rekor v1 API answer: ``{"<uuid>": {"body", "integratedTime", "logID", "logIndex", "verification":
  {"signedEntryTimestamp", "inclusionProof": {"logIndex", "rootHash", "treeSize", "hashes", "checkpoint"}}}}``
  (hex hashes; Rekor ``openapi.yaml`` ``LogEntry``);
* a Sigstore bundle's ``verificationMaterial.tlogEntries[]``, the TransparencyLogEntry of protobuf-specs
  (``sigstore_rekor.proto``) that both Rekor v1 and v2 entries take there: int64 as strings, base64 hashes,
  ``logId.keyId``, ``kindVersion``, ``inclusionPromise.signedEntryTimestamp``, ``inclusionProof.checkpoint.envelope``,
  ``canonicalizedBody``;
* cosign's ``dev.sigstore.cosign/bundle`` annotation (``RekorBundle``): SET only.

A Sigstore bundle must carry what its version requires (protobuf-specs ``sigstore_bundle.proto``; sigstore-js
``assertBundleV01``/``assertBundleV02``/``assertBundleLatest``): each entry of a v0.1 bundle an inclusion promise,
each entry of a v0.2 or v0.3 bundle an inclusion proof with its checkpoint. cosign's annotation is its own format
and keeps its SET-only form.

All three become a ``RekorEntry``. The entry UUID is the hex leaf hash ``SHA-256(0x00 || body)`` (RFC 9162 2.1.1),
optionally prefixed by the 16-hex-digit tree ID of the shard (Rekor's "entry ID"); a UUID whose leaf part is not
the body's hash is refused.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from supplychain.errors import IntegrityError
from supplychain.formats.bundle import Bundle, BundleFormatError, KindVersion, TransparencyLogEntry
from supplychain.formats.bundle import InclusionProof as BundleInclusionProof
from supplychain.formats.rekor import (
    MAX_BUNDLE_BYTES,
    EntryFormatError,
    EntryKindError,
    LogEntry,
    RekorBundle,
    body_kind,
    json_error_text,
)
from supplychain.formats.schema import JsonReader
from supplychain.formats.strictjson import JsonFormatError, loads_untrusted
from supplychain.tlog.checkpoint import Checkpoint, CheckpointMismatchError, parse_rekor_origin
from supplychain.tlog.entry import (
    EntryInclusionError,
    EntryTimestampError,
    InclusionProof,
    verify_entry_inclusion,
    verify_entry_timestamp,
)
from supplychain.tlog.merkle import hash_leaf
from supplychain.trust.error import KeyValidityError, LogEntryError
from supplychain.trust.keyring import LogKeyring, TrustedLog
from supplychain.trust.window import format_time

_UUID_RE = re.compile(r"(?:[0-9a-f]{16})?[0-9a-f]{64}", re.ASCII)


class RekorResponseError(IntegrityError):
    """A transparency log's answer that is malformed, too large, or not the one asked for."""

    default_hint = "the log (or something between us and it) answered wrongly; retry, and report it if it persists"


class EntryUuidError(RekorResponseError):
    """An entry returned under a UUID that is not the one asked for, or not its own leaf hash."""


# -- UUIDs -------------------------------------------------------------------------------------------------------


def split_uuid(uuid: str) -> tuple[int | None, bytes]:
    """``(tree ID or None, leaf hash)`` of an entry UUID (64 hex digits, or 80 with the tree ID in front)."""
    if not _UUID_RE.fullmatch(uuid):
        raise EntryUuidError(
            f"entry UUID {uuid[:100]!r} is not 64 (or 80) lowercase hex digits",
            hint="a Rekor entry UUID is the entry's leaf hash in hex, optionally after a 16-hex-digit tree ID",
        )
    if len(uuid) == 80:
        return int(uuid[:16], 16), bytes.fromhex(uuid[16:])
    return None, bytes.fromhex(uuid)


def entry_uuid(body: bytes, tree_id: int | None = None) -> str:
    """The UUID of an entry with ``body``: hex leaf hash, after ``%016x`` of the tree ID if given (Rekor v1)."""
    leaf = hash_leaf(body).hex()
    return leaf if tree_id is None else f"{tree_id:016x}{leaf}"


def same_entry(asked: str, returned: str) -> bool:
    """Whether a returned UUID names the asked entry: the leaf hashes agree, and so do the tree IDs if both have one."""
    asked_tree, asked_leaf = split_uuid(asked.lower())
    got_tree, got_leaf = split_uuid(returned)
    return asked_leaf == got_leaf and (asked_tree is None or got_tree is None or asked_tree == got_tree)


# -- the entry value ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RekorEntry:
    """One log entry with its evidence, not yet verified."""

    uuid: str
    entry: LogEntry
    signed_entry_timestamp: bytes | None = None
    inclusion_proof: InclusionProof | None = None
    kind: str | None = None
    version: str | None = None

    def __post_init__(self) -> None:
        _, leaf = split_uuid(self.uuid)
        if leaf != hash_leaf(self.entry.body):
            raise EntryUuidError(
                f"entry UUID {self.uuid} is not the leaf hash of its body ({hash_leaf(self.entry.body).hex()})"
            )

    @property
    def tree_id(self) -> int | None:
        """The shard's tree ID from an 80-digit UUID."""
        return split_uuid(self.uuid)[0]

    @property
    def log_index(self) -> int:
        """The entry's (global) index in the log."""
        return self.entry.log_index

    def to_rekor_bundle(self) -> RekorBundle:
        """cosign's ``dev.sigstore.cosign/bundle`` annotation for this entry (needs the SET)."""
        if self.signed_entry_timestamp is None:
            raise EntryTimestampError("the entry has no signed entry timestamp to put in a cosign bundle")
        return RekorBundle(self.signed_entry_timestamp, self.entry)

    def to_wire(self) -> dict[str, Any]:
        """The Rekor v1 API ``LogEntry`` map ``{uuid: {...}}`` (hex proof hashes), as Rekor serves it."""
        value: dict[str, Any] = {
            "body": self.entry.body_base64,
            "integratedTime": self.entry.integrated_time,
            "logID": self.entry.log_id,
            "logIndex": self.entry.log_index,
        }
        verification: dict[str, Any] = {}
        if self.inclusion_proof is not None:
            proof = self.inclusion_proof
            verification["inclusionProof"] = {
                "checkpoint": proof.checkpoint,
                "hashes": [value.hex() for value in proof.hashes],
                "logIndex": proof.log_index,
                "rootHash": proof.root_hash.hex(),
                "treeSize": proof.tree_size,
            }
        if self.signed_entry_timestamp is not None:
            verification["signedEntryTimestamp"] = base64.b64encode(self.signed_entry_timestamp).decode()
        if verification:
            value["verification"] = verification
        return {self.uuid: value}


# -- Rekor v1 API answers ----------------------------------------------------------------------------------------


def parse_log_entries(data: bytes | dict[str, Any]) -> list[RekorEntry]:
    """The entries of a Rekor v1 ``LogEntry`` map (``GET /api/v1/log/entries/{uuid}``, ``POST`` answers).

    Raise ``RekorResponseError`` for anything malformed (including a UUID that is not its body's leaf hash).
    """
    from supplychain.tlog.answer import read_log_entries  # only answers in this form need it (startup)

    read = JsonReader(lambda problem: RekorResponseError(f"the log's entry is malformed: {problem}"))
    if isinstance(data, dict):
        entries = read_log_entries(data, read)
    else:
        try:
            entries = read_log_entries(loads_untrusted(data), read)
        except JsonFormatError as exc:
            raise RekorResponseError(f"the log's entry is malformed: {exc}") from exc
    result = []
    for uuid, raw in entries.items():
        try:
            entry = LogEntry.from_base64(raw.body, raw.integratedTime, raw.logIndex, raw.logID.lower())
            verification = raw.verification
            proof = verification.inclusionProof
            result.append(
                RekorEntry(
                    uuid.lower(),
                    entry,
                    _b64(verification.signedEntryTimestamp, "signedEntryTimestamp")
                    if verification.signedEntryTimestamp is not None
                    else None,
                    InclusionProof.from_wire(
                        proof.logIndex, proof.treeSize, proof.rootHash, proof.hashes, proof.checkpoint
                    )
                    if proof is not None
                    else None,
                    *_kind_or_none(entry.body),
                )
            )
        except EntryFormatError as exc:
            raise RekorResponseError(f"the log's entry {uuid[:80]} is malformed: {exc}") from exc
    return result


def _kind_or_none(body: bytes) -> tuple[str | None, str | None]:
    try:
        return body_kind(body)
    except EntryKindError:
        return None, None


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EntryFormatError(f"{what} is not valid base64") from exc


# -- Sigstore bundles (TransparencyLogEntry) ---------------------------------------------------------------------


def bundle_entries(bundle: Bundle | bytes | str) -> list[RekorEntry]:
    """The tlog entries of a Sigstore bundle (v0.1 to v0.3), Rekor v1 or v2; ``EntryFormatError`` if malformed.

    ``bundle`` is the parsed ``formats.bundle.Bundle`` (what ``verify`` holds: parsed once) or its JSON. Each entry
    must carry the evidence its bundle version requires, and ``kindVersion`` must agree with the body. The UUID of
    each is its leaf hash (bundles do not carry the tree ID).
    """
    if not isinstance(bundle, Bundle):
        if len(bundle) > MAX_BUNDLE_BYTES * 16:
            raise EntryFormatError("the Sigstore bundle is larger than 16 MiB")
        raw = bundle.encode("utf-8", "surrogatepass") if isinstance(bundle, str) else bundle
        try:
            bundle = Bundle.parse(raw)
        except BundleFormatError as exc:
            raise EntryFormatError(f"not a Sigstore bundle: {exc.message}") from exc
    result = []
    for number, tlog_entry in enumerate(bundle.tlog_entries):
        _check_required_evidence(tlog_entry, number, bundle.version)
        result.append(_bundle_entry(tlog_entry, number))
    if not result:
        raise EntryFormatError("the Sigstore bundle has no transparency-log entry")
    return result


def _bundle_entry(raw: TransparencyLogEntry, number: int) -> RekorEntry:
    body = raw.canonicalized_body
    try:
        kind = body_kind(body)
    except EntryKindError as exc:
        raise EntryFormatError(f"tlogEntries[{number}]: {exc}") from exc
    declared = raw.kind_version
    if declared is not None and (declared.kind, declared.version) != kind:
        raise EntryFormatError(
            f"tlogEntries[{number}] says {declared.kind} {declared.version}, but its body is {kind[0]} {kind[1]}"
        )
    if len(raw.log_id) != 32:
        raise EntryFormatError(f"tlogEntries[{number}].logId.keyId is {len(raw.log_id)} bytes, not a SHA-256")
    proof = raw.inclusion_proof
    return RekorEntry(
        hash_leaf(body).hex(),
        LogEntry(body, raw.integrated_time, raw.log_index, raw.log_id.hex()),
        raw.inclusion_promise,
        None if proof is None else InclusionProof(
            proof.log_index, proof.tree_size, proof.root_hash, proof.hashes, proof.checkpoint),
        *kind,
    )


def bundle_tlog_entry(entry: RekorEntry) -> TransparencyLogEntry:
    """``entry`` as a Sigstore bundle's ``TransparencyLogEntry`` (what ``sign`` puts into ``tlogEntries``)."""
    proof = entry.inclusion_proof
    return TransparencyLogEntry(
        entry.entry.log_index,
        bytes.fromhex(entry.entry.log_id),
        entry.entry.body,
        entry.entry.integrated_time,
        None if entry.kind is None or entry.version is None else KindVersion(entry.kind, entry.version),
        entry.signed_entry_timestamp,
        None if proof is None else BundleInclusionProof(
            proof.log_index, proof.root_hash, proof.tree_size, proof.hashes, proof.checkpoint),
    )


_VERSION_HINT = (
    "a Sigstore bundle v0.2 or later carries each entry's inclusion proof and its checkpoint (v0.1: the inclusion "
    "promise); sigstore-go and sigstore-js refuse one without"
)


def _check_required_evidence(raw: TransparencyLogEntry, number: int, version: int) -> None:
    """v0.1: an inclusion promise (SET) is required; v0.2+: an inclusion proof with a checkpoint (bundle spec)."""
    where = f"tlogEntries[{number}]"
    if version == 1:
        if raw.inclusion_promise is None:
            raise EntryFormatError(f"{where} of a v0.1 bundle has no inclusionPromise", hint=_VERSION_HINT)
    elif raw.inclusion_proof is None:
        raise EntryFormatError(f"{where} of a v0.{version} bundle has no inclusionProof", hint=_VERSION_HINT)
    elif raw.inclusion_proof.checkpoint is None:
        raise EntryFormatError(f"{where}.inclusionProof of a v0.{version} bundle has no checkpoint",
                               hint=_VERSION_HINT)


def rekor_bundle_entry(bundle: RekorBundle) -> RekorEntry:
    """A cosign ``dev.sigstore.cosign/bundle`` annotation as a ``RekorEntry`` (SET, no proof)."""
    return RekorEntry(hash_leaf(bundle.entry.body).hex(), bundle.entry, bundle.signed_entry_timestamp, None,
                      *_kind_or_none(bundle.entry.body))


def read_evidence(data: bytes) -> list[RekorEntry]:
    """Entries from any evidence file: a Sigstore bundle, cosign's Rekor bundle annotation, or a Rekor v1 entry
    map (what ``rekor-cli get --format json`` and ``supplychain tlog get -o json`` print)."""
    try:
        document = loads_untrusted(data)
    except JsonFormatError as exc:  # bad syntax or UTF-8, duplicate keys, wide numbers, deep nesting
        raise EntryFormatError(f"the evidence is not JSON: {json_error_text(exc)}") from exc
    if isinstance(document, dict) and "mediaType" in document:
        return bundle_entries(data)
    if isinstance(document, dict) and "SignedEntryTimestamp" in document:
        return [rekor_bundle_entry(RekorBundle.parse(data))]
    if isinstance(document, dict) and document and all(_UUID_RE.fullmatch(key.lower()) for key in document):
        try:
            return parse_log_entries(data)
        except RekorResponseError as exc:
            raise EntryFormatError(str(exc)) from exc
    raise EntryFormatError(
        "unrecognised evidence: expected a Sigstore bundle, a cosign Rekor bundle or a Rekor entry",
        hint="give the bundle file, the value of the dev.sigstore.cosign/bundle annotation, or `tlog get -o json`",
    )


# -- offline verification ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryVerification:
    """What was proven about an entry: by which trusted key, the SET, inclusion up to a checkpoint, key window.

    ``integrated_time`` is the entry's time as the log signed it (the SET covers ``integratedTime``), or ``None``
    when no SET was verified: an unsigned ``integratedTime`` is the evidence's own claim, and never used.
    ``checked_at`` is when the log key's validity window was checked: at that signed time, else at the current
    time (``time_checked`` is then true too: the window was checked, just not at the entry's time).
    """

    log: TrustedLog
    timestamp_verified: bool
    checkpoint: Checkpoint | None
    time_checked: bool
    integrated_time: int | None = None
    checked_at: int | None = None

    def summary(self) -> str:
        """One line for people: which checks passed."""
        parts = []
        if self.timestamp_verified:
            parts.append("signed entry timestamp")
        if self.checkpoint is not None:
            parts.append(f"inclusion in tree of size {self.checkpoint.size} ({self.checkpoint.origin})")
        if self.integrated_time is None:
            when = "" if self.checked_at is None else f" ({format_time(self.checked_at)})"
            parts.append(f"no signed integration time: log key validity checked at the current time{when}")
        return "; ".join(parts)


_NO_SIGNED_TIME_HINT = (
    "without a signed entry timestamp nothing vouches for when the entry was made, so its log key must be valid "
    "now (signed RFC 3161 timestamps are not verified); use evidence with the log's SET, or a current log key"
)


def verify_entry(
    entry: RekorEntry,
    keyring: LogKeyring,
    *,
    require_timestamp: bool = False,
    require_inclusion: bool = False,
    clock: Callable[[], float] = time.time,
) -> EntryVerification:
    """Verify ``entry`` offline with the trusted keys; return what was proven, raise a ``LogEntryError`` otherwise.

    1. the entry's log ID names a trusted key (``UnknownLogError``);
    2. the SET, if present (or required), verifies with that key over the entry (``EntryTimestampError``);
    3. the key was valid (``KeyValidityError``) at the entry's ``integratedTime`` if the SET signed it, else at
       ``clock()``: without a SET the time is unsigned (anyone can edit it into a key's window), so there is no
       trusted time for the entry (sigstore-go: "DO NOT use timestamp with only an inclusion proof");
    4. the inclusion proof, if present (or required), leads from the body's leaf to a checkpoint signed by that key
       (RFC 9162 2.1.3.2; ``InclusionProofError``, ``NoteSignatureError``, ``CheckpointMismatchError``), whose
       origin names the entry's shard when both are known, and whose index is not past the entry's.

    An entry with neither a SET nor a proof proves nothing and is refused.
    """
    log = keyring.find(entry.entry.log_id)
    timestamp_verified = False
    if entry.signed_entry_timestamp is not None:
        verify_entry_timestamp(entry.entry, entry.signed_entry_timestamp, log.key)
        timestamp_verified = True
    elif require_timestamp:
        raise EntryTimestampError(f"entry {entry.log_index} has no signed entry timestamp")
    signed_time = entry.entry.integrated_time if timestamp_verified else None
    if signed_time is not None:
        checked_at = signed_time
        log.check_time(checked_at, f"entry {entry.log_index} integration")
    else:
        checked_at = int(clock())
        try:
            log.check_time(checked_at, f"entry {entry.log_index} has no signed integration time; the current")
        except KeyValidityError as exc:
            raise KeyValidityError(exc.message, hint=_NO_SIGNED_TIME_HINT) from None
    checkpoint = None
    if entry.inclusion_proof is not None:
        proof = entry.inclusion_proof
        if proof.log_index > entry.log_index:
            raise EntryInclusionError(
                f"inclusion proof is for leaf {proof.log_index}, past the entry's log index {entry.log_index}"
            )
        checkpoint = verify_entry_inclusion(entry.entry.body, proof, log.note_verifier())
        _check_shard(entry, checkpoint)
    elif require_inclusion:
        raise EntryInclusionError(
            f"entry {entry.log_index} has no inclusion proof", hint="fetch it from the log (--online)"
        )
    if not timestamp_verified and checkpoint is None:
        raise LogEntryError(f"entry {entry.log_index} has neither a signed entry timestamp nor an inclusion proof")
    return EntryVerification(log, timestamp_verified, checkpoint, True, signed_time, checked_at)


def _check_shard(entry: RekorEntry, checkpoint: Checkpoint) -> None:
    """A Rekor v1 checkpoint's origin ``host - treeID`` must name the entry's shard when the UUID gives it."""
    if entry.tree_id is None:
        return
    _, tree_id = parse_rekor_origin(checkpoint.origin)
    if tree_id is not None and tree_id != entry.tree_id:
        raise CheckpointMismatchError(
            f"the inclusion proof's checkpoint is for tree {tree_id}, but the entry is in tree {entry.tree_id}"
        )
