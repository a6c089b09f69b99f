"""Progress bars on stderr for blob transfers (rich), shown only on a terminal and for large blobs."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from supplychain.oci.model import Descriptor

# Blobs smaller than this finish before a bar would help (STYLE.md section 9: bars for anything over ~a second).
MIN_BAR_BYTES = 4 * 1024 * 1024


class TransferProgress:
    """A context manager whose ``update`` is a ``transfer.ProgressCallback``."""

    def __init__(self) -> None:
        self._tasks: dict[str, TaskID] = {}
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

    def update(self, desc: Descriptor, moved: int) -> None:
        if self._progress is None or desc.size < MIN_BAR_BYTES:
            return
        key = str(desc.digest)
        task = self._tasks.get(key)
        if task is None:
            task = self._progress.add_task(desc.digest.short, total=desc.size)
            self._tasks[key] = task
        self._progress.update(task, completed=moved)
