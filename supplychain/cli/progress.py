"""Progress bars on stderr for blob transfers (rich), shown only on a terminal: one bar for the bytes of every blob
the copy moves, and under it a bar for each large blob while it moves (up to ``--concurrency`` at once)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from supplychain.oci.model import Descriptor

# Blobs smaller than this finish before a bar of their own would help (STYLE.md section 9: bars for anything over
# ~a second); their bytes still count in the total.
MIN_BAR_BYTES = 4 * 1024 * 1024


class TransferProgress:
    """A context manager that is a ``transfer.ProgressListener``; its methods may be called from several threads."""

    def __init__(self) -> None:
        self._tasks: dict[str, TaskID] = {}
        self._moved: dict[str, int] = {}
        self._total: TaskID | None = None
        self._size = 0  # bytes the total bar stands for
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        # rich is imported only when there is a terminal to draw on: a CI job or a pipe never pays its ~50 ms.
        if not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        console = Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
            console=console, disable=not console.is_terminal, transient=False,
        )

    def __enter__(self) -> TransferProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def queued(self, blobs: Sequence[Descriptor]) -> None:
        """Add the blobs' sizes to the total bar."""
        if self._progress is None:
            return
        with self._lock:
            self._size += sum(desc.size for desc in blobs)
            if self._total is None:
                self._total = self._progress.add_task("blobs", total=self._size)
            else:
                self._progress.update(self._total, total=self._size)

    def moved(self, desc: Descriptor, moved: int) -> None:
        """Advance the total by what moved since the last call, and the blob's own bar if it is large."""
        if self._progress is None:
            return
        key = str(desc.digest)
        with self._lock:
            step = moved - self._moved.get(key, 0)
            self._moved[key] = moved
            if self._total is not None:
                self._progress.advance(self._total, step)
            if desc.size < MIN_BAR_BYTES:
                return
            task = self._tasks.get(key)
            if task is None:
                task = self._tasks[key] = self._progress.add_task(f"  {desc.digest.short}", total=desc.size)
            self._progress.update(task, completed=moved)

    def settled(self, desc: Descriptor, moved: int) -> None:
        """The blob is there: its own bar goes, and what did not have to move (present, mounted) leaves the
        total."""
        if self._progress is None:
            return
        key = str(desc.digest)
        with self._lock:
            self._moved.pop(key, None)
            task = self._tasks.pop(key, None)
            if task is not None:
                self._progress.remove_task(task)
            if self._total is not None and moved < desc.size:
                self._size -= desc.size - moved
                self._progress.update(self._total, total=self._size)
