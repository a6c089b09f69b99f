"""The layout directory on disk: its file names, opening and creating it, the lock, durable writes through temp
files, the sweep of the temp files killed writers left, and blob paths (OCI image-spec image-layout.md).

- ``oci-layout`` marks a layout (``{"imageLayoutVersion":"1.0.0"}``, "oci-layout file"); it is written last, so
  its presence marks a complete one.
- The lock is an exclusive ``flock`` on the layout directory itself, so no lock file is left among the layout's
  files; every ``index.json`` change and every reclaim of blobs holds it.
- Every write goes to a temp file ``TEMP_PREFIX*`` in the layout directory, ``flock``ed by its writer while it
  writes, fsynced and renamed into place (``files.write_atomic``); a temp file nobody holds and that is old was
  left by a killed writer, and is swept before the next ``index.json`` change.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import stat
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from supplychain.digest import Digest
from supplychain.errors import InvalidDigestError, NotFoundError
from supplychain.files import PUBLIC_MODE, write_atomic
from supplychain.formats.strictjson import JsonFormatError, loads_untrusted
from supplychain.layout.errors import CorruptLayoutError, LayoutIOError, LayoutNotFoundError, NotALayoutError
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import encode_json

logger = logging.getLogger(__name__)

LAYOUT_FILE = "oci-layout"
INDEX_FILE = "index.json"
BLOBS_DIR = "blobs"
LAYOUT_VERSION = "1.0.0"
# Lock file of earlier versions (the lock is now the directory itself): tolerated in a directory to create into.
LEGACY_LOCK_FILE = ".supplychain.lock"
TEMP_PREFIX = ".supplychain-tmp-"
# A temp file no writer holds and untouched for this long (seconds) was left by a killed writer: swept.
STALE_TEMP_SECONDS = 300
_CHUNK = 256 * 1024

FileKey = tuple[int, int, int, int, int]


def file_key(stat: os.stat_result) -> FileKey:
    """What identifies one version of a file: a writer renames a new file into place (new inode, times)."""
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


class LayoutDirectory:
    """The directory of one layout: every file-system operation on it, with ``OSError`` wrapped into
    ``LayoutIOError``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def name(self) -> str:
        """``oci:<path>``, for messages."""
        return f"oci:{self.path}"

    # -- opening --------------------------------------------------------------------------------------------

    def create(self) -> tuple[bool, list[Path]]:
        """Make the layout when the directory is absent or empty (but for temp files); return whether this call
        wrote its ``oci-layout`` file, and the directories it made, outermost first."""
        with self.io("create the layout"):
            if self.path.exists() and not self.path.is_dir():
                raise NotALayoutError(f"{self.name}: {self.path} is not a directory")
            missing = [p for p in (self.path, *self.path.parents) if not p.exists()]
            self.path.mkdir(parents=True, exist_ok=True)
            made_dirs = list(reversed(missing))
            if (self.path / LAYOUT_FILE).exists():
                return False, made_dirs
            # Locking writes nothing (the lock is the directory), so a directory of someone else's files is
            # left as it was; check then says what it is.
            with self.lock():  # another writer may be creating it: wait for it, then look again
                if (self.path / LAYOUT_FILE).exists() or not self._is_blank():
                    return False, made_dirs
                (self.path / BLOBS_DIR).mkdir(exist_ok=True)
                empty = {"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX, "manifests": []}
                self.write_atomic(self.path / INDEX_FILE, [encode_json(empty)])
                # oci-layout last: its presence marks a complete layout.
                self.write_atomic(self.path / LAYOUT_FILE, [encode_json({"imageLayoutVersion": LAYOUT_VERSION})])
                return True, made_dirs

    def _is_blank(self) -> bool:
        """Empty but for temp files (and an earlier version's lock file): only such a directory becomes a layout."""
        return all(p.name == LEGACY_LOCK_FILE or p.name.startswith(TEMP_PREFIX) for p in self.path.iterdir())

    def check(self) -> None:
        """Raise unless the directory is a layout of a supported version with an ``index.json``."""
        if not self.path.exists():
            raise LayoutNotFoundError(f"{self.name}: no such directory")
        if not self.path.is_dir():
            raise NotALayoutError(
                f"{self.name}: {self.path} is not a directory",
                hint="an OCI layout is a directory (oci-layout, index.json, blobs/); the path ends at the first "
                "':' of oci:PATH:tag",
            )
        marker = self.path / LAYOUT_FILE
        if not marker.is_file():
            raise NotALayoutError(f"{self.name} is not an OCI image layout: it has no {LAYOUT_FILE} file")
        try:
            with self.io("read oci-layout"), open(marker, "rb") as handle:
                doc = loads_untrusted(handle.read(4096))
        except JsonFormatError as exc:
            raise CorruptLayoutError(f"{self.name}: {LAYOUT_FILE} is not JSON: {exc}") from exc
        version = doc.get("imageLayoutVersion") if isinstance(doc, dict) else None
        # image-layout.md "oci-layout file": imageLayoutVersion is "1.0.0"; accept any 1.x, refuse the rest.
        if not isinstance(version, str) or version.split(".")[0] != "1":
            raise NotALayoutError(
                f"{self.name}: unsupported imageLayoutVersion {version!r} (supported: {LAYOUT_VERSION})",
                hint="this layout was written by a tool of another layout version; convert it with skopeo copy",
            )
        if not (self.path / INDEX_FILE).is_file():
            raise CorruptLayoutError(f"{self.name} has an {LAYOUT_FILE} file but no {INDEX_FILE}")

    # -- blobs ----------------------------------------------------------------------------------------------

    def blob_path(self, digest: Digest) -> Path:
        """``blobs/<alg>/<encoded>`` (image-layout.md "Blobs"); ``Digest`` validated both parts, so no path
        tricks."""
        return self.path / BLOBS_DIR / digest.algorithm / digest.hex

    def has_blob(self, digest: Digest) -> bool:
        """Whether ``blobs/<alg>/<hex>`` exists."""
        return self.blob_path(digest).is_file()

    @contextlib.contextmanager
    def open_blob(self, digest: Digest) -> Iterator[BinaryIO]:
        """The blob file, open for reading (``NotFoundError`` when it is absent)."""
        try:
            handle = open(self.blob_path(digest), "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError as exc:
            raise NotFoundError(f"blob {digest} not found in {self.name}",
                                hint="the layout is incomplete: copy the image into it again") from exc
        except OSError as exc:
            raise LayoutIOError(f"cannot read blob {digest.short} in {self.name}: {exc}") from exc
        with handle:
            yield handle

    def blob_files(self) -> Iterator[tuple[Digest, Path]]:
        """``(digest, path)`` of each ``blobs/<alg>/<hex>`` file; files whose name is not a digest are skipped."""
        for blob in sorted((self.path / BLOBS_DIR).glob("*/*")):
            digest = blob_digest(blob)
            if digest is not None:
                yield digest, blob

    # -- writing, locking, sweeping --------------------------------------------------------------------------

    def write_atomic(self, target: Path, chunks: Iterable[bytes]) -> None:
        """Write ``chunks`` durably onto ``target`` (``files.write_atomic``), through a temp file named
        ``TEMP_PREFIX*`` in the layout directory, which the writer ``flock``s while it writes: that tells
        ``sweep_stale_temp_files`` the writer is alive. Blobs are 0644: world-readable, as other tools write them.

        ``chunks`` may raise (``verify_stream`` does on a mismatch, before it ends; a network source may fail):
        then the temp file is removed, ``target`` is untouched and the error passes through unchanged.
        """
        failed: list[BaseException] = []

        def source() -> Iterator[bytes]:
            try:
                yield from chunks
            except BaseException as exc:  # the source's own error, not one of writing: not for io to wrap
                failed.append(exc)
                raise

        try:
            with self.io(f"write {target.name}"):
                write_atomic(target, source(), mode=PUBLIC_MODE, temp_dir=self.path, temp_prefix=TEMP_PREFIX)
        except LayoutIOError:
            if failed:
                raise failed[0] from None
            raise

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive ``flock`` on the layout directory itself (Linux allows it on a directory descriptor), so
        no lock file is left among the layout's files. Each call opens its own file description, so the lock
        excludes other threads of this process as well as other processes (and must not be nested)."""
        with self._flock(self.path, "lock the layout"):
            yield

    @contextlib.contextmanager
    def tag_lock(self) -> Iterator[None]:
        """Exclusive ``flock`` on the ``blobs`` directory: one writer's read-change-put of a tag shared by several
        writers (``oci.tagwriter``), across threads and processes. A lock of its own, since the put inside it
        takes ``lock()`` for ``index.json``; always taken before that one, never inside it, so no two writers
        wait for each other in a cycle."""
        blobs = self.path / BLOBS_DIR
        with self.io("lock the layout's tags"):
            blobs.mkdir(exist_ok=True)
        with self._flock(blobs, "lock the layout's tags"):
            yield

    @contextlib.contextmanager
    def _flock(self, path: Path, action: str) -> Iterator[None]:
        """An exclusive ``flock`` of the directory ``path``, on a file description of its own."""
        with self.io(action):
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            with self.io(action):
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def sweep_stale_temp_files(self) -> list[Path]:
        """Remove the temp files that writers killed mid-write left in the layout (SIGKILL, power loss: no
        ``finally`` ran); called with the layout lock held, before each ``index.json`` change.

        Only files named ``TEMP_PREFIX*`` (ours), and only stale ones: a live writer holds an ``flock`` on its
        temp file for as long as it writes (``write_atomic``), and the kernel drops that lock when the writer
        dies, so a file we can lock has no writer. Files changed in the last ``STALE_TEMP_SECONDS`` are kept as
        well (a writer between creating its file and locking it, or an older version that does not lock).
        """
        removed = []
        now = time.time()
        with self.io("list the layout"):
            temps = [p for p in self.path.iterdir() if p.name.startswith(TEMP_PREFIX)]
        for temp in temps:
            try:
                fd = os.open(temp, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                continue  # gone meanwhile (renamed into place), or not a plain file of ours
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode) or now - os.fstat(fd).st_mtime < STALE_TEMP_SECONDS:
                    continue
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live writer holds it
                with self.io("remove a stale temp file"), contextlib.suppress(FileNotFoundError):
                    temp.unlink()
                removed.append(temp)
            finally:
                os.close(fd)
        if removed:
            logger.info("%s: removed %d temp files left by interrupted writers", self.name, len(removed))
        return removed

    @contextlib.contextmanager
    def io(self, action: str) -> Iterator[None]:
        """Wrap filesystem errors (permissions, disk full) into ``LayoutIOError``."""
        try:
            yield
        except OSError as exc:
            raise LayoutIOError(f"cannot {action} in {self.name}: {exc.strerror or exc}") from exc


def blob_digest(path: Path) -> Digest | None:
    """The digest a ``blobs/<alg>/<hex>`` path stands for, or ``None`` for a file that is not a blob."""
    try:
        return Digest(path.parent.name, path.name)
    except InvalidDigestError:
        return None


def chunks(handle: BinaryIO) -> Iterator[bytes]:
    """The file's bytes in 256 KiB chunks (``_CHUNK``: small enough that several streams at once stay light)."""
    return iter(functools.partial(handle.read, _CHUNK), b"")
