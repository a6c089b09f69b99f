"""``registry.client.InFlightCap``: never more than its limit of requests in flight at once across threads, and a
thread that holds a slot opens nested requests on it (a cap of 1 must not deadlock a blob streamed within one
registry)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from supplychain.registry.client import InFlightCap


def test_no_more_than_the_limit_at_once():
    cap, lock = InFlightCap(3), threading.Lock()
    now = most = 0

    def request(_: int) -> None:
        nonlocal now, most
        with cap.slot():
            with lock:
                now += 1
                most = max(most, now)
            time.sleep(0.01)
            with lock:
                now -= 1

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(request, range(30)))
    assert most == 3


def test_a_nested_request_rides_on_the_slot_its_thread_holds():
    cap = InFlightCap(1)
    done = threading.Event()

    def stream_into_upload() -> None:
        with cap.slot(), cap.slot():  # the read held open while the upload is sent
            done.set()

    thread = threading.Thread(target=stream_into_upload)
    thread.start()
    thread.join(timeout=5)
    assert done.is_set()
    with cap.slot():  # released again
        pass
