"""Independent work run a bounded number at a time, its results in the order asked: the one helper for it.

``ordered_map(function, items, workers)`` is ``map`` with at most ``workers`` calls running at once and at most
``2 * workers`` results, weighing ``READ_AHEAD_BYTES`` together, held ahead of the consumer (so a consumer that
checks one document and drops it still holds few, however many there are). Results come in the order of ``items``,
each as soon as it and those before it are done; a call's exception is raised where its result would have been, so
a caller sees the same values and the same first error as the sequential loop. With ``workers`` 1 (or one item)
nothing runs on another thread at all.

The requests behind the calls are capped per registry by the registry client itself (``Settings.concurrency``):
this bounds threads and memory, not load on a server. Each call gets its own pool: nested use (images at once,
each reading its signatures at once) never waits on a pool it runs in.
"""

from __future__ import annotations

import collections
import itertools
import queue as queues
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["READ_AHEAD_BYTES", "ordered_map", "produced_ahead"]

# Calls submitted ahead of the consumer, per worker.
AHEAD = 2
# Declared bytes of the documents read ahead of their consumer at once (``cost``): signatures and referrer manifests
# are a few KiB, so dozens overlap; one of a hostile or raised size is read alone (issue 7.4: one at a time).
READ_AHEAD_BYTES = 1024 * 1024


def ordered_map(function: Callable[[T], R], items: Iterable[T], workers: int, *,
                cost: Callable[[T], int] | None = None, budget: int = READ_AHEAD_BYTES) -> Iterator[R]:
    """``function`` over ``items``, ``workers`` at a time, results in order (see the module docstring).

    ``cost``: what an item's result will weigh (a document's declared size): items are started ahead of the
    consumer only while the started, unconsumed ones weigh at most ``budget`` together; one heavier than that is
    read alone, as the sequential loop would. Leaving the iteration early cancels the calls not started and waits
    for the running ones."""
    remaining = iter(items)
    head = list(itertools.islice(remaining, 2))
    if workers <= 1 or len(head) < 2:  # nothing to overlap: no thread
        yield from map(function, itertools.chain(head, remaining))
        return
    queue: collections.deque[tuple[int, Future[R]]] = collections.deque()
    weight = 0
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="supplychain-read")
    try:
        for item in itertools.chain(head, remaining):
            price = cost(item) if cost is not None else 0
            # A slow head of the line keeps the others busy, within a count and a weight.
            while queue and (len(queue) >= AHEAD * workers or weight + price > budget):
                paid, future = queue.popleft()
                weight -= paid
                yield future.result()
            queue.append((price, pool.submit(function, item)))
            weight += price
        while queue:
            yield queue.popleft()[1].result()
    finally:
        for _, future in queue:
            future.cancel()
        pool.shutdown(wait=True)


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = object()
_POLL = 0.05  # seconds a blocked producer waits before it looks whether the consumer has left


def produced_ahead(items: Iterable[T], depth: int = 4) -> Generator[T, None, None]:
    """``items`` produced on a thread of their own, at most ``depth`` ahead of the consumer: a pipeline of two
    stages for a stream whose producing is C work that releases the GIL (hashing, inflating: ``imagefs`` walks a
    layer's tar headers while the next chunks are read, hashed and inflated). The producer's exception is raised
    where its next item would have been; leaving the iteration early (``close``) stops the producer at its next
    item and waits for it, so nothing it reads from outlives the consumer's ``with`` block."""
    ahead: queues.Queue[object] = queues.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=_POLL)
            except queues.Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            put(_Failure(exc))

    thread = threading.Thread(target=produce, name="supplychain-produce", daemon=True)
    thread.start()
    try:
        while True:
            item = ahead.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
