"""The embedded default transparency log: the local log in the user's data directory, used in-process.

cosign's defaults work together because ``sign`` and ``verify`` both use the public Rekor. Ours do so offline: with
no ``--rekor-url`` (nor ``SUPPLYCHAIN_REKOR_URL``), ``sign`` records each signature in the local log kept in
``${XDG_DATA_HOME:-~/.local/share}/supplychain/tlog`` (``default_log_path``), and ``verify`` trusts that log's key
(``DIR/log.pub``) besides Sigstore's production root (``default_log_keyring``). It is the very log ``tlog serve``
serves: created on first use by ``tlog init``'s code (``directory.init_log_directory``: key 0600, config, in a 0700
directory), appended to through ``log.LocalLog`` in this process, no server needed.

``EmbeddedLog`` is what ``sign`` talks to in place of a ``RekorClient`` (the same ``create_hashedrekord`` and
``create_dsse``, returning a ``VerifiedEntry``), and it checks the log's answers as the client does: the proposal
is validated as the server validates it (``kind.canonicalize``: schema and signature), the logged body must be the
proposal, and the SET and inclusion proof must verify with the key in ``DIR/log.pub``, the key ``verify`` will
trust, not merely with the private key that made them.

Concurrency. The log directory's lock (``directory.lock_log_directory``) admits one ``LocalLog`` at a time, so an
``EmbeddedLog`` opens the log for each append only, and closes it (the lock is held for milliseconds, not while the
registry is written). Two ``sign`` processes at once on the same log therefore take turns: a signer that finds the
lock taken polls for it (up to ``lock_wait`` seconds in all). A ``tlog serve`` of the directory holds the lock for
as long as it serves; a signer that sees the same process hold it for ``hold_limit`` seconds stops waiting and
refuses, naming that process (``DefaultLogBusyError``): sign through the server instead (``--rekor-url`` and
``--rekor-public-key DIR/log.pub``), or stop it. Conversely a ``tlog serve`` started in the milliseconds a signer
holds the lock refuses to start, naming the signer (start it again).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from supplychain.errors import UnavailableError
from supplychain.formats.rekor import DsseProposal, HashedRekord
from supplychain.tlog.client import EntryLog, EntryMismatchError, VerifiedEntry
from supplychain.tlog.evidence import verify_entry
from supplychain.tlog.kind import body_mismatches, canonicalize
from supplychain.tlog.server.directory import (
    CONFIG_FILE,
    LOCK_FILE,
    PUBLIC_KEY_FILE,
    LogDirectoryInUseError,
    default_log_keyring,
    default_log_path,
    init_log_directory,
    lock_log_directory,
    open_log_directory,
)
from supplychain.tlog.server.log import Appended, LocalLog
from supplychain.trust.keyring import LogKeyring, read_public_key

LOCK_WAIT = 60.0
"""Longest a signer waits in all for its turn at the log (concurrent signers hold it for milliseconds each)."""
HOLD_LIMIT = 3.0
"""A process that holds the lock this long without a break is serving the log, not signing: stop waiting."""
_POLL = 0.02
T = TypeVar("T")


class DefaultLogBusyError(UnavailableError):
    """Another process (a ``tlog serve`` of it) keeps the default log's directory locked."""


class EmbeddedLog(EntryLog):
    """The local log in ``path``, appended to in-process (see the module docstring); created on the first append
    if missing. ``keyring`` pins the keys its answers must verify with (default: ``DIR/log.pub``)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        keyring: LogKeyring | None = None,
        lock_wait: float = LOCK_WAIT,
        hold_limit: float = HOLD_LIMIT,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = Path(path)
        self.url = self.path.absolute().as_uri()
        """Where the entries went, for messages (``sign``'s "tlog entry created ... (UUID, URL)")."""
        self.created = False
        """Whether this object created the log (on its first append)."""
        self._keyring = keyring
        self._lock_wait, self._hold_limit = lock_wait, hold_limit
        self._clock, self._sleep = clock, sleep

    @property
    def public_key_path(self) -> Path:
        """The log's public key: what ``verify --rekor-public-key`` takes, and what the default ``verify`` trusts."""
        return self.path / PUBLIC_KEY_FILE

    def close(self) -> None:
        """Nothing is held between appends; here for the ``EntryLog`` interface."""

    def create_entry(self, proposal: HashedRekord | DsseProposal, *, existing_ok: bool = True) -> VerifiedEntry:
        """Validate ``proposal`` as the server does, append it (an entry already logged is returned with
        ``created=False``), and check the answer as ``RekorClient.create_entry`` does."""
        from supplychain.tlog.client import DuplicateEntryError

        canonical = canonicalize(proposal.proposed_entry())
        with self._opened() as log:
            result = log.append(canonical)
            if isinstance(result, Appended):
                entry, created = result.entry, True
            else:
                if not existing_ok:
                    raise DuplicateEntryError(result.uuid)
                found = log.entry_by_uuid(result.uuid)
                assert found is not None  # the log just said it holds it, and never deletes
                entry, created = found, False
        problems = body_mismatches(entry.entry.body, proposal)
        if problems:
            raise EntryMismatchError(f"the local log's entry {entry.uuid} is not the entry we sent: "
                                     f"{'; '.join(problems)}")
        keyring = self._keyring if self._keyring is not None else read_public_key(self.public_key_path, None)
        verification = verify_entry(entry, keyring, require_timestamp=True, require_inclusion=True)
        return VerifiedEntry(entry, verification, created)

    @contextlib.contextmanager
    def _opened(self) -> Iterator[LocalLog]:
        if not (self.path / CONFIG_FILE).is_file():
            self._create()
        directory = open_log_directory(self.path)
        log = self._wait_for_turn(lambda: LocalLog(directory))
        try:
            yield log
        finally:
            log.close()

    def _create(self) -> None:
        """``tlog init`` the directory, under its lock, unless a concurrent signer did it first."""
        try:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            init_log_directory(self.path)  # raises the error, with its hint
        lock = self._wait_for_turn(lambda: lock_log_directory(self.path))
        try:
            if not (self.path / CONFIG_FILE).is_file():
                init_log_directory(self.path)
                self.created = True
        finally:
            lock.release()

    def _wait_for_turn(self, take: Callable[[], T]) -> T:
        """``take()`` the directory's lock, polling while another process holds it (see the module docstring)."""
        start = self._clock()
        holder, since = None, start
        while True:
            try:
                return take()
            except LogDirectoryInUseError as exc:
                now = self._clock()
                current = _lock_holder(self.path)
                if current != holder:
                    holder, since = current, now
                if now - since >= self._hold_limit or now - start >= self._lock_wait:
                    by = f"process {holder}" if holder else "another process"
                    raise DefaultLogBusyError(
                        f"the default transparency log in {self.path} is in use by {by} (a `supplychain tlog "
                        f"serve` of it?) and was not released within {now - since:.0f}s",
                        hint=f"sign through that server: --rekor-url http://HOST:PORT --rekor-public-key "
                        f"{self.path / PUBLIC_KEY_FILE}; or stop it; or skip the log with --tlog-upload=false",
                    ) from exc
                self._sleep(_POLL)


def _lock_holder(path: Path) -> int | None:
    """The pid recorded in the directory's lock file by its current holder (for messages), if readable."""
    try:
        text = (path / LOCK_FILE).read_text("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


__all__ = ["DefaultLogBusyError", "EmbeddedLog", "default_log_keyring", "default_log_path"]
