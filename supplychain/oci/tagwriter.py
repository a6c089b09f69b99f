"""The one writer of a tag that several clients change: read, change, put, read again to confirm.

Two kinds of tag are kept this way: cosign's ``sha256-<hex>.sig|.att|.sbom`` (one layer per item; SPECS.md "cosign,
legacy tag scheme": "signing again appends a layer (read, append, put)"), edited by ``signing.writer``, and the
referrers tag ``sha256-<hex>`` (distribution spec 1.1, "Referrers tag schema" and "Pushing manifests with
subject": read it, missing = empty, append, put), edited by ``registry.referrer``.

Neither the distribution spec nor an OCI image layout offers a compare-and-swap on a tag, so two writers who read
the same content and each put it with their own change lose one of the changes. What keeps them apart, strongest
first:

- a store that can lock a tag (``oci.store.LocksTags``) makes each read-change-put exclusive among the writers
  that take the lock: an OCI layout's ``flock`` (every thread and process on this machine), a registry
  repository's lock file (this user's processes on this machine: the registry has nothing to lock with);
- in one process, writers of the same tag of the same store (``sign`` of two references to one digest, threads of
  a library user) also take one lock per (store name, tag);
- writers that share no lock (on other machines, or with another lock directory) are kept apart by reading the
  tag again. It is read just before the put (``rebase_attempts``) and after it: a change missing from a
  confirming read was overwritten (a race detected), and the writer changes the tag again after a jittered,
  exponentially growing wait (``backoff``), a bounded number of rounds, and then fails.

What one confirming read cannot see is a rival whose read came before our put and whose put lands after that
read: the rival's read-to-put gap (one round trip, plus its own scheduling on a loaded machine) outlasts our
put-to-read one. Six signing processes that shared no lock file, started together against a local registry, lost
a signature that way in 2 of 4 runs, every one of them reporting success. So on a store whose lock does not bind
every writer (``LocksTags.locks_every_writer``: a registry; an OCI layout's ``flock`` does), the put is confirmed
a second time, ``settle(put)`` later: a jittered 2-4 times the put's own duration (5 ms to 1 s), the time a
rival's read-then-put takes on the same registry and machine, measured rather than fixed. That closes the
window for rivals up to that slow; one slower still (a process stalled for longer between its read and its put)
can still undo a change unseen. Neither the distribution spec nor a layout has a compare-and-swap, and cosign
confirms nothing at all. (Earlier versions slept a fixed 50-250 ms after every put.)

So the path without a race is: read, build, read, put, read, and on a registry a short wait and one more read.

A writer whose put depends on slow uploads (a cosign tag's blobs: its config names the layer list) asks for
``rebase_attempts``: after the uploads the tag is read again, and the manifest is put only if the tag did not
change meanwhile (else it is rebuilt on what is there now), so the read a put is built on is one request old.

Reading a tag that others are writing has one more hazard: CNCF distribution (the reference registry) rewrites a
tag's link file in place, so a GET that races a PUT of the same tag can read it empty and answer 500 ("invalid
checksum digest format"). The transport does not retry a 500 (usually a registry bug that answers the same way
again); a writer that asks for ``read_attempts`` reads the tag again after a short random wait.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from supplychain.digest import Digest
from supplychain.errors import NotFoundError, RegistryError
from supplychain.oci.model import AnyManifest, Descriptor
from supplychain.oci.store import ArtifactStore, LocksTags

logger = logging.getLogger("supplychain.oci")

Sleep = Callable[[float], None]

# The default wait before changing the tag again: a random time of up to BACKOFF_BASE * 2**attempt seconds
# (capped), so that writers who collided do not collide again in step.
BACKOFF_BASE = 0.05
BACKOFF_CAP = 1.0
# The longest wait between two reads of a tag answered with a registry error (see the module docstring).
READ_BACKOFF_CAP = 0.5
# Reads of a tag answered with a registry error (a read racing a write, see the module docstring), in all: what
# the writers of shared tags ask for.
RACING_READ_ATTEMPTS = 5
# The second confirming read, after settle(put seconds) (see the module docstring).
SETTLE_FACTORS = (2.0, 4.0)
SETTLE_FLOOR = 0.005
SETTLE_CAP = 1.0

State = TypeVar("State")


class TagEdit(Protocol[State]):
    """One writer's change of one tag: how it reads what the tag holds, whether its change holds, and the
    manifest that makes it hold."""

    def parse(self, found: AnyManifest | None) -> State:
        """What the tag holds (``None``: the tag is absent), as this edit sees it; raises for content the
        edit must not change."""
        ...

    def done(self, state: State) -> bool:
        """Whether the change holds in ``state``."""
        ...

    def build(self, state: State) -> AnyManifest:
        """The manifest that makes the change hold on ``state`` (uploading any blob it names first)."""
        ...


@dataclass(frozen=True, slots=True)
class TagRead(Generic[State]):
    """The tag's manifest (``None`` when absent) and what the edit made of it."""

    manifest: AnyManifest | None
    state: State

    @property
    def digest(self) -> Digest | None:
        return None if self.manifest is None else self.manifest.digest


@dataclass(frozen=True, slots=True)
class TagWrite(Generic[State]):
    """What ``write_tag`` did."""

    current: TagRead[State]  # the tag as last read: the change holds in it
    pushed: Descriptor | None  # the manifest we put (or found landed), ``None`` when the change held before
    puts: int  # puts made (0 when the change held before)

    @property
    def already_present(self) -> bool:
        return self.pushed is None and self.puts == 0


def default_backoff(attempt: int) -> float:
    """A random wait before the next round: up to ``BACKOFF_BASE * 2**attempt`` seconds, at most ``BACKOFF_CAP``."""
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))  # noqa: S311 - jitter, not a secret


def default_settle(put_seconds: float) -> float:
    """The wait before the second confirming read: a random 2-4 times the put's duration, within 5 ms and 1 s."""
    low, high = SETTLE_FACTORS
    return min(SETTLE_CAP, max(SETTLE_FLOOR, put_seconds * random.uniform(low, high)))  # noqa: S311 - jitter


def read_tag(
    store: ArtifactStore,
    tag: str,
    edit: TagEdit[State],
    *,
    attempts: int = 1,
    sleep: Sleep,
) -> TagRead[State]:
    """Read ``tag`` for ``edit`` (missing = ``None``). A ``RegistryError`` is tried again, ``attempts`` reads in
    all, after a short random wait (see the module docstring)."""
    for attempt in range(attempts - 1):
        try:
            return _read_once(store, tag, edit)
        except RegistryError as exc:
            logger.debug("reading %s:%s failed (%s); reading it again", store.name, tag, exc)
            sleep(random.uniform(0, min(READ_BACKOFF_CAP, 2 * BACKOFF_BASE * 2**attempt)))  # noqa: S311 - jitter
    return _read_once(store, tag, edit)


def _read_once(store: ArtifactStore, tag: str, edit: TagEdit[State]) -> TagRead[State]:
    try:
        found: AnyManifest | None = store.get_manifest(tag)
    except NotFoundError:
        found = None
    return TagRead(found, edit.parse(found))


def write_tag(
    store: ArtifactStore,
    tag: str,
    edit: TagEdit[State],
    *,
    attempts: int,
    lost: Callable[[], Exception],
    sleep: Sleep,
    backoff: Callable[[int], float] = default_backoff,
    settle: Callable[[float], float] = default_settle,
    read_attempts: int = 1,
    rebase_attempts: int = 0,
    retry_failed_puts: bool = False,
    current: TagRead[State] | None = None,
) -> TagWrite[State]:
    """Make ``edit``'s change hold at ``tag`` of ``store`` and confirm it did (see the module docstring).

    At most ``attempts`` rounds of put and confirming read (two reads, ``settle(put seconds)`` apart, unless the
    store's lock binds every writer); a round whose reads lack the change (a race) is followed by a wait of
    ``backoff(round)``. When other writers kept undoing the change, ``lost()`` is raised. With ``retry_failed_puts``
    a put the registry answers with a ``RegistryError`` (distribution's 500 for a write racing another) counts as a
    lost round, and if no put at all succeeded the registry's last error is raised as is; without it the error
    propagates at once. ``current``, a read of the tag the caller made earlier, saves the first read; it needs
    ``rebase_attempts`` (the tag is read again before the put, so nothing is built on an old read).
    """
    if current is not None and rebase_attempts < 1:
        raise ValueError("write_tag(current=...) needs rebase_attempts: the put must not build on an old read")
    with _exclusive(store, tag):
        if current is None:
            current = read_tag(store, tag, edit, attempts=read_attempts, sleep=sleep)
        if edit.done(current.state):
            return TagWrite(current, None, 0)
        written = 0
        failure: RegistryError | None = None
        confirms = 1 if isinstance(store, LocksTags) and store.locks_every_writer else 2
        for attempt in range(attempts):
            try:
                pushed, took = _put(store, tag, edit, current, sleep, read_attempts, rebase_attempts)
            except RegistryError as exc:
                if not retry_failed_puts:
                    raise
                failure = exc
                logger.debug("writing %s:%s failed (%s); trying again", store.name, tag, exc)
            else:
                written += 1
                for confirm in range(confirms):
                    if confirm:
                        sleep(settle(took))
                    current = read_tag(store, tag, edit, attempts=read_attempts, sleep=sleep)
                    if not edit.done(current.state):
                        break
                else:
                    return TagWrite(current, pushed, written)
                logger.debug("%s:%s was overwritten by another writer; changing it again", store.name, tag)
            sleep(backoff(attempt))
            current = read_tag(store, tag, edit, attempts=read_attempts, sleep=sleep)
            if edit.done(current.state):  # a put answered with an error did land, or another writer did the same
                return TagWrite(current, None if current.manifest is None else current.manifest.descriptor(),
                                written)
        if written == 0 and failure is not None:
            raise failure
        raise lost()


class _TagLocks:
    """One lock per (store name, tag) for the writers of this process, kept while someone holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, str], tuple[threading.Lock, int]] = {}

    @contextlib.contextmanager
    def hold(self, key: tuple[str, str]) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


_PROCESS_LOCKS = _TagLocks()


@contextlib.contextmanager
def _exclusive(store: ArtifactStore, tag: str) -> Iterator[None]:
    """This process's lock of ``tag`` in ``store``, and the store's own tag lock when it has one (the layout's
    ``flock``: other processes too). Always in this order, so two writers never wait for each other in a cycle."""
    with _PROCESS_LOCKS.hold((store.name, tag)):
        if isinstance(store, LocksTags):
            with store.lock_tag(tag):
                yield
        else:
            yield


def _put(
    store: ArtifactStore,
    tag: str,
    edit: TagEdit[State],
    current: TagRead[State],
    sleep: Sleep,
    read_attempts: int,
    rebase_attempts: int,
) -> tuple[Descriptor, float]:
    """Put ``edit``'s manifest on ``current``. With ``rebase_attempts``, the tag is read again after the manifest
    (and its uploads) is built and, if it changed meanwhile, the manifest is rebuilt on what it holds now; a
    change found holding already (an earlier put answered with an error did land) is returned as put. Also how
    long the put itself took (0 for none), for ``settle``."""
    manifest = edit.build(current.state)
    for _ in range(rebase_attempts):
        now = read_tag(store, tag, edit, attempts=read_attempts, sleep=sleep)
        if now.digest == current.digest:
            break
        current = now
        if now.manifest is not None and edit.done(now.state):
            return now.manifest.descriptor(), 0.0
        manifest = edit.build(current.state)
    started = time.monotonic()
    descriptor = store.put_manifest(manifest, tag=tag).descriptor
    return descriptor, time.monotonic() - started
