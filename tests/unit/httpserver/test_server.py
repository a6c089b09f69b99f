"""``httpserver``: the generic hardened HTTP server on its own, with trivial routes, over real sockets on
127.0.0.1 (port 0: a free one). What the local log adds on top of it is in ``tests/unit/tlog/test_server.py``."""

from __future__ import annotations

import hashlib
import logging
import queue
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from supplychain.errors import InvalidInputError, SupplyChainError, UnavailableError
from supplychain.httpserver.route import Deferred, HttpError, Request, Response, Router
from supplychain.httpserver.server import HttpServer, bind_server, serve_until, stop_on_signals
from tests.support.http import chunked, json_answer, raw_request

LIMIT = 1000
LOGGER = logging.getLogger("tests.httpserver")
WAITING: queue.SimpleQueue[Future[str]] = queue.SimpleQueue()  # the futures of /wait's deferred answers, in order


class Failure(SupplyChainError):
    """A library error (TEST): not the client's fault."""


def router() -> Router:
    def echo(request: Request) -> Response:
        body = request.body()
        return Response.json(200, {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()})

    def boom(request: Request) -> Response:
        raise RuntimeError("TEST bug")

    def teapot(request: Request) -> Response:
        raise HttpError(418, "short\nand stout", {"X-Test": "spout"})

    def unavailable(request: Request) -> Response:
        raise UnavailableError("the TEST service is stopping")

    def fail(request: Request) -> Response:
        raise Failure("the TEST store is gone", hint="TEST")

    def wait(request: Request) -> Deferred:
        future: Future[str] = Future()
        WAITING.put(future)
        return Deferred(future, lambda value: Response.json(200, {"value": value}))

    routes = Router()
    routes.add("GET", "/wait", wait)
    routes.add("GET", "/hello", lambda request: Response.json(200, {"hello": dict(request.query)}))
    routes.add("POST", "/echo", echo)
    routes.add("POST", "/json", lambda request: Response.json(200, request.json()))
    routes.add("GET", "/boom", boom)
    routes.add("GET", "/teapot", teapot)
    routes.add("GET", "/fail", fail)
    routes.add("GET", "/unavailable", unavailable)
    routes.add("GET", re.compile(r"/items/([0-9]+)"), lambda request: Response.json(200, list(request.params)))
    routes.add("GET", "/items/special", lambda request: Response(200, b"special", "text/plain"))
    return routes


@contextmanager
def running(**options: Any) -> Iterator[HttpServer]:
    options.setdefault("max_body_bytes", LIMIT)
    server = HttpServer(("127.0.0.1", 0), router(), logger=LOGGER, server_version="test-server/1", **options)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.fixture
def server() -> Iterator[HttpServer]:
    with running() as server:
        yield server


@pytest.fixture
def http(server: HttpServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def test_routes_answer_json(http: httpx.Client) -> None:
    response = http.get("/hello/", params={"a": ["1", "2"], "b": ""})
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    assert response.json() == {"hello": {"a": ["1", "2"], "b": [""]}}
    assert response.headers["Server"].startswith("test-server/1 Python/")
    assert http.get("/items/42").json() == ["42"]
    assert http.get("/items/special").text == "special"  # exact paths before patterns


def test_unknown_path_is_404_json(http: httpx.Client) -> None:
    response = http.post("/nowhere", content=b"x" * 100)
    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "no such path /nowhere"}
    assert http.get("/items/x").status_code == 404  # a pattern matches the whole path
    assert http.get("/hello").status_code == 200  # the body was skipped: the connection is still in step


def test_wrong_method_is_405_with_allow(http: httpx.Client) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH", "FOO"):
        response = http.request(method, "/hello", content=b"{}")
        assert response.status_code == 405 and response.headers["Allow"] == "GET", method
        assert response.json() == {"code": 405, "message": f"{method} is not allowed on /hello"}
    assert http.delete("/items/7").headers["Allow"] == "GET"
    head = http.head("/hello")
    assert head.status_code == 405 and head.content == b""
    assert http.get("/hello").status_code == 200


def test_a_body_over_the_limit_is_413(http: httpx.Client) -> None:
    assert http.post("/echo", content=b"x" * LIMIT).json()["size"] == LIMIT
    response = http.post("/echo", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413 and response.headers["Connection"] == "close"
    assert response.json() == {"code": 413, "message": f"request body of {LIMIT + 1} bytes is larger than the "
                                                       f"{LIMIT}-byte limit"}
    assert http.get("/hello").status_code == 200  # on a new connection


def test_a_chunked_body_is_read(http: httpx.Client) -> None:
    payload = bytes(range(256)) * 3 + b"end"
    response = http.post("/echo", content=chunked(payload, 7))
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.json() == {"size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
    assert http.post("/json", content=chunked(b'{"a": [1, 2]}', 3)).json() == {"a": [1, 2]}


def test_a_chunked_body_over_the_limit_is_413(http: httpx.Client) -> None:
    response = http.post("/echo", content=chunked(b"x" * (LIMIT + 1), 100))
    assert response.status_code == 413
    assert response.json() == {"code": 413, "message": f"the chunked request body is larger than the {LIMIT}-byte "
                                                       "limit"}


@pytest.mark.parametrize(
    ("head", "body", "status"),
    [
        (b"Transfer-Encoding: chunked\r\n", b"zz\r\nab\r\n0\r\n\r\n", 400),
        (b"Transfer-Encoding: chunked\r\n", b"5\r\nab\r\n0\r\n\r\n", 400),
        (b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\n", 400),
        (b"Transfer-Encoding: gzip\r\n", b"", 501),
        (b"", b"", 411),
        (b"Content-Length: -1\r\n", b"", 411),
    ],
    ids=["chunk-size", "truncated", "both", "gzip", "no-length", "negative"],
)
def test_unusable_bodies_are_refused(server: HttpServer, head: bytes, body: bytes, status: int) -> None:
    answer = raw_request(server.url, b"POST /echo HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n" + body, timeout=2)
    got, headers, document = json_answer(answer)
    assert (got, document["code"], headers["connection"]) == (status, status, "close")


def test_malformed_requests_get_json_errors(server: HttpServer) -> None:
    status, _, document = json_answer(raw_request(server.url, b"GET\r\n\r\n"))
    assert (status, document["code"]) == (400, 400)
    status, _, document = json_answer(raw_request(server.url, b"GET /hello HTTP/7.0\r\n\r\n"))
    assert (status, document["code"]) == (505, 505)


def test_json_bodies_are_read_strictly(http: httpx.Client) -> None:
    assert http.post("/json", content=b'{"a": 1}').json() == {"a": 1}
    nested = http.post("/json", content=b"[" * (LIMIT - 1))  # past formats.strictjson.MAX_NESTING
    assert nested.status_code == 400 and "nest too deeply" in nested.json()["message"]
    duplicate = http.post("/json", content=b'{"a": 1, "a": 2}')
    assert duplicate.status_code == 400 and duplicate.json()["message"].startswith("the request body is not JSON")


def test_handler_errors_are_json_answers(http: httpx.Client) -> None:
    teapot = http.get("/teapot")
    assert teapot.status_code == 418 and teapot.headers["X-Test"] == "spout"
    assert teapot.json() == {"code": 418, "message": "short and stout"}
    failed = http.get("/fail")
    assert failed.status_code == 500 and failed.json() == {"code": 500, "message": "the TEST store is gone"}
    unavailable = http.get("/unavailable")  # cannot answer now: 503, which clients retry
    assert (unavailable.status_code, unavailable.headers["Retry-After"]) == (503, "1")
    assert unavailable.json() == {"code": 503, "message": "the TEST service is stopping"}


def test_a_bug_is_a_500_answer_and_the_server_keeps_serving(
    http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger=LOGGER.name):
        response = http.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"code": 500, "message": "internal server error (see the log's output)"}
    assert any("TEST bug" in (record.exc_text or "") for record in caplog.records)
    assert [http.get("/hello").status_code for _ in range(3)] == [200, 200, 200]


def test_connections_beyond_the_slots_are_503() -> None:
    with running(max_connections=1, idle_timeout=1, busy_message="TEST busy") as server:
        host, port = server.server_address[:2]
        with socket.create_connection((str(host), port), timeout=10) as idle:
            time.sleep(0.3)  # accepted, holding the only slot
            status, headers, document = json_answer(raw_request(server.url, b"GET /hello HTTP/1.1\r\n\r\n"))
            assert (status, headers["retry-after"], headers["connection"]) == (503, "1", "close")
            assert document == {"code": 503, "message": "TEST busy"}
            # The idle connection is closed after the idle timeout, and its slot serves the next client.
            assert idle.recv(10) == b""
        with httpx.Client(base_url=server.url, timeout=10) as http:
            assert http.get("/hello").status_code == 200


def test_requests_are_logged_one_line_each(http: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER.name):
        http.get("/hello", params={"x": "1"})
        http.get("/nowhere")
    lines = [record.getMessage() for record in caplog.records if record.name == LOGGER.name]
    assert any('"GET /hello?x=1" 200' in line for line in lines)
    assert any('"GET /nowhere" 404' in line for line in lines)
    assert all("\n" not in line for line in lines)


def test_bind_errors_are_one_line_errors_with_hints() -> None:
    def make(address: tuple[str, int]) -> HttpServer:
        return HttpServer(address, router())

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UnavailableError, match="already in use") as in_use:
            bind_server("127.0.0.1", port, make)
    assert "another port" in in_use.value.hint
    with pytest.raises(UnavailableError, match=r"10\.1\.2\.3 is not an address of this machine") as not_here:
        bind_server("10.1.2.3", 0, make)
    assert "127.0.0.1" in not_here.value.hint
    with pytest.raises(InvalidInputError, match=r"cannot listen on 999\.1\.2\.3:0") as not_an_address:
        bind_server("999.1.2.3", 0, make)
    assert "--" not in not_an_address.value.hint  # the library names no CLI flag


def test_serve_until_stops_cleanly() -> None:
    server = HttpServer(("127.0.0.1", 0), router())
    stop, urls = threading.Event(), []
    thread = threading.Thread(target=serve_until, args=(server, stop), kwargs={"ready": urls.append})
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not urls and time.monotonic() < deadline:
            time.sleep(0.01)
        assert urls == [server.url]
        assert httpx.get(f"{server.url}/hello", timeout=10).status_code == 200
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{urls[0]}/hello", timeout=2)


def test_a_signal_sets_the_stop_event_and_the_old_handler_comes_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals() as stop:
        assert not stop.is_set()
        signal.raise_signal(signal.SIGTERM)
        assert stop.wait(5)
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_route_is_registered_once() -> None:
    routes = Router()
    routes.add("GET", "/a", lambda request: Response(204, b""))
    routes.add("POST", "/a/", lambda request: Response(204, b""))
    with pytest.raises(ValueError, match="routed twice"):
        routes.add("GET", "/a", lambda request: Response(204, b""))
    with pytest.raises(HttpError) as wrong:
        routes.resolve("PUT", "/a")
    assert (wrong.value.status, wrong.value.headers) == (405, {"Allow": "GET, POST"})


def _waiting() -> Future[str]:
    return WAITING.get(timeout=5)


def test_a_deferred_answer_does_not_hold_up_other_clients(server: HttpServer) -> None:
    with (
        httpx.Client(base_url=server.url, timeout=10) as waiter,
        httpx.Client(base_url=server.url, timeout=10) as other,
    ):
        answers: list[httpx.Response] = []
        thread = threading.Thread(target=lambda: answers.append(waiter.get("/wait")))
        thread.start()
        future = _waiting()
        assert other.get("/hello").status_code == 200  # served while /wait's answer is being made
        assert not answers
        future.set_result("made elsewhere")
        thread.join(10)
        assert answers[0].json() == {"value": "made elsewhere"}


def test_a_deferred_failure_is_answered_as_a_handler_failure(http: httpx.Client) -> None:
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(http.get("/wait")))
    thread.start()
    _waiting().set_exception(UnavailableError("the TEST log is stopping"))
    thread.join(10)
    assert (answers[0].status_code, answers[0].headers["retry-after"]) == (503, "1")


def test_pipelined_requests_are_answered_in_order(server: HttpServer) -> None:
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), port), timeout=10) as conn:
        conn.sendall(b"GET /wait HTTP/1.1\r\nHost: x\r\n\r\nGET /items/7 HTTP/1.1\r\nHost: x\r\n\r\n")
        _waiting().set_result("first")
        received = b""
        while received.count(b"HTTP/1.1 200") < 2:
            received += conn.recv(65536)
    assert received.index(b'"first"') < received.index(b'["7"]')


def test_a_pipelining_client_cannot_grow_the_buffer_while_its_answer_waits(server: HttpServer) -> None:
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), port), timeout=10) as conn:
        conn.sendall(b"GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
        future = _waiting()
        conn.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 5
        while sent < 16 * 1024 * 1024 and time.monotonic() < deadline:  # far more than the kernel buffers hold
            try:
                sent += conn.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n" * 256)
            except BlockingIOError:
                time.sleep(0.01)
        held = max(len(connection.buffer) for connection in server._connections)
        # one whole request at its caps, plus one read's worth (asyncio reads up to 256 KiB at a time: under load the
        # kernel holds that much by the time the loop reads, which a 64 KiB allowance made fail one run in a few)
        assert held < 2 * (2 * 65536 + LIMIT) + 256 * 1024
        assert sent < 16 * 1024 * 1024  # the client was made to wait (TCP flow control)
        future.set_result("done")
        conn.close()
