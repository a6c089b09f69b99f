"""``LocalLog``: the local transparency log's append path, tree and proofs.

Appends are group-committed (issue 10, item 5): the appends that arrive while a batch is on its way to the disk
form the next batch, and each batch is one SQLite transaction. For each batch, in order:

1. **Staging**: the duplicate checks (an entry committed before, one query for the batch; or the same entry twice
   in the batch), the indexes and ``integratedTime``, each SET (the signature over ``{body, integratedTime,
   logID, logIndex}``).
2. **Storing**: one SQLite transaction for all of it (``LogStorage.append``), on the committer thread, so that the
   sync of the WAL (the GIL released) overlaps the work on the next requests.
3. **Publishing**: the leaves join the in-memory Merkle tree, the checkpoint of the new size is signed (once per
   batch), each new entry's inclusion proof is made against it, and each append gets its answer.

Where the stages run depends on who appends:

* **On the server's event loop** (``tlog serve``: ``join_loop``, called by ``tlog.server.http``): the loop thread
  stages and publishes, and hands only the transaction to the committer thread. The loop validates the requests
  (``kind.canonicalize``) and writes the answers too, so no append crosses threads to be queued or answered: one
  hand-over each way per batch, not per entry. (With a committer thread doing stages 1 and 3 while the loop served
  the requests, the two threads took the GIL from each other some 60 times per entry, and 8 client processes got
  half the appends per second.) Appends submitted from other threads meanwhile are handed to the loop.
* **Otherwise** (``EmbeddedLog``, a library user, or the server's loop gone): ``submit`` queues the append
  (``queue.SimpleQueue``) and the committer thread does all three stages for each batch it takes from the queue
  (up to ``max_batch``); ``append`` waits for the answer.

One batch is between staging and publishing at a time (``_commit_lock``), whoever runs it. So:

* an acknowledged entry is durable, SET included: the answer is handed over only after the commit of its batch
  synced the WAL (``synchronous=FULL``), and the SET is in the row that commit wrote; its inclusion proof can be
  rebuilt from the stored leaves at any time;
* every checkpoint handed out (``GET /api/v1/log``, inclusion proofs) is for a committed prefix of the log: the tree
  grows only after a commit. The log never renumbers: after a crash the tree rebuilt from the database extends
  every checkpoint given out before, so the restarted log can prove consistency with each (RFC 9162 2.1.4);
* a duplicate is answered only once the entry it duplicates is durable (an earlier batch is committed before the
  next is staged);
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
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from supplychain.errors import UnavailableError
from supplychain.formats.rekor import LogEntry
from supplychain.tlog.checkpoint import sign_checkpoint
from supplychain.tlog.entry import EntryTimestampSigner, InclusionProof
from supplychain.tlog.evidence import RekorEntry, entry_uuid, split_uuid
from supplychain.tlog.kind import CanonicalEntry
from supplychain.tlog.merkle import MerkleTree, hash_leaf
from supplychain.tlog.server.directory import LogDirectory, lock_log_directory
from supplychain.tlog.server.storage import CorruptEntryError, LogStorage, LogStorageError, NewEntry, StoredEntry

if TYPE_CHECKING:
    import asyncio  # only for the annotations: the loop's methods are called, asyncio is not imported by signers

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


@dataclass(slots=True)
class _Staged:
    """A batch numbered and signed (stage 1), its rows not yet stored: the new entries, and the duplicates with
    the new entry of the same batch each repeats (None: it repeats one committed earlier)."""

    new: list[tuple[_Pending, NewEntry]] = field(default_factory=list)
    again: list[tuple[_Pending, _Pending | None]] = field(default_factory=list)


class _StoreJob:
    """The committer thread's part of a batch staged on the server's loop: store its rows, then ``done(error)``."""

    __slots__ = ("done", "rows")

    def __init__(self, rows: Sequence[NewEntry], done: Callable[[BaseException | None], None]) -> None:
        self.rows = rows
        self.done = done

    def run(self, storage: LogStorage) -> None:
        try:
            storage.append(self.rows)
        except BaseException as exc:  # noqa: BLE001 - handed to the loop, which answers the batch and fails stop
            self.report(exc)
        else:
            self.report(None)

    def report(self, error: BaseException | None) -> None:
        try:
            self.done(error)
        except RuntimeError:  # the loop closed without leaving the log first: nobody is left to answer
            logger.error("a batch of %d entries was %s, but the server's loop is gone", len(self.rows),
                         "not stored" if error else "stored")


_Queued = _Pending | _StoreJob | None  # None: the committer stops


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
        self._tree_lock = threading.Lock()  # guards the tree and the cached head
        self._head_lock = threading.Lock()  # one checkpoint signature per tree size
        self._head: SignedTreeHead | None = None
        self._queue: queue.SimpleQueue[_Queued] = queue.SimpleQueue()
        self._admission = threading.Lock()  # guards _closing, _queued, _loop and the order of queue and stop
        self._commit_lock = threading.Lock()  # held by the one batch between staging and publishing
        self._loop: asyncio.AbstractEventLoop | None = None  # while appends are batched on a server's loop
        self._loop_thread = 0
        self._loop_pending: list[_Pending] = []  # appends waiting on the loop for the next batch
        self._loop_busy = False  # a batch is in flight from the loop, or its next one is scheduled
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
            self._refuse_leftovers()
            self._storage.close()
        finally:
            self._lock.release()

    def _refuse_leftovers(self) -> None:
        # Appends that reached the queue behind the stop (handed over by a loop that had not left the log): never
        # committed, so refused rather than left waiting.
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Pending):
                item.answer(None, LogClosedError("the log closed before the entry was committed"))
            elif isinstance(item, _StoreJob):
                item.report(LogClosedError("the log closed before the batch was committed"))

    def __enter__(self) -> LocalLog:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def size(self) -> int:
        """The number of committed entries."""
        with self._tree_lock:
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
        """Queue a validated entry; the future is done once the entry is durable (``Appended``) or known
        (``Duplicate``), or with the error that refused it. ``LogClosedError`` at once when the log is not taking
        appends. While the log is joined to a loop (``join_loop``), the future is done on that loop's thread."""
        pending = _Pending(entry, hash_leaf(entry.body))
        with self._admission:
            if self._closing or self._failed is not None:
                raise LogClosedError("the log is not taking appends" + (f": {self._failed}" if self._failed else ""))
            self._queued += 1
            loop = self._loop
            if loop is None:
                self._queue.put(pending)
            elif threading.get_ident() == self._loop_thread:
                self._to_loop_batch(pending)
            else:
                loop.call_soon_threadsafe(self._to_loop_batch, pending)
        return pending.future

    # -- batches staged on a server's loop -------------------------------------------------------------------------

    def join_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """From now on, batch the appends on ``loop`` (called on its thread, while it runs): it stages and
        publishes each batch, the committer thread only stores it (see the module docstring). ``leave_loop``
        before the loop stops."""
        with self._admission:
            self._loop = loop
            self._loop_thread = threading.get_ident()

    async def leave_loop(self) -> None:
        """Stop batching on the loop (awaited on it): the batch in flight is published, and the appends still
        waiting on the loop, or handed to it by other threads, go to the committer thread's queue."""
        import asyncio  # imported already: this runs on a loop

        with self._admission:
            self._loop = None  # submits from now on queue for the committer thread
        await asyncio.sleep(0)  # the hand-overs scheduled before that run now (and find no loop: _to_loop_batch)
        while self._loop_busy:
            await asyncio.sleep(0.001)
        waiting, self._loop_pending = self._loop_pending, []
        for pending in waiting:
            self._queue.put(pending)

    def _to_loop_batch(self, pending: _Pending) -> None:
        """On the loop's thread: add an append to the next batch, and schedule that batch unless one is in flight."""
        loop = self._loop
        if loop is None:  # the loop left the log after this hand-over was scheduled
            self._queue.put(pending)
            return
        self._loop_pending.append(pending)
        if not self._loop_busy:
            self._loop_busy = True
            loop.call_soon(self._next_loop_batch)

    def _next_loop_batch(self) -> None:
        """On the loop's thread: stage the appends gathered so far and hand their transaction to the committer."""
        loop = self._loop
        batch = self._loop_pending[:self._max_batch]
        if loop is None or not batch:  # nothing waits, or the loop left the log (leave_loop queues what waits)
            self._loop_busy = False
            return
        del self._loop_pending[:len(batch)]
        self._commit_lock.acquire()  # free unless the committer thread finishes a batch queued before join_loop
        try:
            staged = self._stage(batch)
        except BaseException as exc:  # noqa: BLE001 - every append of the batch is answered; the log fails stop
            self._stored_on_loop(None, batch, exc)
            return
        if not staged.new:  # duplicates only: nothing to store
            self._stored_on_loop(staged, batch, None)
            return

        def stored(error: BaseException | None) -> None:  # on the committer thread
            loop.call_soon_threadsafe(self._stored_on_loop, staged, batch, error)

        self._queue.put(_StoreJob([row for _, row in staged.new], stored))

    def _stored_on_loop(self, staged: _Staged | None, batch: list[_Pending], error: BaseException | None) -> None:
        """On the loop's thread, once a batch's transaction is done (``error`` None) or failed: publish or refuse it,
        then schedule the next batch (after the answers just made, which are scheduled first)."""
        try:
            if error is not None:
                raise error
            assert staged is not None
            self._publish(staged)
        except BaseException as exc:  # noqa: BLE001 - as in _commit_batch
            self._refuse(batch, exc, staged)
        finally:
            self._commit_lock.release()
            with self._admission:
                self._queued -= len(batch)
        if self._loop is not None:
            self._loop.call_soon(self._next_loop_batch)
        else:
            self._loop_busy = False

    # -- batches taken from the queue by the committer thread ------------------------------------------------------

    def _run_committer(self) -> None:
        """The committer thread: batch after batch, and the transactions of the loop's batches, until ``close``
        queues its stop."""
        stopping = False
        while not stopping:
            batch: list[_Pending] = []
            jobs: list[_StoreJob] = []
            item = self._queue.get()
            while True:
                if item is None:
                    stopping = True
                elif isinstance(item, _StoreJob):
                    jobs.append(item)
                else:
                    batch.append(item)
                if len(batch) >= self._max_batch:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            for job in jobs:  # first: each holds the commit lock the batch below would wait for
                job.run(self._storage)
            if batch:
                self._commit_batch(batch)

    def _commit_batch(self, batch: list[_Pending]) -> None:
        """Stage, store and publish one batch on this thread (see the module docstring); on any failure, stop
        appends."""
        staged: _Staged | None = None
        try:
            with self._commit_lock:
                staged = self._stage(batch)
                if staged.new:
                    self._storage.append([row for _, row in staged.new])
                self._publish(staged)
        except BaseException as exc:  # noqa: BLE001 - the committer thread must answer every waiter, and stop appends
            self._refuse(batch, exc, staged)
        finally:
            with self._admission:
                self._queued -= len(batch)

    # -- the stages ------------------------------------------------------------------------------------------------

    def _stage(self, batch: list[_Pending]) -> _Staged:
        """Stage 1: the duplicate checks, the indexes, integratedTime and each SET (the commit lock held)."""
        if self._failed is not None:
            raise LogClosedError(f"the log stopped taking appends: {self._failed}")
        staged = _Staged()
        known = self._storage.indexes_of([pending.leaf for pending in batch])
        numbered: dict[bytes, _Pending] = {}
        index = self._tree.size  # only the batch holding the commit lock grows the tree
        log_id = self.key.log_id_hex
        for pending in batch:
            earlier = numbered.get(pending.leaf)
            if earlier is not None or pending.leaf in known:
                staged.again.append((pending, earlier))
                continue
            entry = pending.entry
            integrated_time = int(self._clock())
            signed = self._entry_signer.sign(LogEntry(entry.body, integrated_time, index, log_id))
            staged.new.append((pending, NewEntry(index, pending.leaf, entry.body, integrated_time, signed,
                                                 entry.kind, entry.api_version, entry.index_keys)))
            numbered[pending.leaf] = pending
            index += 1
        return staged

    def _publish(self, staged: _Staged) -> None:
        """Stage 3, once the batch is durable: grow the tree, sign its checkpoint, answer each append."""
        new = staged.new
        if new:
            self.commits += 1
            with self._tree_lock:
                for pending, _ in new:
                    self._tree.append_hash(pending.leaf)
            head = self.tree_head()
            # Read without the lock: only the batch holding the commit lock changes the tree.
            hashes = [self._tree.inclusion_proof(row.log_index, head.size) for _, row in new]
            for (pending, row), path in zip(new, hashes, strict=True):
                pending.answer(Appended(self._rekor_entry(_stored(row), head, path)))
        for pending, _ in staged.again:
            # Known, and durable: committed in an earlier batch, or in this one just now.
            pending.answer(Duplicate(entry_uuid(pending.entry.body, self.tree_id)))

    def _refuse(self, batch: list[_Pending], exc: BaseException, staged: _Staged | None) -> None:
        """Answer what is left of a failed batch (``staged``, if it got that far) with its error; any failure but
        a refusal stops appends."""
        if not isinstance(exc, LogClosedError):
            logger.error("cannot commit %d entries, no longer taking appends: %s", len(batch), exc)
            self._failed = self._failed or exc
        if staged is not None and isinstance(exc, LogStorageError):
            # Fail-stop: whether the batch reached the disk is unknown (a restart rebuilds the tree from the disk),
            # so its duplicates are told the log stopped, not that their entry is known.
            for pending, _ in staged.again:
                pending.answer(None, LogClosedError("the log stopped taking appends after a storage failure"))
        for pending in batch:
            if not pending.answered:
                pending.answer(None, exc)

    # -- reads ---------------------------------------------------------------------------------------------------

    def tree_head(self) -> SignedTreeHead:
        """The signed checkpoint of the current tree: signed once per size (by the first thread to need it), then
        cached. The tree holds committed entries only, so the checkpoint covers nothing that could be lost."""
        with self._tree_lock:
            head = self._head
            if head is not None and head.size == self._tree.size:
                return head
        with self._head_lock:
            with self._tree_lock:
                size = self._tree.size
                head = self._head
                if head is not None and head.size == size:
                    return head
                root = self._tree.root(size)
            head = SignedTreeHead(size, root, sign_checkpoint(self.origin, size, root, self._signer))
            with self._tree_lock:
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
        """The entry with this UUID (leaf hash, with or without this log's tree ID); None if absent. An entry whose
        batch is committed but not yet published (in the database, in no checkpoint, its submitter not yet
        answered) is absent, as ``entry_by_index`` has it: never waited for, since on a server's loop the wait
        would hold up the loop that publishes it."""
        tree_id, leaf = split_uuid(uuid)
        if tree_id is not None and tree_id != self.tree_id:
            return None
        index = self._storage.index_of(leaf)
        if index is None:
            return None
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
        with self._tree_lock:
            return self._tree.consistency_proof(first, last), self._tree.root(last)

    def _checked_entry(self, index: int) -> StoredEntry | None:
        """The stored entry at ``index`` (a committed one), refused if its row no longer matches the tree: its body
        must hash to its leaf hash (``LogStorage.entry``), and that hash must be the tree's leaf."""
        stored = self._storage.entry(index)
        if stored is None:
            return None
        with self._tree_lock:
            leaf = self._tree.leaf_hash(index)
        if leaf != stored.leaf_hash:
            raise CorruptEntryError(
                f"{self._storage.path}: entry {index} is corrupted: its leaf hash {stored.leaf_hash.hex()} is not the "
                f"tree's {leaf.hex()}"
            )
        return stored

    def _rekor_entry(self, stored: StoredEntry, head: SignedTreeHead, path: list[bytes] | None = None) -> RekorEntry:
        if path is None:
            with self._tree_lock:
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
