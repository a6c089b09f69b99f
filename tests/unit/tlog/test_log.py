"""The local log without HTTP: its directory, SQLite store, append path (group commit, duplicates, fail-stop),
the Merkle tree rebuilt from disk, and the proofs it hands out."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from supplychain.errors import ExitCode
from supplychain.tlog.checkpoint import verify_checkpoint
from supplychain.tlog.evidence import entry_uuid, split_uuid, verify_entry
from supplychain.tlog.kind import CanonicalEntry, canonicalize
from supplychain.tlog.merkle import hash_leaf, verify_consistency
from supplychain.tlog.server.directory import (
    LogDirectory,
    LogDirectoryError,
    LogDirectoryInUseError,
    init_log_directory,
    open_log_directory,
)
from supplychain.tlog.server.log import Appended, Duplicate, LocalLog, LogClosedError
from supplychain.tlog.server.storage import LogStorage, LogStorageError, NewEntry
from supplychain.trust.keyring import public_key_keyring
from tests.support.tlog import Signer


def proposal(signer: Signer, n: int) -> CanonicalEntry:
    return canonicalize(signer.hashedrekord(b"artifact %d" % n).proposed_entry())


@pytest.fixture
def directory(tmp_path: Path) -> LogDirectory:
    return init_log_directory(tmp_path / "log", tree_id=42)


@pytest.fixture
def log(directory: LogDirectory) -> Iterator[LocalLog]:
    with LocalLog(directory, clock=lambda: 1_700_000_000) as opened:
        yield opened


@contextlib.contextmanager
def batched_on_a_loop(log: LocalLog) -> Iterator[asyncio.AbstractEventLoop]:
    """The log joined to an event loop running on a thread, as ``tlog serve``'s server joins it: appends from any
    thread are handed to the loop, staged and answered there; only the transactions run on the committer thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        joined = threading.Event()
        loop.call_soon_threadsafe(lambda: (log.join_loop(loop), joined.set()))
        assert joined.wait(10)
        yield loop
        asyncio.run_coroutine_threadsafe(log.leave_loop(), loop).result(30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


@pytest.fixture(params=["committer thread", "server loop"])
def batching(request: pytest.FixtureRequest) -> Callable[[LocalLog], contextlib.AbstractContextManager[object]]:
    """Where a batch is staged and answered: on the committer thread, or on a server's loop (``join_loop``)."""
    if request.param == "server loop":
        return batched_on_a_loop
    return lambda log: contextlib.nullcontext()


Batching = Callable[[LocalLog], contextlib.AbstractContextManager[object]]


def appended(result: Appended | Duplicate) -> Appended:
    assert isinstance(result, Appended), result
    return result


# -- the directory ---------------------------------------------------------------------------------------------


def test_init_writes_a_private_key_and_config(tmp_path: Path) -> None:
    for key_type in ("ecdsa-p256", "ed25519"):
        created = init_log_directory(tmp_path / key_type, key_type=key_type, name="log.example.test")  # type: ignore[arg-type]
        assert stat.S_IMODE((created.path / "log.key").stat().st_mode) == 0o600
        assert stat.S_IMODE(created.path.stat().st_mode) == 0o700
        opened = open_log_directory(created.path)
        assert opened.config == created.config and opened.config.origin.startswith("log.example.test - ")
        assert opened.log_key() == created.log_key()
        assert not list(created.path.glob(".*tmp"))
    with pytest.raises(LogDirectoryError, match="already holds a log"):
        init_log_directory(tmp_path / "ed25519")


def test_open_refuses_bad_directories(tmp_path: Path) -> None:
    with pytest.raises(LogDirectoryError, match="not a log directory"):
        open_log_directory(tmp_path)
    with pytest.raises(LogDirectoryError, match="invalid log name"):
        init_log_directory(tmp_path / "x", name="has space")
    created = init_log_directory(tmp_path / "log")
    os.chmod(created.path / "log.key", 0o644)
    with pytest.raises(LogDirectoryError, match="readable by other users") as caught:
        open_log_directory(created.path)
    assert "chmod 600" in caught.value.hint
    os.chmod(created.path / "log.key", 0o600)
    (created.path / "config.json").write_text("{}")
    with pytest.raises(LogDirectoryError, match="cannot read"):
        open_log_directory(created.path)
    (created.path / "config.json").write_text("[" * 60_000)
    with pytest.raises(LogDirectoryError, match="nest too deeply"):
        open_log_directory(created.path)


def test_the_default_name_is_the_default_listen_host(tmp_path: Path) -> None:
    # sigstore-js accepts a checkpoint only if the trusted root's baseUrl contains the signer name, and the log's
    # default URL is http://127.0.0.1:<port>.
    created = init_log_directory(tmp_path / "log", tree_id=7)
    assert created.config.origin == "127.0.0.1 - 7" and created.signer().name == "127.0.0.1"


def test_init_where_nothing_can_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(LogDirectoryError, match="cannot create") as caught:
        init_log_directory(blocker / "log")
    assert "tlog init" not in caught.value.hint and "writable" in caught.value.hint


# -- appends and proofs ----------------------------------------------------------------------------------------


def test_appends_are_numbered_signed_and_provable(log: LocalLog, directory: LogDirectory) -> None:
    signer = Signer()
    keyring = public_key_keyring(directory.public_key_pem(), "http://127.0.0.1")
    entries = [appended(log.append(proposal(signer, n))).entry for n in range(7)]
    assert [entry.log_index for entry in entries] == list(range(7))
    assert all(entry.entry.integrated_time == 1_700_000_000 for entry in entries)
    for entry in entries:
        result = verify_entry(entry, keyring, require_timestamp=True, require_inclusion=True)
        assert result.checkpoint is not None and result.checkpoint.origin == "127.0.0.1 - 42"
        assert split_uuid(entry.uuid)[0] == 42
    head = log.tree_head()
    assert head.size == 7 and verify_checkpoint(head.note, directory.signer().verifier()).size == 7
    # read back: a proof against the current tree
    fetched = log.entry_by_index(2)
    assert fetched is not None and fetched.inclusion_proof is not None and fetched.inclusion_proof.tree_size == 7
    assert log.entry_by_uuid(entries[2].uuid) == fetched
    assert log.entry_by_uuid(entries[2].uuid[16:]) == fetched
    assert log.entry_by_uuid(f"{43:016x}" + entries[2].uuid[16:]) is None  # another tree
    assert log.entry_by_index(7) is None and log.entry_by_index(-1) is None
    for first in range(1, 8):
        hashes, root = log.consistency_proof(first, 7)
        verify_consistency(first, 7, hashes, log.consistency_proof(first, first)[1], root)


def test_duplicates(log: LocalLog) -> None:
    item = proposal(Signer(), 1)  # ECDSA signatures are randomised: the same proposal, not a new signature
    first = appended(log.append(item)).entry
    again = log.append(item)
    assert again == Duplicate(first.uuid)
    assert log.size == 1


def test_concurrent_appends_share_commits_and_lose_nothing(directory: LogDirectory, batching: Batching) -> None:
    commits: list[int] = []

    class CountingStorage(LogStorage):
        def append(self, entries: Sequence[NewEntry]) -> None:
            commits.append(len(entries))
            time.sleep(0.002)  # a slow disk: lets a queue build up
            super().append(entries)

    signer = Signer()
    proposals = [proposal(signer, n) for n in range(200)]
    results: list[Appended | Duplicate] = []
    lock = threading.Lock()
    with LocalLog(directory, storage=CountingStorage(directory.database_path)) as log, batching(log):

        def worker(chunk: list[CanonicalEntry]) -> None:
            for item in chunk:
                outcome = log.append(item)
                with lock:
                    results.append(outcome)

        # every proposal twice, from different threads: each is logged exactly once
        threads = [threading.Thread(target=worker, args=(proposals[i::4] + proposals[(i + 1) % 4::4],))
                   for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert log.size == 200
    created = [r.entry.log_index for r in results if isinstance(r, Appended)]
    assert sorted(created) == list(range(200))
    assert sum(isinstance(r, Duplicate) for r in results) == 200
    assert len(commits) < 200  # batches formed
    with LocalLog(directory) as reopened:
        assert reopened.size == 200



class GatedStorage(LogStorage):
    """Counts transactions (and their sizes); the first one waits until ``gate`` is set, so that a burst of
    appends queues up behind it (the disk made slow at a moment of the test's choosing, without sleeping)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.commits: list[int] = []
        self.gate = threading.Event()
        self.held = threading.Event()  # the first transaction has begun, and waits for the gate

    def append(self, entries: Sequence[NewEntry]) -> None:
        if not self.commits:
            self.held.set()
            assert self.gate.wait(30)
        self.commits.append(len(entries))
        super().append(entries)


class FailingStorage(GatedStorage):
    """A ``GatedStorage`` whose transactions fail (a full disk) while ``fail`` is set."""

    fail = False

    def append(self, entries: Sequence[NewEntry]) -> None:
        if self.fail:
            raise LogStorageError("disk full (TEST)")
        super().append(entries)


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline
        threading.Event().wait(0.005)


def test_a_burst_of_appends_is_one_transaction_behind_the_one_in_progress(
        directory: LogDirectory, batching: Batching) -> None:
    """Group commit, counted: while the first append's transaction is in progress, the others queue up; they are all
    committed by the next transaction, and each answer is durable, numbered consecutively and provable."""
    storage = GatedStorage(directory.database_path)
    signer = Signer()
    proposals = [proposal(signer, n) for n in range(32)]
    keyring = public_key_keyring(directory.public_key_pem(), "http://127.0.0.1")
    with LocalLog(directory, storage=storage) as log, batching(log):
        results: list[Appended | Duplicate] = []
        threads = [threading.Thread(target=lambda item=item: results.append(log.append(item))) for item in proposals]
        for thread in threads:
            thread.start()
        wait_until(lambda: log.in_flight == len(proposals))  # every append numbered, the first one's commit held
        storage.gate.set()
        for thread in threads:
            thread.join()
        # Two transactions: the held one (the first append, and any numbered before its leader took the queue,
        # which is a race of thread start-up) and one for all the rest, queued behind it.
        assert len(storage.commits) == 2 and sum(storage.commits) == 32 and log.commits == 2
        entries = [appended(result).entry for result in results]
        assert sorted(entry.log_index for entry in entries) == list(range(32))
        for entry in entries:
            verification = verify_entry(entry, keyring, require_timestamp=True, require_inclusion=True)
            assert verification.checkpoint is not None and verification.checkpoint.size > entry.log_index
    with LocalLog(directory) as reopened:  # all of it on disk
        assert reopened.size == 32
        for entry in entries:
            stored = reopened.entry_by_index(entry.log_index)
            assert stored is not None
            assert (stored.uuid, stored.entry, stored.signed_entry_timestamp) == (
                entry.uuid, entry.entry, entry.signed_entry_timestamp)


def test_on_a_loop_only_the_transaction_leaves_the_loops_thread(directory: LogDirectory) -> None:
    """Joined to a loop (as ``tlog serve`` joins it), an append submitted on the loop is staged, signed and answered
    on the loop's thread, and only its transaction runs on the committer thread; appends submitted from other
    threads are handed to the loop; after ``leave_loop`` the committer thread does it all again."""
    stored_on: list[int] = []

    class ThreadRecordingStorage(LogStorage):
        def append(self, entries: Sequence[NewEntry]) -> None:
            stored_on.append(threading.get_ident())
            super().append(entries)

    signer = Signer()
    answered_on: list[int] = []
    with LocalLog(directory, storage=ThreadRecordingStorage(directory.database_path)) as log:
        with batched_on_a_loop(log) as loop:
            loop_thread = asyncio.run_coroutine_threadsafe(_thread_id(), loop).result(10)

            async def on_the_loop() -> list[Appended | Duplicate]:
                futures = [log.submit(proposal(signer, n)) for n in range(20)]
                for future in futures:
                    future.add_done_callback(lambda _: answered_on.append(threading.get_ident()))
                return [await asyncio.wrap_future(future) for future in futures]

            results = asyncio.run_coroutine_threadsafe(on_the_loop(), loop).result(30)
            from_a_thread = log.append(proposal(signer, 20))  # handed over to the loop
            assert appended(from_a_thread).entry.log_index == 20
        assert set(answered_on) == {loop_thread}
        assert sorted(appended(r).entry.log_index for r in results) == list(range(20))
        assert loop_thread not in stored_on and len(set(stored_on)) == 1
        assert log.commits < 20  # the 20 submitted at once shared transactions
        after = log.append(proposal(signer, 21))  # left: the committer thread stages and answers it
        assert appended(after).entry.log_index == 21 and log.in_flight == 0
    with LocalLog(directory) as reopened:
        assert reopened.size == 22


async def _thread_id() -> int:
    return threading.get_ident()


def test_appends_waiting_on_a_loop_that_leaves_go_to_the_committer_thread(directory: LogDirectory) -> None:
    """``leave_loop`` while appends wait on the loop for their batch: none is lost or left waiting."""
    storage = GatedStorage(directory.database_path)
    signer = Signer()
    with LocalLog(directory, storage=storage) as log:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        try:
            loop.call_soon_threadsafe(log.join_loop, loop)
            futures = [log.submit(proposal(signer, 0))]  # from this thread: handed to the loop
            assert storage.held.wait(30)  # its transaction is in progress ...
            futures += [log.submit(proposal(signer, n)) for n in range(1, 10)]  # ... so these wait on the loop
            wait_until(lambda: log.in_flight == 10)
            leaving = asyncio.run_coroutine_threadsafe(log.leave_loop(), loop)
            storage.gate.set()
            leaving.result(30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(30)
            loop.close()
        assert sorted(appended(future.result(30)).entry.log_index for future in futures) == list(range(10))
        assert log.in_flight == 0 and log.size == 10 and storage.commits[0] == 1


def test_an_entry_committed_but_not_yet_in_the_tree_is_absent_at_once(directory: LogDirectory,
                                                                       batching: Batching) -> None:
    """Between its batch's COMMIT and its publishing, an entry is in the database but in no checkpoint: a lookup
    by UUID answers "absent" at once, as the published view says (its submitter has no answer yet either). It
    waited for the tree before, which on a server's loop blocked the loop that publishes: 10 s of a frozen
    server, then a 503."""
    published = threading.Event()

    class CommittedThenHeld(GatedStorage):
        def append(self, entries: Sequence[NewEntry]) -> None:
            LogStorage.append(self, entries)  # committed ...
            self.held.set()
            assert self.gate.wait(30)  # ... and not yet published

    storage = CommittedThenHeld(directory.database_path)
    signer = Signer()
    entry = proposal(signer, 0)
    with LocalLog(directory, storage=storage) as log, batching(log):
        uuid = entry_uuid(entry.body, log.tree_id)
        future = log.submit(entry)
        future.add_done_callback(lambda _: published.set())
        assert storage.held.wait(30)
        assert storage.index_of(hash_leaf(entry.body)) == 0  # the row is there
        started = time.monotonic()
        assert log.entry_by_uuid(uuid) is None and log.entry_by_index(0) is None
        assert time.monotonic() - started < 5
        storage.gate.set()
        assert published.wait(30)
        found = log.entry_by_uuid(uuid)
        assert found is not None and found.entry.log_index == 0


def test_concurrent_duplicates_wait_for_the_first_commit(directory: LogDirectory, batching: Batching) -> None:
    """The same entry proposed again while its first append is being committed is a duplicate, answered only once
    that first append is durable: a 409 never names an entry that a crash could still lose."""
    storage = GatedStorage(directory.database_path)
    item = proposal(Signer(), 0)
    with LocalLog(directory, storage=storage) as log, batching(log):
        first: list[Appended | Duplicate] = []
        again: list[Appended | Duplicate] = []
        one = threading.Thread(target=lambda: first.append(log.append(item)))
        one.start()
        wait_until(lambda: log.in_flight == 1)
        two = threading.Thread(target=lambda: again.append(log.append(item)))
        two.start()
        two.join(0.05)
        assert two.is_alive() and not again  # waiting for the first commit
        storage.gate.set()
        one.join()
        two.join()
        assert again == [Duplicate(appended(first[0]).entry.uuid)]
        assert storage.commits == [1] and log.size == 1


def test_threads_get_distinct_consecutive_indexes_and_valid_proofs(directory: LogDirectory, batching: Batching) -> None:
    signer = Signer()
    keyring = public_key_keyring(directory.public_key_pem(), "http://127.0.0.1")
    proposals = [proposal(signer, n) for n in range(160)]
    results: list[Appended | Duplicate] = []
    with LocalLog(directory) as log, batching(log):
        start = threading.Barrier(16)

        def worker(chunk: list[CanonicalEntry]) -> None:
            start.wait()
            for item in chunk:
                results.append(log.append(item))

        threads = [threading.Thread(target=worker, args=(proposals[i::16],)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        entries = [appended(result).entry for result in results]
        assert sorted(entry.log_index for entry in entries) == list(range(160))
        assert len({entry.uuid for entry in entries}) == 160
        for entry in entries:
            verify_entry(entry, keyring, require_timestamp=True, require_inclusion=True)
        assert log.commits <= 160 and log.in_flight == 0


def test_reopening_rebuilds_the_same_tree(directory: LogDirectory) -> None:
    signer = Signer()
    with LocalLog(directory) as log:
        for n in range(10):
            log.append(proposal(signer, n))
        before = log.tree_head()
    with LocalLog(directory) as log:
        after = log.tree_head()
        assert (after.size, after.root_hash) == (before.size, before.root_hash)
        assert appended(log.append(proposal(signer, 10))).entry.log_index == 10
        hashes, root = log.consistency_proof(before.size, 11)
        verify_consistency(before.size, 11, hashes, before.root_hash, root)


def test_storage_failure_stops_appends(directory: LogDirectory, batching: Batching) -> None:
    storage = FailingStorage(directory.database_path)
    storage.gate.set()
    signer = Signer()
    with LocalLog(directory, storage=storage) as log, batching(log):
        log.append(proposal(signer, 0))
        storage.fail = True
        with pytest.raises(LogStorageError, match="disk full"):
            log.append(proposal(signer, 1))
        storage.fail = False
        with pytest.raises(LogClosedError, match="not taking appends"):
            log.append(proposal(signer, 2))
        assert log.size == 1 and log.entry_by_index(0) is not None  # reads still work
    with LocalLog(directory) as log:  # a restart recovers
        assert appended(log.append(proposal(signer, 1))).entry.log_index == 1


def test_a_duplicate_in_a_batch_that_failed_to_store_is_not_called_known(
        directory: LogDirectory, batching: Batching) -> None:
    """Whether a batch that failed to store reached the disk is unknown: the entry is refused with the storage's
    error, and its duplicate in the same batch is told the log stopped (503), never that the entry is known."""
    storage = FailingStorage(directory.database_path)
    signer = Signer()
    with LocalLog(directory, storage=storage) as log, batching(log):
        first = log.submit(proposal(signer, 0))
        assert storage.held.wait(30)  # the first transaction is in progress: the next two form one batch
        storage.fail = True
        item = proposal(signer, 1)
        entry, again = log.submit(item), log.submit(item)
        wait_until(lambda: log.in_flight == 3)
        storage.gate.set()
        assert appended(first.result(30)).entry.log_index == 0
        with pytest.raises(LogStorageError, match="disk full"):
            entry.result(30)
        with pytest.raises(LogClosedError, match="after a storage failure"):
            again.result(30)


def test_closed_log_refuses_appends(directory: LogDirectory) -> None:
    log = LocalLog(directory).start()
    log.close()
    with pytest.raises(LogClosedError):
        log.append(proposal(Signer(), 0))


def test_the_duplicate_check_of_a_big_batch_is_chunked(directory: LogDirectory) -> None:
    """One query per batch, in chunks under SQLite's limit on query parameters: a batch of 1,200 finds every one
    of its stored entries."""
    storage = LogStorage(directory.database_path)
    try:
        rows = [NewEntry(n, hashlib.sha256(b"%d" % n).digest(), b"{}", 0, b"set", "hashedrekord", "0.0.1", ())
                for n in range(1200)]
        storage.append(rows[::2])  # every other one stored (indexes need not be consecutive for this query)
        asked = [row.leaf_hash for row in rows]
        assert storage.indexes_of(asked) == {row.leaf_hash: row.log_index for row in rows[::2]}
        assert storage.indexes_of([]) == {}
    finally:
        storage.close()


def test_search(log: LocalLog) -> None:
    alice, bob = Signer(), Signer()
    a = appended(log.append(canonicalize(alice.hashedrekord(b"shared").proposed_entry()))).entry
    b = appended(log.append(canonicalize(bob.hashedrekord(b"shared").proposed_entry()))).entry
    digest = "sha256:" + hashlib.sha256(b"shared").hexdigest()
    from supplychain.tlog.kind import public_key_index

    assert log.search([digest], match_all=False, limit=10) == [a.uuid, b.uuid]
    assert log.search([digest, public_key_index(bob.pem)], match_all=True, limit=10) == [b.uuid]
    assert log.search(["sha256:" + "00" * 32], match_all=False, limit=10) == []


def test_gaps_in_the_store_are_detected(directory: LogDirectory) -> None:
    signer = Signer()
    with LocalLog(directory) as log:
        for n in range(3):
            log.append(proposal(signer, n))
    with sqlite3.connect(directory.database_path) as connection:
        connection.execute("DELETE FROM entries WHERE log_index = 1")
    with pytest.raises(LogStorageError, match="entry 1 is missing"):
        LocalLog(directory)


def test_one_open_log_per_directory(directory: LogDirectory) -> None:
    with LocalLog(directory):
        with pytest.raises(LogDirectoryInUseError) as caught:
            LocalLog(directory)
        assert str(caught.value) == f"the log in {directory.path} is already being served by process {os.getpid()}"
        assert caught.value.exit_code == ExitCode.UNAVAILABLE
    with LocalLog(directory) as log:  # closed: free again
        assert log.size == 0


def test_a_log_that_fails_to_open_releases_its_directory(directory: LogDirectory) -> None:
    signer = Signer()
    with LocalLog(directory) as log:
        for n in range(2):
            log.append(proposal(signer, n))
    with sqlite3.connect(directory.database_path) as connection:
        connection.execute("DELETE FROM entries WHERE log_index = 0")
    with pytest.raises(LogStorageError):
        LocalLog(directory)
    with sqlite3.connect(directory.database_path) as connection:
        connection.execute("DELETE FROM entries")
    with LocalLog(directory) as log:
        assert log.size == 0


def test_rebuilding_100k_entries_is_fast(directory: LogDirectory) -> None:
    storage = LogStorage(directory.database_path)
    batch = 10_000
    for start in range(0, 100_000, batch):
        storage.append([
            NewEntry(i, hashlib.sha256(i.to_bytes(8, "big")).digest(), b"{}", 0, b"TEST", "hashedrekord", "0.0.1", ())
            for i in range(start, start + batch)
        ])
    storage.close()
    started = time.perf_counter()
    log = LocalLog(directory)
    elapsed = time.perf_counter() - started
    assert log.size == 100_000
    log.close()
    assert elapsed < 5.0, f"rebuilding 100k entries took {elapsed:.2f}s"
