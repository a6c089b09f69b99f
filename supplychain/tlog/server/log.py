"""``LocalLog``: the local transparency log's append path, tree and proofs.

Appends are group-committed (issue 10, item 5) by one committer thread, so that the threads serving requests
never contend for the log's locks:

1. **The caller** (the server's loop, ``tlog.server.http``) has validated the proposal (``kind.canonicalize``);
   ``submit`` queues it (``queue.SimpleQueue``) and returns a future the committer completes (``append`` waits
   on it; the server hands it to ``httpserver`` as a ``Deferred`` and serves other clients meanwhile).
2. **The committer** takes everything queued (up to ``max_batch``), and for the batch: the duplicate checks (an
   entry committed before, or the same entry twice in the batch), the indexes and ``integratedTime``, each SET
   (the signature over ``{body, integratedTime, logID, logIndex}``), then one SQLite transaction for all of it.
   While that transaction syncs (the GIL released), the request threads validate and queue the next batch.
3. After the commit, still in the committer: the leaves join the in-memory Merkle tree, the checkpoint of the new
   size is signed (once per batch), each new entry's inclusion proof is made against it, and each waiting thread
   is handed its answer.

So:

* an acknowledged entry is durable, SET included: the answer is handed over only after the commit of its batch
  synced the WAL (``synchronous=FULL``), and the SET is in the row that commit wrote; its inclusion proof can be
  rebuilt from the stored leaves at any time;
* every checkpoint handed out (``GET /api/v1/log``, inclusion proofs) is for a committed prefix of the log: the tree
  grows only after a commit. The log never renumbers: after a crash the tree rebuilt from the database extends
  every checkpoint given out before, so the restarted log can prove consistency with each (RFC 9162 2.1.4);
* a duplicate is answered only once the entry it duplicates is durable (one committer: an earlier batch is
  committed before the next is read);
* a failed commit, or a SET or checkpoint that could not be made, stops appends (fail-stop) until a restart
  rebuilds the tree from what is really on disk; the entries queued behind it are refused, never acknowledged.

The Merkle tree (``MerkleTree``) is rebuilt from the stored leaf hashes when the log opens. An open log holds the
directory's lock (``directory.lock_log_directory``): a second ``LocalLog`` on the same directory, in this process or
another, is refused until the first is closed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass

from supplychain.errors import UnavailableError
from supplychain.formats.rekor import LogEntry
from supplychain.tlog.checkpoint import sign_checkpoint
from supplychain.tlog.entry import EntryTimestampSigner, InclusionProof
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


class _Pending:
    """One append on its way: queued by ``submit``, answered by the committer through ``future``."""

    __slots__ = ("entry", "future", "leaf")

    def __init__(self, entry: CanonicalEntry, leaf: bytes) -> None:
        self.entry = entry
        self.leaf = leaf
        self.future: Future[AppendResult] = Future()

    @property
    def answered(self) -> bool:
        return self.future.done()

    def answer(self, result: AppendResult | None, error: BaseException | None = None) -> None:
        if error is not None:
            self.future.set_exception(error)
        else:
            self.future.set_result(result)  # type: ignore[arg-type]  # a result when there is no error


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
        self._entry_signer = EntryTimestampSigner(directory.private_key)
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
        self._changed = threading.Condition()  # guards the tree and the cached head; notified as the tree grows
        self._head_lock = threading.Lock()  # one checkpoint signature per tree size
        self._head: SignedTreeHead | None = None
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()  # None: the committer stops
        self._admission = threading.Lock()  # guards _closing, _queued and the order of queue and stop
        self._closing = False
        self._queued = 0  # appends queued or being committed
        self._failed: BaseException | None = None
        self.commits = 0
        """Transactions committed since the log opened (each holds one batch of appends)."""
        self._committer = threading.Thread(target=self._run_committer, name="tlog-commit", daemon=True)
        self._committer.start()

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def start(self) -> LocalLog:
        """Return the log, ready for appends (its committer thread runs from the moment it opened)."""
        return self

    def close(self) -> None:
        """Refuse new appends, commit what is queued, close the database and release the directory's lock."""
        try:
            with self._admission:
                if not self._closing:
                    self._closing = True
                    self._queue.put(None)  # after every append admitted: those are committed first
            self._committer.join()
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

    @property
    def in_flight(self) -> int:
        """Appends queued or being committed, not yet answered."""
        with self._admission:
            return self._queued

    # -- appends -------------------------------------------------------------------------------------------------

    def append(self, entry: CanonicalEntry, *, timeout: float = 60.0) -> AppendResult:
        """Add a validated entry; return once it is durable (``Appended``) or known (``Duplicate``)."""
        future = self.submit(entry)
        try:
            return future.result(timeout)
        except FutureTimeoutError:
            raise LogClosedError("the entry was not committed in time") from None

    def submit(self, entry: CanonicalEntry) -> Future[AppendResult]:
        """Queue a validated entry for the committer; the future is done once the entry is durable
        (``Appended``) or known (``Duplicate``), or with the error that refused it. ``LogClosedError`` at once
        when the log is not taking appends."""
        pending = _Pending(entry, hash_leaf(entry.body))
        with self._admission:
            if self._closing or self._failed is not None:
                raise LogClosedError("the log is not taking appends" + (f": {self._failed}" if self._failed else ""))
            self._queued += 1
            self._queue.put(pending)
        return pending.future

    def _run_committer(self) -> None:
        """The committer thread: batch after batch, until ``close`` queues its stop."""
        stopping = False
        while not stopping:
            first = self._queue.get()
            batch: list[_Pending] = []
            if first is None:
                stopping = True
            else:
                batch.append(first)
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                else:
                    batch.append(item)
            if batch:
                self._commit_batch(batch)

    def _commit_batch(self, batch: list[_Pending]) -> None:
        """Number, sign, commit and answer one batch (see the module docstring); on any failure, stop appends."""
        try:
            if self._failed is not None:
                raise LogClosedError(f"the log stopped taking appends: {self._failed}")
            self._commit(batch)
        except BaseException as exc:  # noqa: BLE001 - the committer thread must answer every waiter, and stop appends
            if not isinstance(exc, LogClosedError):
                logger.error("cannot commit %d entries, no longer taking appends: %s", len(batch), exc)
                self._failed = self._failed or exc
            for pending in batch:
                if not pending.answered:
                    pending.answer(None, exc)
        finally:
            with self._admission:
                self._queued -= len(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        new: list[tuple[_Pending, NewEntry]] = []
        again: list[tuple[_Pending, _Pending | None]] = []  # a duplicate, and the new entry of this batch it repeats
        numbered: dict[bytes, _Pending] = {}
        index = self._tree.size  # the committer is the only thread that grows the tree
        log_id = self.key.log_id_hex
        for pending in batch:
            earlier = numbered.get(pending.leaf)
            if earlier is not None or self._storage.index_of(pending.leaf) is not None:
                again.append((pending, earlier))
                continue
            entry = pending.entry
            integrated_time = int(self._clock())
            signed = self._entry_signer.sign(LogEntry(entry.body, integrated_time, index, log_id))
            new.append((pending, NewEntry(index, pending.leaf, entry.body, integrated_time, signed, entry.kind,
                                          entry.api_version, entry.index_keys)))
            numbered[pending.leaf] = pending
            index += 1
        if new:
            try:
                self._storage.append([row for _, row in new])
            except LogStorageError:
                # Fail-stop: whether the batch reached the disk is unknown; a restart rebuilds the tree from the disk.
                for pending, _ in again:
                    pending.answer(None, LogClosedError("the log stopped taking appends after a storage failure"))
                raise
            self.commits += 1
            with self._changed:
                for pending, _ in new:
                    self._tree.append_hash(pending.leaf)
                self._changed.notify_all()
            head = self.tree_head()
            # Read without the lock: only this thread changes the tree.
            hashes = [self._tree.inclusion_proof(row.log_index, head.size) for _, row in new]
            for (pending, row), path in zip(new, hashes, strict=True):
                pending.answer(Appended(self._rekor_entry(_stored(row), head, path)))
        for pending, _ in again:
            # Known, and durable: committed in an earlier batch, or in this one just now.
            pending.answer(Duplicate(entry_uuid(pending.entry.body, self.tree_id)))

    # -- reads ---------------------------------------------------------------------------------------------------

    def tree_head(self) -> SignedTreeHead:
        """The signed checkpoint of the current tree: signed once per size (by the first thread to need it), then
        cached. The tree holds committed entries only, so the checkpoint covers nothing that could be lost."""
        with self._changed:
            head = self._head
            if head is not None and head.size == self._tree.size:
                return head
        with self._head_lock:
            with self._changed:
                size = self._tree.size
                head = self._head
                if head is not None and head.size == size:
                    return head
                root = self._tree.root(size)
            head = SignedTreeHead(size, root, sign_checkpoint(self.origin, size, root, self._signer))
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

    def _rekor_entry(self, stored: StoredEntry, head: SignedTreeHead, path: list[bytes] | None = None) -> RekorEntry:
        if path is None:
            with self._changed:
                path = self._tree.inclusion_proof(stored.log_index, head.size)
        hashes = tuple(path)
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
