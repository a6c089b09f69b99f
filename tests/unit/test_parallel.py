"""``parallel.ordered_map``: results in the order asked, the first error where the sequential loop would raise it,
never more than ``workers`` calls at once, and a read-ahead bounded by count and by declared bytes."""

from __future__ import annotations

import threading
import time

import pytest

from supplychain.parallel import AHEAD, ordered_map


class Gauge:
    """Counts calls running at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self.started: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, item: int) -> int:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.started.append(item)
        time.sleep(0.01 * (item % 3))  # finish out of order
        with self._lock:
            self.now -= 1
        return item * 10


def test_results_come_in_order_with_at_most_workers_at_once():
    gauge = Gauge()
    assert list(ordered_map(gauge, range(40), 4)) == [n * 10 for n in range(40)]
    assert 1 < gauge.most <= 4


def test_one_worker_runs_on_the_calling_thread():
    threads = set()

    def where(item: int) -> int:
        threads.add(threading.get_ident())
        return item

    assert list(ordered_map(where, range(5), 1)) == list(range(5))
    assert threads == {threading.get_ident()}


def test_the_first_error_in_order_is_raised_after_the_results_before_it():
    def fail_on_odd(item: int) -> int:
        if item % 2:
            time.sleep(0.01 * (5 - item))  # the later failure finishes first
            raise ValueError(item)
        return item

    seen = []
    with pytest.raises(ValueError, match=r"^1$"):
        for result in ordered_map(fail_on_odd, range(6), 4):
            seen.append(result)
    assert seen == [0]


def test_the_read_ahead_is_bounded_by_count_while_the_consumer_waits():
    gauge = Gauge()
    results = ordered_map(gauge, range(100), 3)
    assert next(results) == 0
    time.sleep(0.1)
    assert len(gauge.started) <= AHEAD * 3 + 1
    results.close()  # leaving early: the rest is never started


def test_an_item_over_the_byte_budget_is_read_alone():
    gauge = Gauge()
    sizes = {0: 10, 1: 10, 2: 900, 3: 10, 4: 10}
    out = []
    for result in ordered_map(gauge, list(sizes), 4, cost=sizes.__getitem__, budget=100):
        out.append(result)
        if result == 20:  # item 2, over the budget, ran alone: after 0 and 1 were handed out, before 3 started
            assert sorted(gauge.started) == [0, 1, 2]
    assert out == [0, 10, 20, 30, 40]


def test_produced_ahead_yields_in_order_and_raises_the_producers_error_where_it_happened():
    from supplychain.parallel import produced_ahead

    def items():
        yield from range(10)
        raise ValueError("broken at 10")

    got = []
    with pytest.raises(ValueError, match="broken at 10"):
        for item in produced_ahead(items(), depth=2):
            got.append(item)
    assert got == list(range(10))


def test_produced_ahead_stops_the_producer_when_the_consumer_leaves():
    import itertools
    import threading

    from supplychain.parallel import produced_ahead

    produced = itertools.count()
    ahead = produced_ahead((next(produced) for _ in itertools.count()), depth=3)
    assert [next(ahead) for _ in range(5)] == [0, 1, 2, 3, 4]
    ahead.close()
    assert not any(t.name == "supplychain-produce" for t in threading.enumerate())
    assert next(produced) <= 5 + 3 + 2  # what was queued, plus at most the item in the producer's hand
