"""``LocalLog``: the local transparency log's append path, tree and proofs.

Appends are group-committed, leader/follower style: each appending thread queues its proposal, and whichever
thread gets the commit lock becomes the committer for everything queued (up to ``max_batch`` per transaction) while
the others wait for their answer. A lone client thus commits inline, without a thread switch, and concurrent clients
share transactions (and fsyncs). The committer drops duplicates, numbers the rest from the tree size, signs each
entry's SET over ``{body, integratedTime, logID, logIndex}``, stores the batch in one SQLite transaction and, only
once it has committed, adds the leaves to the in-memory Merkle tree, signs one checkpoint for the new size and
answers every caller of the batch. So:

* an acknowledged entry is durable (the commit synced the WAL before the answer);
* every checkpoint handed out (``GET /api/v1/log``, inclusion proofs) is for a committed prefix of the log, and the
  log never renumbers: after a crash the tree rebuilt from the database extends every checkpoint given out before,
  so the restarted log can prove consistency with each (RFC 9162 2.1.4);
* a failed commit stops appends (fail-stop) until a restart rebuilds the tree from what is really on disk.

The Merkle tree (``MerkleTree``) is rebuilt from the stored leaf hashes when the log opens. An open log holds the
directory's lock (``directory.lock_log_directory``): a second ``LocalLog`` on the same directory, in this process or
another, is refused until the first is closed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from supplychain.errors import UnavailableError
from supplychain.formats.rekor import LogEntry
from supplychain.tlog.checkpoint import sign_checkpoint
from supplychain.tlog.entry import InclusionProof, sign_entry_timestamp
from supplychain.tlog.evidence import RekorEntry, entry_uuid, split_uuid
from supplychain.tlog.kind import CanonicalEntry
from supplychain.tlog.merkle import MerkleTree, hash_leaf
from supplychain.tlog.server.directory import LogDirectory, lock_log_directory
from supplychain.tlog.server.storage import CorruptEntryError, LogStorage, LogStorageError, NewEntry, StoredEntry

logger = logging.getLogger("supplychain.tlog.server")

MAX_BATCH = 512


class LogClosedError(UnavailableError):
    """The log is stopping, or stopped taking appends after a storage failure."""

    default_hint = "restart `supplychain tlog serve`; acknowledged entries are safe on disk"


@dataclass(frozen=True, slots=True)
class Appended:
    """A new entry, durable, with its SET and an inclusion proof against the checkpoint of its batch."""

    entry: RekorEntry


@dataclass(frozen=True, slots=True)
class Duplicate:
    """The entry was already in the log under ``uuid``."""

    uuid: str


AppendResult = Appended | Duplicate


@dataclass(slots=True)
class _Pending:
    entry: CanonicalEntry
    done: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event = field(default_factory=threading.Event)  # set when done, or when asked to lead
    result: AppendResult | None = None
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class SignedTreeHead:
    """The signed checkpoint for one tree size."""

    size: int
    root_hash: bytes
    note: str


class LocalLog:
    """A Rekor v1-compatible log over a ``LogDirectory``; ``close`` it at the end (or use it as a context manager)."""

    def __init__(
        self,
        directory: LogDirectory,
        *,
        clock: Callable[[], float] = time.time,
        max_batch: int = MAX_BATCH,
        storage: LogStorage | None = None,
    ) -> None:
        """Lock the log's directory, open its store (or use ``storage``) and rebuild the Merkle tree from it."""
        self._lock = lock_log_directory(directory.path)
        try:
            self._open(directory, clock, max_batch, storage)
        except BaseException:  # broad: on any failure, an interrupt included, the directory is unlocked again
            self._lock.release()
            raise

    def _open(
        self, directory: LogDirectory, clock: Callable[[], float], max_batch: int, storage: LogStorage | None
    ) -> None:
        self.directory = directory
        self.key = directory.log_key()
        self.tree_id = directory.config.tree_id
        self.origin = directory.config.origin
        self._signer = directory.signer()
        self._key = directory.private_key
        self._clock = clock
        self._max_batch = max_batch
        self._storage = storage or LogStorage(directory.database_path)
        started = time.perf_counter()
        try:
            self._tree = MerkleTree(self._storage.leaf_hashes())
        except BaseException:  # broad: what we opened is closed on any failure; a given storage is the caller's
            if storage is None:
                self._storage.close()
            raise
        logger.info("opened %s: %d entries, tree rebuilt in %.2fs", self.origin, self._tree.size,
                    time.perf_counter() - started)
        self._changed = threading.Condition()
        self._queue: deque[_Pending] = deque()  # append and popleft are atomic
        self._commit_lock = threading.Lock()
        self._failed: BaseException | None = None
        self._closing = False
        self._head: SignedTreeHead | None = None

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def start(self) -> LocalLog:
        """Return the log, ready for appends (no background thread to start: see the module docstring)."""
        return self

    def close(self) -> None:
        """Refuse new appends, commit what is queued, close the database and release the directory's lock."""
        self._closing = True
        try:
            with self._commit_lock:
                self._drain()
            self._storage.close()
        finally:
            self._lock.release()

    def __enter__(self) -> LocalLog:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def size(self) -> int:
        """The number of committed entries."""
        with self._changed:
            return self._tree.size

    # -- appends -------------------------------------------------------------------------------------------------

    def append(self, entry: CanonicalEntry, *, timeout: float = 60.0) -> AppendResult:
        """Add a validated entry; return once it is durable (``Appended``) or known (``Duplicate``)."""
        if self._closing or self._failed is not None:
            raise LogClosedError("the log is not taking appends" + (f": {self._failed}" if self._failed else ""))
        existing = self._storage.index_of(hash_leaf(entry.body))
        if existing is not None:
            return Duplicate(entry_uuid(entry.body, self.tree_id))
        pending = _Pending(entry)
        self._queue.append(pending)
        deadline = time.monotonic() + timeout
        while not pending.done.is_set():
            pending.wake.clear()
            self._lead(pending)
            if pending.done.is_set():
                break
            if not pending.wake.wait(max(0.0, deadline - time.monotonic())):
                raise LogClosedError(f"the entry was not committed within {timeout:.0f}s")
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    def _lead(self, own: _Pending) -> None:
        """Commit the queue, oldest first, until ``own`` is done, if no other thread is doing so; then hand over.

        A thread that finds the lock taken waits to be woken. The leader stops once its own proposal is committed
        (so no client waits on others' traffic for long) and wakes the owner of the oldest queued proposal, if any:
        a proposal queued while the lock was held is in the queue when the leader looks after releasing it, so
        none is stranded.
        """
        if not self._commit_lock.acquire(blocking=False):
            return
        try:
            while not own.done.is_set() and self._queue:
                self._commit(self._take_batch())
        finally:
            self._commit_lock.release()
        with contextlib.suppress(IndexError):  # nothing left to hand over
            self._queue[0].wake.set()

    def _take_batch(self) -> list[_Pending]:
        batch: list[_Pending] = []
        while len(batch) < self._max_batch:
            try:
                batch.append(self._queue.popleft())
            except IndexError:
                break
        return batch

    def _drain(self) -> None:
        while self._queue:
            self._commit(self._take_batch())

    def _commit(self, batch: list[_Pending]) -> None:
        if self._failed is not None:
            self._finish(batch, LogClosedError(f"the log stopped taking appends: {self._failed}"))
            return
        now = int(self._clock())
        next_index = self._tree.size  # only this thread grows the tree
        fresh: dict[bytes, int] = {}
        rows: list[NewEntry] = []
        for pending in batch:
            leaf = hash_leaf(pending.entry.body)
            if leaf in fresh or self._storage.writer_index_of(leaf) is not None:
                pending.result = Duplicate(entry_uuid(pending.entry.body, self.tree_id))
                continue
            index = next_index + len(rows)
            fresh[leaf] = index
            signed = sign_entry_timestamp(LogEntry(pending.entry.body, now, index, self.key.log_id_hex), self._key)
            rows.append(
                NewEntry(index, leaf, pending.entry.body, now, signed, pending.entry.kind, pending.entry.api_version,
                         pending.entry.index_keys)
            )
        try:
            self._storage.append(rows)
        except LogStorageError as exc:
            # Fail-stop: whether the batch reached the disk is unknown; a restart rebuilds the tree from the disk.
            logger.error("storage failure, no longer taking appends: %s", exc)
            self._failed = exc
            self._finish(batch, exc)
            return
        with self._changed:
            for row in rows:
                self._tree.append_hash(row.leaf_hash)
            self._changed.notify_all()
        head = self.tree_head()
        for pending, row in zip((p for p in batch if p.result is None), rows, strict=True):
            pending.result = Appended(self._rekor_entry(_stored(row), head))
        self._finish(batch, None)

    @staticmethod
    def _finish(batch: list[_Pending], error: BaseException | None) -> None:
        for pending in batch:
            if pending.result is None:
                pending.error = error or LogClosedError("the entry was not committed")
            pending.done.set()
            pending.wake.set()

    # -- reads ---------------------------------------------------------------------------------------------------

    def tree_head(self) -> SignedTreeHead:
        """The signed checkpoint of the current tree (signed once per size, then cached)."""
        with self._changed:
            size = self._tree.size
            head = self._head
            if head is not None and head.size == size:
                return head
            root = self._tree.root(size)
        note = sign_checkpoint(self.origin, size, root, self._signer)
        head = SignedTreeHead(size, root, note)
        with self._changed:
            if self._head is None or self._head.size < size:
                self._head = head
        return head

    def entry_by_index(self, index: int) -> RekorEntry | None:
        """The entry at ``index`` with its SET and a proof against the current checkpoint; None if absent."""
        if not 0 <= index < self.size:
            return None
        stored = self._checked_entry(index)
        if stored is None:
            raise LogStorageError(f"entry {index} is in the tree but not in the database")
        return self._rekor_entry(stored, self.tree_head())

    def entry_by_uuid(self, uuid: str) -> RekorEntry | None:
        """The entry with this UUID (leaf hash, with or without this log's tree ID); None if absent."""
        tree_id, leaf = split_uuid(uuid)
        if tree_id is not None and tree_id != self.tree_id:
            return None
        index = self._storage.index_of(leaf)
        if index is None:
            return None
        self._wait_for_size(index + 1)
        return self.entry_by_index(index)

    def search(self, keys: list[str], *, match_all: bool, limit: int) -> list[str]:
        """UUIDs of entries filed under any (or every) key, ascending by index."""
        found: set[int] | None = None
        for key in keys:
            indexes = set(self._storage.search(key, limit))
            found = indexes if found is None else (found & indexes if match_all else found | indexes)
        size = self.size
        result = []
        for index in sorted(found or ())[:limit]:
            stored = self._checked_entry(index) if index < size else None
            if stored is not None:
                result.append(entry_uuid(stored.body, self.tree_id))
        return result

    def consistency_proof(self, first: int, last: int) -> tuple[list[bytes], bytes]:
        """PROOF(first, D[last]) and the root of ``last`` (RFC 9162 2.1.4.1); ``TreeRangeError`` if out of range."""
        with self._changed:
            return self._tree.consistency_proof(first, last), self._tree.root(last)

    def _checked_entry(self, index: int) -> StoredEntry | None:
        """The stored entry at ``index`` (a committed one), refused if its row no longer matches the tree: its body
        must hash to its leaf hash (``LogStorage.entry``), and that hash must be the tree's leaf."""
        stored = self._storage.entry(index)
        if stored is None:
            return None
        with self._changed:
            leaf = self._tree.leaf_hash(index)
        if leaf != stored.leaf_hash:
            raise CorruptEntryError(
                f"{self._storage.path}: entry {index} is corrupted: its leaf hash {stored.leaf_hash.hex()} is not the "
                f"tree's {leaf.hex()}"
            )
        return stored

    def _wait_for_size(self, size: int, timeout: float = 10.0) -> None:
        # The database commit precedes the tree append by a moment: a reader that found the row waits for it.
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._tree.size < size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LogStorageError(f"entry {size - 1} is committed but did not reach the tree")
                self._changed.wait(remaining)

    def _rekor_entry(self, stored: StoredEntry, head: SignedTreeHead) -> RekorEntry:
        with self._changed:
            hashes = tuple(self._tree.inclusion_proof(stored.log_index, head.size))
        proof = InclusionProof(stored.log_index, head.size, head.root_hash, hashes, head.note)
        entry = LogEntry(stored.body, stored.integrated_time, stored.log_index, self.key.log_id_hex)
        return RekorEntry(
            entry_uuid(stored.body, self.tree_id),
            entry,
            stored.signed_entry_timestamp,
            proof,
            stored.kind,
            stored.api_version,
        )


def _stored(row: NewEntry) -> StoredEntry:
    return StoredEntry(row.log_index, row.leaf_hash, row.body, row.integrated_time, row.signed_entry_timestamp,
                       row.kind, row.api_version)
