"""Local files, the ways this package touches them: durable atomic writes, capped reads, lock files.

Writes: the bytes go to a temporary file (``O_CREAT|O_EXCL``, never a guessed or followed name) in the target's
directory (or one given on the same file system), which is given its exact mode, written, ``fsync``'ed, then moved
into place (``rename(2)`` to replace, ``link(2)`` to never replace), and the directory is ``fsync``'ed so the new
name survives a crash too (POSIX keeps directory entries in the page cache until the directory is synced). A
failure at any step leaves the target untouched and no temporary file behind. The temporary file is ``flock``'ed
while it is written, so a sweeper of stale temporary files (the OCI layout's) can tell a live writer's file.

Reads: a whole small file (or stream) of which at most ``cap`` bytes are expected; one byte more is a
``FileTooLargeError`` naming the cap, raised before anything larger is held in memory.

Locks: ``locked_file``, an ``flock``ed lock file removed on release, in this user's private
``user_lock_directory`` (a registry has nothing to lock a tag with, so its writers on one machine take one of
these: ``oci.tagwriter``).

``OSError`` passes through all three: each caller names its file and wraps it in its own error class.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from supplychain.errors import SizeLimitError

PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644


class FileTooLargeError(SizeLimitError):
    """A file or stream larger than the cap for what it should hold."""

    def __init__(self, what: str, cap: int, hint: str | None = None) -> None:
        super().__init__(f"{what} is larger than the {cap}-byte limit", hint=hint)
        self.cap = cap


def read_capped(source: str | os.PathLike[str] | BinaryIO, cap: int, *, what: str | None = None) -> bytes:
    """All of ``source`` (a path, or an open binary stream read from where it is), at most ``cap`` bytes.

    One byte more raises ``FileTooLargeError`` (``what`` names the source in it; default: the path). Only
    ``cap + 1`` bytes are ever read, whatever the file's size says (it may grow, or be a device).
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as handle:
            data = handle.read(cap + 1)
        name = what or os.fspath(source)
    else:
        data = source.read(cap + 1)
        name = what or "the stream"
    if len(data) > cap:
        raise FileTooLargeError(name, cap)
    return data


def write_atomic(
    target: str | os.PathLike[str],
    data: bytes | Iterable[bytes],
    *,
    mode: int = PUBLIC_MODE,
    temp_dir: str | os.PathLike[str] | None = None,
    temp_prefix: str | None = None,
    follow_umask: bool = False,
) -> None:
    """Replace ``target`` with ``data`` (bytes, or chunks that may raise mid-way) atomically and durably.

    ``mode`` is set exactly, whatever the umask (``PRIVATE_MODE`` for secrets), unless ``follow_umask``: then the
    umask applies, as for any file a user's program creates. ``temp_dir`` (default: the
    target's directory) must be on the target's file system; ``temp_prefix`` names the temporary file for a
    sweeper. An exception from ``data`` passes through unchanged, with nothing written.
    """
    path = Path(target)
    temporary = write_temporary(path, data, mode=mode, temp_dir=temp_dir, temp_prefix=temp_prefix,
                                follow_umask=follow_umask)
    try:
        os.replace(temporary, path)
    except BaseException:  # broad: an interrupt here must not leave the temporary behind either
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    fsync_directory(path.parent)


def write_new(target: str | os.PathLike[str], data: bytes, *, mode: int = PUBLIC_MODE) -> None:
    """Create ``target`` with ``data`` durably, never replacing a file: ``FileExistsError`` if one is there.

    ``link(2)`` fails on an existing name, so a file created there meanwhile is never overwritten.
    """
    path = Path(target)
    temporary = write_temporary(path, data, mode=mode)
    try:
        os.link(temporary, path, follow_symlinks=False)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
    fsync_directory(path.parent)


def write_temporary(
    target: Path,
    data: bytes | Iterable[bytes],
    *,
    mode: int = PUBLIC_MODE,
    temp_dir: str | os.PathLike[str] | None = None,
    temp_prefix: str | None = None,
    follow_umask: bool = False,
) -> Path:
    """A new, synced temporary file holding ``data`` beside ``target``, for the caller to move into place.

    For callers that place several files at once (all or none: a key pair); on failure nothing is left. ``mode``
    and ``follow_umask`` as for ``write_atomic``.
    """
    directory = Path(temp_dir) if temp_dir is not None else target.parent
    prefix = temp_prefix if temp_prefix is not None else f".{target.name}."
    temporary = directory / f"{prefix}{secrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(temporary, flags, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # released on close: "a writer is alive"
            if not follow_umask:
                os.fchmod(handle.fileno(), mode)  # exactly this mode, whatever the umask
            for chunk in [data] if isinstance(data, (bytes, bytearray, memoryview)) else data:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:  # broad: ``data`` may raise anything (an interrupt, GeneratorExit); nothing is left
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return temporary


def replace_all(files: Iterable[tuple[Path, bytes | Iterable[bytes]]], *, mode: int = PUBLIC_MODE,
                follow_umask: bool = False) -> None:
    """Replace every ``(target, data)`` (bytes, or chunks that may raise mid-way) or none: each written to a synced
    temporary beside its target first (``write_temporary``), then each renamed into place, then the directories
    synced. A target that cannot be written (a missing directory, a full disk) raises its ``OSError``
    (``filename`` the target) before any target is replaced; a target that cannot be replaced (a directory) raises
    with ``filename`` the target too; an interrupt leaves no temporary behind. ``mode``
    and ``follow_umask`` as for ``write_atomic``."""
    temporaries: list[tuple[Path, Path]] = []
    try:
        for target, data in files:
            try:
                temporaries.append((write_temporary(target, data, mode=mode, follow_umask=follow_umask), target))
            except OSError as exc:  # named after the target, not its temporary: the caller reports which one
                raise OSError(exc.errno, exc.strerror, str(target)) from exc
        for temporary, target in temporaries:
            try:
                os.replace(temporary, target)
            except OSError as exc:  # a target that is a directory: named too, not the temporary renamed onto it
                raise OSError(exc.errno, exc.strerror, str(target)) from exc
    except BaseException:  # broad: an interrupt mid-way must leave no temporary file behind either
        for temporary, _ in temporaries:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise
    for directory in {target.parent for _, target in temporaries}:
        fsync_directory(directory)


def fsync_directory(directory: str | os.PathLike[str]) -> None:
    """Make the renames and links in ``directory`` durable; best effort (some file systems refuse to sync a
    directory, and the files themselves are synced already)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def user_lock_directory(environ: dict[str, str] | None = None) -> Path | None:
    """This user's private directory of lock files: ``$XDG_RUNTIME_DIR/supplychain/locks`` (private by the XDG
    base directory spec), else ``<tmp>/supplychain-<uid>/locks``; made ``0700`` when absent. ``None`` when it
    cannot be made, or is not a real directory of this user's that only they can enter (another user could
    otherwise hold our locks)."""
    import tempfile

    env = os.environ if environ is None else environ
    runtime = env.get("XDG_RUNTIME_DIR", "")
    base = Path(runtime) / "supplychain" if runtime else Path(tempfile.gettempdir()) / f"supplychain-{os.getuid()}"
    directory = base / "locks"
    try:
        for part in (base, directory):
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o700)
            status = os.lstat(part)
            private = status.st_uid == os.getuid() and not status.st_mode & 0o077
            if not os.path.isdir(part) or os.path.islink(part) or not private:
                return None
    except OSError:
        return None
    return directory


@contextlib.contextmanager
def locked_file(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` of the lock file ``path`` (made ``0600`` when absent) for the block, across
    threads and processes, and remove the file on release. A waiter that got the lock on a file its holder has
    since removed sees that its file is no longer the one at ``path`` and takes the lock again, so removing lock
    files never lets two holders in at once."""
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_MODE)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                current = os.stat(path, follow_symlinks=False)
            except FileNotFoundError:
                current = None
            held = os.fstat(descriptor)
            if current is not None and (current.st_dev, current.st_ino) == (held.st_dev, held.st_ino):
                break
        except BaseException:  # broad: the descriptor is closed on any failure, an interrupt in flock included
            os.close(descriptor)
            raise
        os.close(descriptor)  # removed or replaced meanwhile: take the lock of the file there now
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)  # still ours: we hold its lock, and every taker checks the name before going on
        os.close(descriptor)
