"""The monitor against in-process logs: growth, rollback, split view, another log, and its state file."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from supplychain.errors import ExitCode
from supplychain.tlog.checkpoint import sign_checkpoint
from supplychain.tlog.client import RekorClient
from supplychain.tlog.merkle import MerkleTree
from supplychain.tlog.monitor import (
    MonitorState,
    MonitorStateError,
    MonitorStatus,
    OtherLogStateError,
    check_log,
    load_state,
    monitor,
    save_state,
)
from tests.support.tlog import InProcessLog, Signer


def grow(rekor: InProcessLog, count: int, label: str = "m") -> None:
    signer = Signer()
    with rekor.client() as client:
        for n in range(count):
            client.create_hashedrekord(signer.hashedrekord(f"{label} {n}".encode()))


def forged_state(rekor: InProcessLog, previous: MonitorState, leaves: list[bytes]) -> MonitorState:
    """A checkpoint validly signed by the log's key for another tree: what a log showing a split view hands out."""
    tree = MerkleTree.from_entries(leaves)
    note = sign_checkpoint(rekor.log.origin, tree.size, tree.root(), rekor.directory.signer())
    return MonitorState(previous.url, previous.log_id, note, tree.size, tree.root().hex(), previous.checked_at)


def test_first_unchanged_grew(rekor: InProcessLog, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    grow(rekor, 2)
    with rekor.client() as client:
        first = monitor(client, state, clock=lambda: 1000)
        assert (first.status, first.ok) == (MonitorStatus.FIRST, True)
        assert json.loads(state.read_text())["treeSize"] == 2
        assert monitor(client, state).status is MonitorStatus.UNCHANGED
        grow(rekor, 3, "more")
        grew = monitor(client, state)
        assert grew.status is MonitorStatus.GREW and "from 2 to 5" in grew.detail
        loaded = load_state(state)
        assert loaded is not None and loaded.size == 5


def test_empty_log_then_growth(rekor: InProcessLog, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with rekor.client() as client:
        assert monitor(client, state).status is MonitorStatus.FIRST
        grow(rekor, 1)
        assert monitor(client, state).status is MonitorStatus.GREW


def test_rollback(rekor: InProcessLog, tmp_path: Path) -> None:
    grow(rekor, 3)
    state = tmp_path / "state.json"
    with rekor.client() as client:
        first = monitor(client, state).current
        seen_bigger = forged_state(rekor, first, [b"x"] * 10)  # the log once showed us 10 entries
        save_state(state, seen_bigger)
        result = monitor(client, state)
    assert result.status is MonitorStatus.ROLLBACK and not result.ok
    assert "shrank from 10 to 3" in result.detail
    assert load_state(state) == seen_bigger  # the evidence is kept


def test_split_view_same_size(rekor: InProcessLog, tmp_path: Path) -> None:
    grow(rekor, 3)
    state = tmp_path / "state.json"
    with rekor.client() as client:
        first = monitor(client, state).current
        save_state(state, forged_state(rekor, first, [b"a", b"b", b"c"]))
        result = monitor(client, state)
    assert result.status is MonitorStatus.SPLIT_VIEW and "different roots" in result.detail


def test_split_view_fork(rekor: InProcessLog, tmp_path: Path) -> None:
    """A smaller checkpoint of another history: the consistency proof to the log's tree fails."""
    grow(rekor, 5)
    state = tmp_path / "state.json"
    with rekor.client() as client:
        first = monitor(client, state).current
        save_state(state, forged_state(rekor, first, [b"other", b"history"]))
        result = monitor(client, state)
    assert result.status is MonitorStatus.SPLIT_VIEW and "does not extend" in result.detail


def test_another_log(rekor: InProcessLog, tmp_path: Path) -> None:
    other = InProcessLog(tmp_path / "other")
    try:
        grow(rekor, 1)
        grow(other, 1)
        state = tmp_path / "state.json"
        with rekor.client() as client:
            monitor(client, state)
        before = state.read_bytes()
        with (
            other.client(keyring=other.keyring.merged(rekor.keyring)) as client,
            pytest.raises(OtherLogStateError) as caught,  # a mistake in the invocation, not a verdict
        ):
            monitor(client, state)
        assert caught.value.exit_code == ExitCode.INVALID_INPUT
        assert str(caught.value) == (f"the state file {state} is for log {rekor.directory.log_key().log_id_hex}, "
                                     f"not {other.directory.log_key().log_id_hex} (the log at {other.url})")
        assert state.read_bytes() == before
    finally:
        other.close()


def test_another_origin_under_the_same_key(rekor: InProcessLog, tmp_path: Path) -> None:
    grow(rekor, 1)
    state = tmp_path / "state.json"
    with rekor.client() as client:
        current = monitor(client, state).current
        shard = sign_checkpoint("localhost - 7", 1, bytes(32), rekor.directory.signer())
        save_state(state, MonitorState(current.url, current.log_id, shard, 1, bytes(32).hex(), 0))
        with pytest.raises(OtherLogStateError, match="is for origin 'localhost - 7', not"):
            monitor(client, state)


def test_the_state_file_stores_the_url_without_credentials(rekor: InProcessLog, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with RekorClient(rekor.url.replace("http://", "http://alice:s3cret@"), rekor.keyring,
                     client=httpx.Client(timeout=10)) as client:
        monitor(client, state)
    assert "s3cret" not in state.read_text() and json.loads(state.read_text())["url"] == rekor.url


def test_a_deeply_nested_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("[" * 60_000)
    with pytest.raises(MonitorStateError, match="nest too deeply"):
        load_state(state)


def test_state_files(tmp_path: Path, rekor: InProcessLog) -> None:
    state = tmp_path / "state.json"
    assert load_state(state) is None
    for junk in ("{", "[]", '{"version": 9}', '{"version": 1}'):
        state.write_text(junk)
        with pytest.raises(MonitorStateError):
            load_state(state)
    grow(rekor, 1)
    with rekor.client() as client:
        current = check_log(client, None).current
    save_state(state, current)
    assert load_state(state) == current
    assert not list(tmp_path.glob(".state.json.*"))
    with pytest.raises(MonitorStateError, match="cannot write"):
        save_state(tmp_path / "missing" / "state.json", current)


def test_stored_checkpoint_must_verify(rekor: InProcessLog, tmp_path: Path) -> None:
    grow(rekor, 1)
    state = tmp_path / "state.json"
    with rekor.client() as client:
        current = monitor(client, state).current
        tampered = current.checkpoint.replace("\n1\n", "\n2\n")
        save_state(state, MonitorState(current.url, current.log_id, tampered, 2, current.root_hash, 0))
        with pytest.raises(MonitorStateError, match="does not verify"):
            monitor(client, state)


def test_log_down_leaves_the_state_alone(rekor: InProcessLog, tmp_path: Path) -> None:
    from supplychain.tlog.client import RekorServerError

    grow(rekor, 1)
    state = tmp_path / "state.json"
    with rekor.client() as client:
        monitor(client, state)
    before = state.read_bytes()
    with (
        rekor.faulty_client(lambda request, response: httpx.Response(503)) as client,
        pytest.raises(RekorServerError),
    ):
        monitor(client, state)
    assert state.read_bytes() == before
