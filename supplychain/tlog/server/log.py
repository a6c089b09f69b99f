"""``LocalLog``: the local transparency log's append path, tree and proofs.

Appends are group-committed (issue 10, item 5), and the commit path holds nothing but the commit:

1. **Sequencing**, in the request's thread under a short lock: the duplicate check (an entry being committed, or
   one already committed), then the entry's index (the next one) and its ``integratedTime``; the entry joins the
   commit queue in index order.
2. **Its SET**, still in the request's thread and outside every lock: the signature over ``{body, integratedTime,
   logID, logIndex}`` needs only the index, so the signatures of concurrent appends are made side by side (the
   signing library releases the GIL) and while an earlier batch is being synced.
3. **The commit**, leader/follower style: whichever waiting thread gets the commit lock commits everything queued
   (up to ``max_batch`` entries, each with its SET) in one SQLite transaction, then adds the leaves to the
   in-memory Merkle tree and wakes the batch. A lone client thus commits inline, without a thread switch, and
   concurrent clients share transactions (and their fsyncs).
4. **The answer**, in the request's thread again: a checkpoint for the tree as it now is (signed once per tree
   size, by whichever thread first needs it) and the entry's inclusion proof against it.

So:

* an acknowledged entry is durable, SET included: the answer is built only after the commit of its batch synced the
  WAL (``synchronous=FULL``), and the SET is in the row that commit wrote; its inclusion proof can be rebuilt from
  the stored leaves at any time;
* every checkpoint handed out (``GET /api/v1/log``, inclusion proofs) is for a committed prefix of the log: the tree
  grows only after a commit. The log never renumbers: after a crash the tree rebuilt from the database extends
  every checkpoint given out before, so the restarted log can prove consistency with each (RFC 9162 2.1.4);
* a failed commit (or a SET that could not be made, which leaves a hole in the numbering) stops appends
  (fail-stop) until a restart rebuilds the tree from what is really on disk; the entries queued behind it are
  refused, never acknowledged.

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


@dataclass(slots=True)
class _Pending:
    """One append on its way: numbered, then signed (``row``), then committed (``done``)."""

    entry: CanonicalEntry
    leaf: bytes
    index: int
    integrated_time: int
    row: NewEntry | None = None  # the stored row, SET included, once signed
    signed: threading.Event = field(default_factory=threading.Event)  # set when ``row`` is made (or failed)
    done: threading.Event = field(default_factory=threading.Event)  # set when committed (or failed)
    wake: threading.Event = field(default_factory=threading.Event)  # set when done, or when asked to lead
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
        self._sequencer = threading.Lock()  # guards numbering: _next_index, _in_flight and the queue's order
        self._next_index = self._tree.size
        self._in_flight: dict[bytes, _Pending] = {}  # leaf hash -> an append numbered but not yet committed
        self._queue: deque[_Pending] = deque()  # numbered appends in index order; popped by the committer only
        self._commit_lock = threading.Lock()
        self._head_lock = threading.Lock()  # one checkpoint signature per tree size
        self._failed: BaseException | None = None
        self._closing = False
        self._head: SignedTreeHead | None = None
        self.commits = 0
        """Transactions committed since the log opened (each holds one batch of appends)."""

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def start(self) -> LocalLog:
        """Return the log, ready for appends (no background thread to start: see the module docstring)."""
        return self

    def close(self) -> None:
        """Refuse new appends, commit what is queued, close the database and release the directory's lock."""
        with self._sequencer:
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

    @property
    def in_flight(self) -> int:
        """Appends numbered but not yet committed."""
        with self._sequencer:
            return len(self._in_flight)

    # -- appends -------------------------------------------------------------------------------------------------

    def append(self, entry: CanonicalEntry, *, timeout: float = 60.0) -> AppendResult:
        """Add a validated entry; return once it is durable (``Appended``) or known (``Duplicate``)."""
        deadline = time.monotonic() + timeout
        leaf = hash_leaf(entry.body)
        pending, earlier = self._number(entry, leaf)
        if earlier is not None:
            # The same entry is being committed for another request: it is a duplicate once it is durable.
            self._wait(earlier, deadline)
            return Duplicate(entry_uuid(entry.body, self.tree_id))
        if pending is None:
            return Duplicate(entry_uuid(entry.body, self.tree_id))
        self._sign(pending)
        self._wait(pending, deadline)
        assert pending.row is not None  # committed, so signed
        # The answer, off the commit path: a checkpoint of the tree as it is now (it holds this entry) and the proof.
        return Appended(self._rekor_entry(_stored(pending.row), self.tree_head()))

    def _number(self, entry: CanonicalEntry, leaf: bytes) -> tuple[_Pending | None, _Pending | None]:
        """Give ``entry`` the next index and queue it; or return the append in flight with the same leaf, or
        (None, None) when the entry is already committed."""
        with self._sequencer:
            if self._closing or self._failed is not None:
                raise LogClosedError("the log is not taking appends" + (f": {self._failed}" if self._failed else ""))
            earlier = self._in_flight.get(leaf)
            if earlier is not None:
                return None, earlier
            # Under the lock: an entry leaves _in_flight only once its commit is visible to this read, so an entry
            # is always found in one of the two (the UNIQUE constraint never has to catch a duplicate).
            if self._storage.index_of(leaf) is not None:
                return None, None
            pending = _Pending(entry, leaf, self._next_index, int(self._clock()))
            self._next_index += 1
            self._in_flight[leaf] = pending
            self._queue.append(pending)
            return pending, None

    def _sign(self, pending: _Pending) -> None:
        """Make the entry's row with its SET (in the caller's thread: see the module docstring)."""
        entry = pending.entry
        try:
            signed = self._entry_signer.sign(LogEntry(entry.body, pending.integrated_time, pending.index,
                                                      self.key.log_id_hex))
            pending.row = NewEntry(pending.index, pending.leaf, entry.body, pending.integrated_time, signed,
                                   entry.kind, entry.api_version, entry.index_keys)
        except BaseException as exc:  # broad: any failure leaves a hole in the numbering, so the log stops (fail-stop)
            logger.error("cannot sign entry %d, no longer taking appends: %s", pending.index, exc)
            self._failed = exc
            raise
        finally:
            pending.signed.set()

    def _wait(self, pending: _Pending, deadline: float) -> None:
        """Until ``pending`` is committed: lead the commits while no other thread does, else wait to be woken."""
        while not pending.done.is_set():
            pending.wake.clear()
            self._lead(pending)
            if pending.done.is_set():
                break
            if not pending.wake.wait(max(0.0, deadline - time.monotonic())):
                raise LogClosedError("the entry was not committed in time")
        if pending.error is not None:
            raise pending.error

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
        """Up to ``max_batch`` queued appends, oldest first, each waited for until its SET is made (by its own
        thread, which numbered it a moment before)."""
        batch: list[_Pending] = []
        while len(batch) < self._max_batch:
            try:
                pending = self._queue.popleft()
            except IndexError:
                break
            if not pending.signed.wait(60.0):
                self._failed = self._failed or LogStorageError(f"entry {pending.index} was numbered but never signed")
            batch.append(pending)
        return batch

    def _drain(self) -> None:
        while self._queue:
            self._commit(self._take_batch())

    def _commit(self, batch: list[_Pending]) -> None:
        rows = [pending.row for pending in batch]
        if self._failed is not None or any(row is None for row in rows):
            self._finish(batch, LogClosedError(f"the log stopped taking appends: {self._failed}"))
            return
        try:
            self._storage.append(rows)  # type: ignore[arg-type]  # none is None: checked above
        except LogStorageError as exc:
            # Fail-stop: whether the batch reached the disk is unknown; a restart rebuilds the tree from the disk.
            logger.error("storage failure, no longer taking appends: %s", exc)
            self._failed = exc
            self._finish(batch, exc)
            return
        self.commits += 1
        with self._changed:
            for pending in batch:
                self._tree.append_hash(pending.leaf)
            self._changed.notify_all()
        self._finish(batch, None)

    def _finish(self, batch: list[_Pending], error: BaseException | None) -> None:
        with self._sequencer:
            for pending in batch:
                self._in_flight.pop(pending.leaf, None)
        for pending in batch:
            pending.error = error
            pending.done.set()
            pending.wake.set()

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
