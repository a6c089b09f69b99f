"""A registry that accepts the connection and never answers fails in about SUPPLYCHAIN_TIMEOUT, not twice it
(issue 8, item 20): a timed-out HTTPS attempt on a loopback host is not followed by a plain-HTTP one."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from supplychain.errors import ExitCode
from tests.integration.test_transport_proxy import run

pytestmark = pytest.mark.integration


@pytest.fixture
def silent_server() -> Iterator[str]:
    """``127.0.0.1:PORT``: accepts every connection, reads nothing, says nothing."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_silent_registry_fails_in_about_the_timeout(silent_server: str):
    started = time.monotonic()
    result = run(["inspect", f"{silent_server}/app:1"], {"SUPPLYCHAIN_TIMEOUT": "1", "SUPPLYCHAIN_RETRIES": "4"})
    elapsed = time.monotonic() - started
    assert result.code == ExitCode.UNAVAILABLE, result.err
    assert result.err.startswith("error: timed out ") and silent_server in result.err
    assert "SUPPLYCHAIN_TIMEOUT" in result.err
    assert elapsed < 1.8, elapsed
