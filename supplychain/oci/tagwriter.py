"""The one writer of a tag that several clients change: read, change, put, read again to confirm.

Two kinds of tag are kept this way: cosign's ``sha256-<hex>.sig|.att|.sbom`` (one layer per item; SPECS.md "cosign,
legacy tag scheme": "signing again appends a layer (read, append, put)"), edited by ``signing.writer``, and the
referrers tag ``sha256-<hex>`` (distribution spec 1.1, "Referrers tag schema" and "Pushing manifests with
subject": read it, missing = empty, append, put), edited by ``registry.referrer``.

Neither the distribution spec nor an OCI image layout offers a compare-and-swap on a tag, so two writers who read
the same content overwrite each other and one change is silently lost. Each writer therefore waits a short random
time after its put (``SETTLE_DELAY``), so that a writer who read the tag before our put has landed its own put,
reads the tag again and checks that its change holds; if not, it changes the tag again, a bounded number of times,
and then fails: a lost change is never reported as stored.

A writer whose put depends on slow uploads (a cosign tag's blobs: its config names the layer list) asks for
``rebase_attempts``: after the uploads the tag is read again, and the manifest is put only if the tag did not
change meanwhile (else it is rebuilt on what is there now), so the read a put is built on is one request old.

Reading a tag that others are writing has one more hazard: CNCF distribution (the reference registry) rewrites a
tag's link file in place, so a GET that races a PUT of the same tag can read it empty and answer 500 ("invalid
checksum digest format"). The transport does not retry a 500 (usually a registry bug that answers the same way
again); a writer that asks for ``read_attempts`` reads the tag again after a short random wait.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from supplychain.digest import Digest
from supplychain.errors import NotFoundError, RegistryError
from supplychain.oci.model import AnyManifest, Descriptor
from supplychain.oci.store import ArtifactStore

logger = logging.getLogger("supplychain.oci")

Sleep = Callable[[float], None]

# After our put, wait this long (seconds, uniform) so that a writer who read the tag before our put has landed
# its own put before we check that ours survived.
SETTLE_DELAY = (0.05, 0.25)
# The default wait before changing the tag again: a random time of up to BACKOFF_BASE * 2**attempt seconds
# (capped), so that writers who collided do not collide again in step.
BACKOFF_BASE = 0.05
BACKOFF_CAP = 1.0
# The longest wait between two reads of a tag answered with a registry error (see the module docstring).
READ_BACKOFF_CAP = 0.5

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
    read_attempts: int = 1,
    rebase_attempts: int = 0,
    retry_failed_puts: bool = False,
) -> TagWrite[State]:
    """Make ``edit``'s change hold at ``tag`` of ``store`` and confirm it did (see the module docstring).

    At most ``attempts`` rounds of put, settle, read; between rounds a wait of ``backoff(round)``. When other
    writers kept undoing the change, ``lost()`` is raised. With ``retry_failed_puts`` a put the registry answers
    with a ``RegistryError`` (distribution's 500 for a write racing another) counts as a lost round, and if no
    put at all succeeded the registry's last error is raised as is; without it the error propagates at once.
    """
    current = read_tag(store, tag, edit, attempts=read_attempts, sleep=sleep)
    if edit.done(current.state):
        return TagWrite(current, None, 0)
    written = 0
    failure: RegistryError | None = None
    for attempt in range(attempts):
        try:
            pushed = _put(store, tag, edit, current, sleep, read_attempts, rebase_attempts)
        except RegistryError as exc:
            if not retry_failed_puts:
                raise
            failure = exc
            logger.debug("writing %s:%s failed (%s); trying again", store.name, tag, exc)
        else:
            written += 1
            sleep(random.uniform(*SETTLE_DELAY))  # noqa: S311 - timing jitter, not a secret
            current = read_tag(store, tag, edit, attempts=read_attempts, sleep=sleep)
            if edit.done(current.state):
                return TagWrite(current, pushed, written)
            logger.debug("%s:%s was overwritten by another writer; changing it again", store.name, tag)
        sleep(backoff(attempt))
        current = read_tag(store, tag, edit, attempts=read_attempts, sleep=sleep)
        if edit.done(current.state):  # a put answered with an error did land, or another writer did the same
            return TagWrite(current, None if current.manifest is None else current.manifest.descriptor(), written)
    if written == 0 and failure is not None:
        raise failure
    raise lost()


def _put(
    store: ArtifactStore,
    tag: str,
    edit: TagEdit[State],
    current: TagRead[State],
    sleep: Sleep,
    read_attempts: int,
    rebase_attempts: int,
) -> Descriptor:
    """Put ``edit``'s manifest on ``current``. With ``rebase_attempts``, the tag is read again after the manifest
    (and its uploads) is built and, if it changed meanwhile, the manifest is rebuilt on what it holds now; a
    change found holding already (an earlier put answered with an error did land) is returned as put."""
    manifest = edit.build(current.state)
    for _ in range(rebase_attempts):
        now = read_tag(store, tag, edit, attempts=read_attempts, sleep=sleep)
        if now.digest == current.digest:
            break
        current = now
        if now.manifest is not None and edit.done(now.state):
            return now.manifest.descriptor()
        manifest = edit.build(current.state)
    return store.put_manifest(manifest, tag=tag).descriptor
