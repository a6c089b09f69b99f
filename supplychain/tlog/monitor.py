"""Watch a transparency log for rollbacks and split views (``tlog monitor``; issue 4, item 6).

A monitor keeps the last checkpoint it verified in a state file. Each run fetches the log's current checkpoint
(``GET /api/v1/log``, signature verified with a trusted key) and compares it with the stored one:

* first run: store it;
* same size, same root: unchanged;
* larger: fetch a consistency proof from the stored size and verify it (RFC 9162 2.1.4.2); store the new one;
* smaller: **rollback** (the log forgot entries it had committed to);
* same size, another root, or a proof that fails: **split view** (the log shows different histories to different
  viewers, or rewrote its past).

The verdict is a value (``MonitorResult``); a bad verdict leaves the state file untouched so that the evidence (the
old signed checkpoint) survives. A state file of another log (another log ID, or another origin: a new shard) is
not a verdict about the log but a mistake in the invocation: ``OtherLogStateError`` (invalid input). The state is
written atomically (temporary file, fsync, rename, directory fsync); it records the log's URL without user info.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from supplychain.errors import ConfigurationError
from supplychain.files import FileTooLargeError, read_capped, write_atomic
from supplychain.formats.strictjson import NestingError, loads_untrusted
from supplychain.tlog.checkpoint import Checkpoint, verify_checkpoint
from supplychain.tlog.client import LogInfo, RekorClient
from supplychain.tlog.merkle import ConsistencyProofError
from supplychain.tlog.note import SignedNoteError
from supplychain.trust.error import UnknownLogError

STATE_VERSION = 1
MAX_STATE_BYTES = 1 << 20


class MonitorStateError(ConfigurationError):
    """A state file that cannot be read or written."""

    default_hint = "point --state at a file this monitor owns; delete it to start over (losing the history)"


class OtherLogStateError(MonitorStateError):
    """The state file records another log (or another shard of it) than the one asked."""

    default_hint = "pass the --state file of this log (each log needs its own), or a new path to start monitoring it"


class MonitorStatus(StrEnum):
    """The verdict of one monitoring run."""

    FIRST = "first"
    UNCHANGED = "unchanged"
    GREW = "grew"
    ROLLBACK = "rollback"
    SPLIT_VIEW = "split-view"


_GOOD = frozenset({MonitorStatus.FIRST, MonitorStatus.UNCHANGED, MonitorStatus.GREW})


@dataclass(frozen=True, slots=True)
class MonitorState:
    """The last verified checkpoint of a log, as the state file records it."""

    url: str
    log_id: str
    checkpoint: str  # the signed note, kept whole as evidence
    size: int
    root_hash: str
    checked_at: int

    def to_json(self) -> str:
        """The state file's content."""
        document = {
            "version": STATE_VERSION,
            "url": self.url,
            "logID": self.log_id,
            "treeSize": self.size,
            "rootHash": self.root_hash,
            "checkpoint": self.checkpoint,
            "checkedAt": self.checked_at,
        }
        return json.dumps(document, indent=2) + "\n"


@dataclass(frozen=True, slots=True)
class MonitorResult:
    """What one run found: the verdict, the stored and the fetched state, and an explanation."""

    status: MonitorStatus
    previous: MonitorState | None
    current: MonitorState
    detail: str

    @property
    def ok(self) -> bool:
        """Whether the log behaved (first sight, unchanged, or grew consistently)."""
        return self.status in _GOOD


def load_state(path: str | Path) -> MonitorState | None:
    """The stored state, or None if the file does not exist."""
    try:
        data = read_capped(path, MAX_STATE_BYTES)
    except FileNotFoundError:
        return None
    except FileTooLargeError as exc:
        raise MonitorStateError(f"{path} is not a monitor state file: too large") from exc
    except OSError as exc:
        raise MonitorStateError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        document = loads_untrusted(data)
        if document.get("version") != STATE_VERSION:
            raise ValueError(f"unknown version {document.get('version')!r}")
        return MonitorState(
            str(document["url"]),
            str(document["logID"]),
            str(document["checkpoint"]),
            int(document["treeSize"]),
            str(document["rootHash"]),
            int(document["checkedAt"]),
        )
    except NestingError as exc:
        raise MonitorStateError(f"{path} is not a monitor state file: arrays and objects nest too deeply") from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MonitorStateError(f"{path} is not a monitor state file: {exc}") from exc


def save_state(path: str | Path, state: MonitorState) -> None:
    """Replace the state file atomically and durably."""
    target = Path(path)
    try:
        write_atomic(target, state.to_json().encode(), follow_umask=True)
    except OSError as exc:
        raise MonitorStateError(f"cannot write {target}: {exc.strerror or exc}") from exc


def _state(client: RekorClient, info: LogInfo, now: int) -> MonitorState:
    return MonitorState(
        client.url, info.log.key.log_id_hex, info.signed_tree_head, info.checkpoint.size,
        info.checkpoint.root_hash.hex(), now,
    )


def check_log(
    client: RekorClient,
    previous: MonitorState | None,
    *,
    clock: Callable[[], float] = time.time,
    state_name: str = "the state file",
) -> MonitorResult:
    """Fetch the log's checkpoint and judge it against ``previous`` (see the module docstring).

    Raise ``OtherLogStateError`` when ``previous`` (read from ``state_name``) is another log's.
    """
    info = client.log_info()
    current = _state(client, info, int(clock()))
    new = info.checkpoint
    if previous is None:
        return MonitorResult(MonitorStatus.FIRST, None, current, f"first checkpoint: size {new.size}")
    if previous.log_id != current.log_id:
        raise OtherLogStateError(
            f"{state_name} is for log {previous.log_id}, not {current.log_id} (the log at {client.url})"
        )
    try:
        old = verify_checkpoint(previous.checkpoint, client.keyring.find(previous.log_id).note_verifier())
    except (SignedNoteError, UnknownLogError) as exc:
        raise MonitorStateError(f"the stored checkpoint does not verify with the log's key: {exc}") from exc
    if old.origin != new.origin:
        raise OtherLogStateError(
            f"{state_name} is for origin {old.origin!r}, not {new.origin!r} (a new shard of the log at {client.url}, "
            "or another log under the same key)"
        )
    return _compare(client, previous, current, old, new)


def _compare(
    client: RekorClient, previous: MonitorState, current: MonitorState, old: Checkpoint, new: Checkpoint
) -> MonitorResult:
    if new.size < old.size:
        return MonitorResult(
            MonitorStatus.ROLLBACK, previous, current,
            f"rollback: the log's tree shrank from {old.size} to {new.size} entries; it has dropped entries it "
            "had signed for",
        )
    if new.size == old.size:
        if new.root_hash == old.root_hash:
            return MonitorResult(MonitorStatus.UNCHANGED, previous, current, f"unchanged at size {new.size}")
        return MonitorResult(
            MonitorStatus.SPLIT_VIEW, previous, current,
            f"split view: two signed checkpoints for size {new.size} with different roots "
            f"({old.root_hash.hex()} and {new.root_hash.hex()})",
        )
    try:
        client.prove_consistency(old, new)
    except ConsistencyProofError as exc:
        return MonitorResult(
            MonitorStatus.SPLIT_VIEW, previous, current,
            f"split view: the tree of size {new.size} does not extend the one of size {old.size}: {exc}",
        )
    return MonitorResult(
        MonitorStatus.GREW, previous, current, f"grew from {old.size} to {new.size} entries, consistently"
    )


def monitor(client: RekorClient, state_path: str | Path, *, clock: Callable[[], float] = time.time) -> MonitorResult:
    """One monitoring run: load the state, check the log, store the new checkpoint if the log behaved."""
    result = check_log(client, load_state(state_path), clock=clock, state_name=f"the state file {state_path}")
    if result.ok:
        save_state(state_path, result.current)
    return result
