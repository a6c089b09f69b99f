"""Render the ``tlog`` operator tools' results (``info``, ``get``, ``verify``, ``monitor``) as text or JSON.

The JSON shapes are documented in docs/output.md; log URLs are shown without user info (``MonitorState.url``,
``TrustedLog.base_url``), log IDs as hex, hashes as hex.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from supplychain.formats.rekor import DsseRecord, EntryKindError, HashedRekord, IntotoRecord, parse_body
from supplychain.report.format import Renderer
from supplychain.tlog.client import LogInfo, VerifiedEntry
from supplychain.tlog.monitor import MonitorResult
from supplychain.tlog.verdict import EntryVerdict, EntryVerdicts


def info_json(info: LogInfo) -> dict[str, Any]:
    """``tlog info -o json``: the verified checkpoint."""
    return {"origin": info.checkpoint.origin, "treeSize": info.checkpoint.size,
            "rootHash": info.checkpoint.root_hash.hex(), "treeID": info.tree_id,
            "logID": info.log.key.log_id_hex, "signedTreeHead": info.signed_tree_head}


def render_info_text(info: LogInfo) -> str:
    """``tlog info``: the checkpoint's fields, then the signed checkpoint itself as the log served it (a signed
    note, which ends in its own newline)."""
    return "\n".join([
        f"origin:    {info.checkpoint.origin}",
        f"tree size: {info.checkpoint.size}",
        f"root hash: {info.checkpoint.root_hash.hex()}",
        f"log ID:    {info.log.key.log_id_hex}",
        "checkpoint (verified):",
        info.signed_tree_head,
    ])


def entry_json(verified: VerifiedEntry) -> dict[str, Any]:
    """``tlog get -o json``: the entry as Rekor serves it (``{uuid: {...}}``), which ``tlog verify`` reads back."""
    return verified.entry.to_wire()


def render_entry_text(verified: VerifiedEntry) -> str:
    """``tlog get``: the entry's fields, what it is about (for the kinds we read) and what was verified."""
    entry = verified.entry
    lines = [
        f"UUID:            {entry.uuid}",
        f"log index:       {entry.log_index}",
        f"integrated time: {_when(entry.entry.integrated_time)}",
        f"log ID:          {entry.entry.log_id}",
        f"kind:            {entry.kind or '?'} {entry.version or ''}".rstrip(),
    ]
    try:
        record = parse_body(entry.entry.body)
    except EntryKindError:
        record = None
    if isinstance(record, HashedRekord):
        lines.append(f"artifact:        {record.algorithm}:{record.digest.hex()}")
    elif isinstance(record, DsseRecord | IntotoRecord):
        lines.append(f"payload hash:    sha256:{record.payload_hash.hex()}")
        lines.append(f"envelope hash:   sha256:{record.envelope_hash.hex()}")
    lines.append(f"verified:        {verified.verification.summary()}")
    return "\n".join(lines)


def verdicts_json(result: EntryVerdicts) -> list[dict[str, Any]]:
    """``tlog verify -o json``: one object per entry, ``"ok"`` true or false (then with ``"error"``)."""
    return [_verdict_json(verdict, result.online) for verdict in result.verdicts]


def _verdict_json(verdict: EntryVerdict, online: bool) -> dict[str, Any]:
    entry, verification = verdict.entry, verdict.verification
    document: dict[str, Any] = {"ok": verification is not None, "uuid": entry.uuid, "logIndex": entry.log_index,
                                "logID": entry.entry.log_id, "integratedTime": entry.entry.integrated_time}
    if verification is None:
        document.update(error=" ".join(str(verdict.error).split()), online=online)
        return document
    checkpoint = verification.checkpoint
    document.update({
        "log": verification.log.base_url or None,  # None: the key was given without --rekor-url
        "keySource": verification.log.source,
        "signedEntryTimestamp": verification.timestamp_verified,
        "inclusion": None if checkpoint is None else {
            "origin": checkpoint.origin, "treeSize": checkpoint.size, "rootHash": checkpoint.root_hash.hex()},
        "keyValidityChecked": verification.time_checked,
        "online": online,
    })
    return document


def render_verdicts_text(result: EntryVerdicts) -> str:
    """``tlog verify``: a line per verified entry (those that failed are the error, on stderr)."""
    suffix = " [online]" if result.online else ""
    return "\n".join(f"verified entry {v.entry.log_index} ({v.entry.uuid}): {v.verification.summary()}{suffix}"
                     for v in result.verdicts if v.verification is not None)


def monitor_json(result: MonitorResult) -> dict[str, Any]:
    """``tlog monitor -o json``: the verdict and both tree sizes, whatever the outcome."""
    return {"status": str(result.status), "ok": result.ok, "detail": result.detail,
            "previousSize": None if result.previous is None else result.previous.size,
            "treeSize": result.current.size, "rootHash": result.current.root_hash}


def render_monitor_text(result: MonitorResult) -> str:
    """``tlog monitor``: one line when the log behaved; nothing when not (the error says it, on stderr)."""
    return f"{result.current.url}: {result.detail}" if result.ok else ""


def _when(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if seconds else "(not recorded)"


INFO: Renderer[LogInfo] = Renderer(text=render_info_text, json=info_json)
ENTRY: Renderer[VerifiedEntry] = Renderer(text=render_entry_text, json=entry_json)
VERDICTS: Renderer[EntryVerdicts] = Renderer(text=render_verdicts_text, json=verdicts_json)
MONITOR: Renderer[MonitorResult] = Renderer(text=render_monitor_text, json=monitor_json)
