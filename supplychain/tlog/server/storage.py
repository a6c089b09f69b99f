"""The local log's SQLite store: entries by index, their leaf hashes, SETs and search keys.

Durability (issue 4, item 4): the database runs in WAL mode with ``synchronous=FULL``, so a ``COMMIT`` returns only
after the WAL is fsync'ed (https://www.sqlite.org/pragma.html#pragma_synchronous); the log acknowledges an entry
only after the commit of the batch holding it (one transaction per batch of concurrent appends: group commit).
One writer connection, used only by the thread committing a batch;
one read connection per reading thread (WAL lets readers run beside the writer and see only committed batches).

Invariants, checked when the log opens: ``log_index`` runs 0..n-1 without gaps, and each leaf hash is unique (the
``UNIQUE`` constraint is the duplicate check of last resort). Each row read to be served is checked against its
leaf hash (``entry``): a damaged body is refused (``CorruptEntryError``), never handed out under its old UUID.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from supplychain.errors import IntegrityError, UnavailableError
from supplychain.tlog.merkle import hash_leaf

SCHEMA_VERSION = 1
_HASHES_PER_QUERY = 500  # below SQLite's SQLITE_MAX_VARIABLE_NUMBER (999 before 3.32) with room to spare
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    log_index       INTEGER PRIMARY KEY,
    leaf_hash       BLOB    NOT NULL UNIQUE,
    body            BLOB    NOT NULL,
    integrated_time INTEGER NOT NULL,
    set_signature   BLOB    NOT NULL,
    kind            TEXT    NOT NULL,
    api_version     TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS search_keys (
    key       TEXT    NOT NULL,
    log_index INTEGER NOT NULL,
    PRIMARY KEY (key, log_index)
) WITHOUT ROWID;
"""


class LogStorageError(UnavailableError):
    """The log's database failed or is inconsistent."""

    default_hint = "check the disk and the log directory; restart `supplychain tlog serve` once it is fixed"


class CorruptEntryError(IntegrityError):
    """A stored entry whose body no longer hashes to its leaf hash (the database was damaged or edited)."""

    default_hint = "restore the log's database from a backup; the entry cannot be served as it is"


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One row of ``entries``."""

    log_index: int
    leaf_hash: bytes
    body: bytes
    integrated_time: int
    signed_entry_timestamp: bytes
    kind: str
    api_version: str


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry about to be stored, with its search keys."""

    log_index: int
    leaf_hash: bytes
    body: bytes
    integrated_time: int
    signed_entry_timestamp: bytes
    kind: str
    api_version: str
    search_keys: tuple[str, ...]


def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    uri = f"file:{path}?mode={'ro' if readonly else 'rwc'}"
    connection = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=30)
    connection.execute("PRAGMA busy_timeout = 30000")
    if not readonly:
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise LogStorageError(f"{path}: cannot switch the database to WAL mode (got {mode})")
    # FULL: every commit syncs the WAL, so a committed (acknowledged) entry survives a crash or power loss.
    connection.execute("PRAGMA synchronous = FULL")
    return connection


class LogStorage:
    """The store of one log. ``append`` belongs to one writer thread; the readers may be any threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._writer = _connect(self.path, readonly=False)
            version = self._writer.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise LogStorageError(f"{self.path} has schema version {version}, this version reads {SCHEMA_VERSION}")
            self._writer.executescript(_SCHEMA)
            self._writer.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            raise LogStorageError(f"cannot open the log database {self.path}: {exc}") from exc
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()

    def close(self) -> None:
        """Close every connection (the WAL is checkpointed into the database by SQLite on the last close)."""
        with self._readers_lock:
            for connection in self._readers:
                connection.close()
            self._readers.clear()
        self._writer.close()

    def _reader(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            try:
                connection = _connect(self.path, readonly=True)
            except sqlite3.Error as exc:
                raise LogStorageError(f"cannot read the log database {self.path}: {exc}") from exc
            self._local.connection = connection
            with self._readers_lock:
                self._readers.append(connection)
        return connection

    # -- writing (the thread committing a batch only) -----------------------------------------------------------

    def append(self, entries: Sequence[NewEntry]) -> None:
        """Store a batch in one transaction; return only once it is committed (durable). All or nothing."""
        if not entries:
            return
        writer = self._writer
        try:
            writer.execute("BEGIN IMMEDIATE")
            try:
                writer.executemany(
                    "INSERT INTO entries"
                    " (log_index, leaf_hash, body, integrated_time, set_signature, kind, api_version)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (e.log_index, e.leaf_hash, e.body, e.integrated_time, e.signed_entry_timestamp, e.kind,
                         e.api_version)
                        for e in entries
                    ],
                )
                writer.executemany(
                    "INSERT OR IGNORE INTO search_keys (key, log_index) VALUES (?, ?)",
                    [(key, e.log_index) for e in entries for key in e.search_keys],
                )
                writer.execute("COMMIT")
            except BaseException:  # broad: an interrupt mid-insert must roll back too, or the writer keeps the lock
                if writer.in_transaction:
                    writer.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise LogStorageError(f"cannot store {len(entries)} entries in {self.path}: {exc}") from exc

    # -- reading -----------------------------------------------------------------------------------------------

    def index_of(self, leaf_hash: bytes) -> int | None:
        """The index of the entry with this leaf hash, if stored."""
        return self.indexes_of((leaf_hash,)).get(leaf_hash)

    def indexes_of(self, leaf_hashes: Sequence[bytes]) -> dict[bytes, int]:
        """The index of each of ``leaf_hashes`` that is stored (one query for a batch: the committer's duplicate
        check); at most ``_HASHES_PER_QUERY`` hashes per query."""
        found: dict[bytes, int] = {}
        connection = self._reader()
        try:
            for start in range(0, len(leaf_hashes), _HASHES_PER_QUERY):
                chunk = leaf_hashes[start:start + _HASHES_PER_QUERY]
                placeholders = ", ".join("?" * len(chunk))  # only placeholders go into the text; the hashes are bound
                rows = connection.execute(
                    f"SELECT leaf_hash, log_index FROM entries WHERE leaf_hash IN ({placeholders})", chunk  # noqa: S608
                ).fetchall()
                found.update((leaf, int(index)) for leaf, index in rows)
        except sqlite3.Error as exc:
            raise LogStorageError(f"cannot read {self.path}: {exc}") from exc
        return found

    def entry(self, log_index: int) -> StoredEntry | None:
        """The entry at ``log_index``, if stored."""
        try:
            row = self._reader().execute(
                "SELECT log_index, leaf_hash, body, integrated_time, set_signature, kind, api_version"
                " FROM entries WHERE log_index = ?",
                (log_index,),
            ).fetchone()
        except sqlite3.Error as exc:
            raise LogStorageError(f"cannot read {self.path}: {exc}") from exc
        if row is None:
            return None
        stored = StoredEntry(*row)
        if hash_leaf(stored.body) != stored.leaf_hash:
            raise CorruptEntryError(
                f"{self.path}: entry {log_index} is corrupted: its body does not hash to its leaf hash "
                f"{stored.leaf_hash.hex()}"
            )
        return stored

    def search(self, key: str, limit: int) -> list[int]:
        """Indexes of entries filed under ``key``, ascending, at most ``limit``."""
        try:
            rows = self._reader().execute(
                "SELECT log_index FROM search_keys WHERE key = ? ORDER BY log_index LIMIT ?", (key, limit)
            ).fetchall()
        except sqlite3.Error as exc:
            raise LogStorageError(f"cannot read {self.path}: {exc}") from exc
        return [int(row[0]) for row in rows]

    def leaf_hashes(self) -> Iterator[bytes]:
        """Every leaf hash in index order, checking that indexes run 0..n-1 (to rebuild the Merkle tree)."""
        try:
            cursor = self._writer.execute("SELECT log_index, leaf_hash FROM entries ORDER BY log_index")
            for expected, (index, leaf_hash) in enumerate(cursor):
                if index != expected:
                    raise LogStorageError(f"{self.path}: entry {expected} is missing (next stored is {index})")
                yield leaf_hash
        except sqlite3.Error as exc:
            raise LogStorageError(f"cannot read {self.path}: {exc}") from exc
