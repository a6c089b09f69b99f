"""``HttpServer``: an HTTP/1.1 server with keep-alive on one event loop (``asyncio`` protocols), hardened for
untrusted clients, serving the routes of a ``route.Router``.

* At most ``max_connections`` connections are served at once; one beyond that is answered 503 with
  ``Retry-After`` and closed (clients retry), and a connection idle for ``idle_timeout`` seconds (between requests,
  or within one) is closed. A connection whose answer is being made (``route.Deferred``) is not idle.
* Request bodies come with ``Content-Length`` or ``Transfer-Encoding: chunked`` (RFC 9112 sections 6 and 7.1), both
  capped at ``max_body_bytes`` (413 above); both at once is refused (400), a body without either 411. A head is at
  most ``_MAX_HEADERS`` lines of ``_MAX_HEADER_LINE`` bytes (431 above).
* Every answer is JSON, whatever goes wrong: ``HttpError`` raised by a handler is its status; an unknown path 404,
  a method a path does not take 405 with ``Allow`` (any method: ``PATCH`` or ``FOO`` alike); a malformed request
  line or header 400; another ``SupplyChainError`` 500 with its message; a bug 500, logged with its traceback, and
  the server keeps serving. A connection is never dropped without an answer while the client is still there.
* Every request is logged as one line on the server's logger, with the time taken.

One thread runs the loop: it reads, parses, runs the handlers and writes, so concurrent clients cost no thread
switches and no contention for the GIL between connection threads (issue 10, item 5: with a thread per connection,
eight clients of the local log spent more CPU handing the GIL around than serving). A handler must therefore not
block: one that waits for other work (the log's commit) returns a ``route.Deferred``, whose future another thread
completes, or the loop's own thread (work that joined the loop through the ``loop_started`` and ``loop_stopping``
hooks of a subclass: the local log's batches); its ``then`` makes the answer on the loop. Requests on one
connection are answered in order.

``bind_server`` binds IPv4 or, for an IPv6 literal, IPv6, and turns bind failures into one-line errors with hints;
``serve_until`` serves until an event is set; ``stop_on_signals`` sets one on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import email.utils
import errno
import functools
import http.client
import ipaddress
import json
import logging
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from supplychain.errors import InvalidInputError, SupplyChainError, UnavailableError
from supplychain.httpserver.route import Deferred, HttpError, Request, Response, Router

MAX_BODY_BYTES = 128 * 1024
"""Default largest request body accepted (413 above it)."""

MAX_CONNECTIONS = 64
"""Default number of connections served at once; more are answered 503 and closed."""

IDLE_TIMEOUT = 30
"""Default seconds a connection may stay silent (between requests, or within one) before it is closed."""

_DECIMAL = re.compile(r"[0-9]{1,19}", re.ASCII)
_CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,8}", re.ASCII)
_MAX_CHUNK_LINE = 1024
_MAX_TRAILERS = 64
_MAX_HEADER_LINE = 65536  # as http.client's _MAXLINE
_MAX_HEADERS = 100  # as http.client's _MAXHEADERS
_MAX_HEAD = _MAX_HEADER_LINE * 2  # the request line and every header line together
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_SYS_VERSION = "Python/" + sys.version.split()[0]
_TOKEN_START = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_NO_BODY = object()  # a request without Content-Length or Transfer-Encoding
S = TypeVar("S", bound="HttpServer")


class HttpServer:
    """The server answering ``router``'s routes on ``address``: IPv6 for an IPv6 literal host, else IPv4. Bound and
    listening once made; ``serve_forever`` serves (on the calling thread) until ``shutdown``; ``server_close``
    closes the socket.

    ``server_version`` is the ``Server`` header's product (``name/version``); ``busy_message`` the 503 answer's
    message; ``logger`` takes the request lines and errors."""

    request_queue_size = 256

    def __init__(
        self,
        address: tuple[str, int],
        router: Router,
        *,
        max_connections: int = MAX_CONNECTIONS,
        idle_timeout: float = IDLE_TIMEOUT,
        max_body_bytes: int = MAX_BODY_BYTES,
        logger: logging.Logger | None = None,
        server_version: str = "supplychain",
        busy_message: str = "the server is serving too many connections; retry",
    ) -> None:
        family = socket.AF_INET6 if _is_ipv6(address[0]) else socket.AF_INET
        self.router = router
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.max_body_bytes = max_body_bytes
        self.logger = logger or logging.getLogger("supplychain.httpserver")
        self.server_version = server_version
        self.busy_message = busy_message
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind(address)
            self.socket.listen(self.request_queue_size)
            self.socket.setblocking(False)
        except BaseException:  # broad: the socket is closed on any failure, an interrupt included; re-raised
            self.socket.close()
            raise
        self.server_address: tuple[Any, ...] = self.socket.getsockname()
        self._connections: set[_Connection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stop_requested = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        self.loop_thread = 0
        """The thread running the server's loop (``threading.get_ident``), once it runs."""

    @property
    def url(self) -> str:
        """``http://host:port`` the server listens on (``http://[host]:port`` for IPv6)."""
        host, port = self.server_address[:2]
        text = str(host)
        return f"http://[{text}]:{port}" if ":" in text else f"http://{text}:{port}"

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve on this thread until ``shutdown``; then answer what is in flight (for at most ``idle_timeout``
        seconds), close every connection and return. ``poll_interval``: how often idle connections are looked for
        (at most; also every quarter of the idle timeout)."""
        self._stopped.clear()
        try:
            if not self._stop_requested.is_set():
                asyncio.run(self._serve(min(poll_interval, max(0.01, self.idle_timeout / 4))))
        finally:
            self._stop_requested.clear()
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop ``serve_forever`` (from another thread) and wait until it has returned."""
        self._stop_requested.set()
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed already
                loop.call_soon_threadsafe(stop.set)
        self._stopped.wait()

    def server_close(self) -> None:
        """Close the listening socket."""
        self.socket.close()

    async def _serve(self, sweep_every: float) -> None:
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._loop = loop
        if self._stop_requested.is_set():  # shutdown came before the loop was there to be told
            return
        server = await loop.create_server(lambda: _Connection(self), sock=self.socket, backlog=self.request_queue_size)
        self.loop_thread = threading.get_ident()
        self.loop_started(loop)
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), sweep_every)
                if self._stop.is_set():
                    break
                now = time.monotonic()
                for connection in list(self._connections):
                    connection.check_idle(now)
        finally:
            server.close()  # no new connections; the listening socket itself is server_close's
            await self._finish_in_flight()
            await self.loop_stopping()
            self._loop = None

    def loop_started(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called on the server's loop once it listens (for a subclass whose handlers' work joins the loop)."""

    async def loop_stopping(self) -> None:
        """Awaited on the server's loop once it has stopped listening and the answers in flight are out."""

    async def _finish_in_flight(self) -> None:
        """Let the answers being made go out (the work behind them stands either way), then close every connection."""
        deadline = time.monotonic() + self.idle_timeout
        while any(connection.busy for connection in self._connections) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for connection in list(self._connections):
            connection.close()
        await asyncio.sleep(0)

    # -- what connections call -----------------------------------------------------------------------------------

    def busy_answer(self) -> bytes:
        payload = json.dumps({"code": 503, "message": self.busy_message}).encode()
        return (
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload)
        )


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


class _Head:
    """A parsed request head."""

    __slots__ = ("close", "command", "headers", "path", "version")

    def __init__(self, command: str, path: str, version: str, headers: http.client.HTTPMessage, close: bool) -> None:
        self.command, self.path, self.version, self.headers, self.close = command, path, version, headers, close


class _Refused(Exception):
    """A request that cannot be parsed: answered ``status`` and the connection closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Connection(asyncio.Protocol):
    """One client connection: requests parsed from what arrives, answered in order, one at a time."""

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.client = "-"
        self.buffer = bytearray()
        self.head: _Head | None = None  # the request whose body is awaited
        self.answering = False  # a handler's answer is being made (Deferred): nothing else is read meanwhile
        self.continued = False  # 100 Continue sent for the current request
        self.closing = False
        self.refusing = False
        self.last_seen = time.monotonic()
        self.paused = False  # the client does not read its answers (asyncio's write high-water mark): read no more
        self.held = False  # reading paused while an answer is deferred and a whole next request is buffered
        self.eof = False

    @property
    def busy(self) -> bool:
        return self.answering

    # -- asyncio.Protocol ----------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.client = str(peer[0]) if peer else "-"
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # headers and body are one write, but a client's request may be several: no 40 ms delayed-ACK stalls
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connections = self.server._connections
        if len(connections) >= self.server.max_connections:
            self.server.logger.warning("%s: %d connections already open, answering 503", self.client,
                                       self.server.max_connections)
            # Answered once its request is read (unread data would turn the close into a reset), or in 0.2 s.
            self.refusing = True
            asyncio.get_running_loop().call_later(0.2, self._refuse)
            return
        connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.last_seen = time.monotonic()
        if self.refusing:
            self._refuse()
            return
        if self.closing:
            return
        self.buffer += data
        self._advance()
        if self.answering and not self.held and len(self.buffer) > _MAX_HEAD + self.server.max_body_bytes:
            # A pipelining client whose answer is deferred: nothing is parsed meanwhile, so without this the buffer
            # would grow with whatever it sends. One whole request (head and body at their caps) is kept; the rest
            # waits in the kernel (TCP flow control) until the answer has gone out.
            self.held = True
            if self.transport is not None:
                self.transport.pause_reading()

    def eof_received(self) -> bool | None:
        if self.head is not None or (self.buffer and not self.answering):
            self.server.logger.warning('%s "%s": connection lost while reading the request', self.client,
                                       self._shown_request())
        self.eof = True
        if not self.answering:
            self.close()
        return True  # half-closed: a pending answer still goes out, then the connection closes

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server._connections.discard(self)

    def pause_writing(self) -> None:
        self.paused = True
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.paused = False
        if self.transport is not None and not self.closing and not self.held:
            self.transport.resume_reading()
            self._advance()

    # -- housekeeping --------------------------------------------------------------------------------------------

    def check_idle(self, now: float) -> None:
        if not self.answering and now - self.last_seen > self.server.idle_timeout:
            if self.head is not None or self.buffer:
                self.server.logger.warning('%s "%s": connection lost while reading the request: timed out',
                                           self.client, self._shown_request())
            self.close()

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    def _refuse(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(self.server.busy_answer())
            self.transport.close()

    def _shown_request(self) -> str:
        if self.head is not None:
            return f"{self.head.command} {self.head.path[:200]}"
        return bytes(self.buffer[: self.buffer.find(b"\n")]).decode("latin-1")[:200].strip()

    # -- requests ------------------------------------------------------------------------------------------------

    def _advance(self) -> None:
        """Parse and answer the requests in the buffer, in order, until one is incomplete or being answered."""
        while not (self.answering or self.closing or self.paused):
            if self.head is None:
                try:
                    head = self._parse_head()
                except _Refused as refused:
                    self.closing = True
                    self._write_error(refused.status, refused.message, command=None)
                    return
                if head is None:
                    return
                self.head, self.continued = head, False
            body = self._take_body(self.head)
            if body is None:
                return
            head, self.head = self.head, None
            self._dispatch(head, body)

    def _parse_head(self) -> _Head | None:
        """The next request head, if it is all there (``_Refused`` for a malformed one); skips blank lines before a
        request line (RFC 9112 2.2)."""
        buffer = self.buffer
        while buffer[:2] == b"\r\n" or buffer[:1] == b"\n":
            del buffer[: 2 if buffer[:1] == b"\r" else 1]
        if buffer and buffer[0] not in _TOKEN_START:
            # Not a method (RFC 9110 5.6.2 token): e.g. a TLS ClientHello sent to this plain-HTTP port. Answered at
            # once, so that the client sees a reply it can report, rather than waiting for a head that never ends.
            raise _Refused(400, f"Bad request syntax ({bytes(buffer[:20])!r})")
        end = buffer.find(b"\r\n\r\n")
        size = 4
        if end < 0:
            end, size = buffer.find(b"\n\n"), 2
        if end < 0:
            if len(buffer) > _MAX_HEAD:
                raise _Refused(431, "Request header fields too large")
            if buffer.find(b"\n") < 0 and len(buffer) > _MAX_HEADER_LINE:
                raise _Refused(414, "Request line too long")
            return None
        text = bytes(buffer[:end]).decode("iso-8859-1")
        del buffer[: end + size]
        lines = text.split("\n")
        requestline = lines[0].rstrip("\r")
        words = requestline.split()
        if len(words) >= 3:
            version = words[-1]
            number = version[5:].split(".") if version.startswith("HTTP/") else []
            if len(number) != 2 or not all(part.isdigit() and len(part) <= 10 for part in number):
                raise _Refused(400, f"Bad request version ({version[:100]!r})")
            major_minor = int(number[0]), int(number[1])
            if major_minor >= (2, 0):
                raise _Refused(505, f"Invalid HTTP version ({version[5:100]})")
            close = major_minor < (1, 1)
        else:
            version, close = "HTTP/0.9", True
        if not 2 <= len(words) <= 3:
            raise _Refused(400, f"Bad request syntax ({requestline[:200]!r})")
        if len(words) == 2 and words[0] != "GET":
            raise _Refused(400, f"Bad HTTP/0.9 request type ({words[0][:20]!r})")
        command, path = words[0], words[1]
        # gh-87389 (as http.server): "//path" would read as a scheme-relative URL to clients; keep one slash.
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
        if len(lines) > _MAX_HEADERS + 1:
            raise _Refused(431, "Too many headers")
        headers = http.client.HTTPMessage()
        for raw in lines[1:]:
            line = raw.rstrip("\r")
            if len(line) > _MAX_HEADER_LINE:
                raise _Refused(431, "Line too long")
            # RFC 9112 5.1 and 5.2: no space before the colon, no obs-fold; refused rather than guessed at.
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip() or name[0] in " \t":
                raise _Refused(400, f"Malformed header line ({line[:100]!r})")
            headers[name] = value.strip(" \t")
        connection = headers.get("Connection", "").lower()
        if connection == "close":
            close = True
        elif connection == "keep-alive":
            close = False
        return _Head(command, path, version, headers, close)

    def _take_body(self, head: _Head) -> bytes | HttpError | object | None:
        """The request's body once it is all in the buffer (taken out of it); an ``HttpError`` when the body cannot
        be read (answered when the handler asks for the body, and the connection then closes); None for more."""
        limit = self.server.max_body_bytes
        headers = head.headers
        length = headers.get("Content-Length")
        encoding = headers.get("Transfer-Encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            if encoding != "chunked":
                return HttpError(501, f"transfer encoding {encoding[:40]!r} is not supported: send chunked or "
                                 "Content-Length")
            if length is not None:  # RFC 9112 6.1: a request with both is a smuggling attempt or a broken proxy
                return HttpError(400, "a request body cannot have both Content-Length and Transfer-Encoding")
            return self._take_chunked(head)
        if length is None:
            return _NO_BODY  # none by RFC 9112 6.3; a handler that asks for one is answered 411
        if not _DECIMAL.fullmatch(length.strip()):
            return HttpError(411, "a request body needs a Content-Length (or Transfer-Encoding: chunked)")
        size = int(length)
        if size > limit:  # the body stays unread: the connection cannot be reused
            return HttpError(413, f"request body of {size} bytes is larger than the {limit}-byte limit")
        if len(self.buffer) < size:
            self._continue(head)
            return None
        body = bytes(self.buffer[:size])
        del self.buffer[:size]
        return body

    def _take_chunked(self, head: _Head) -> bytes | HttpError | None:
        """A ``Transfer-Encoding: chunked`` body (RFC 9112 section 7.1), chunk extensions and trailers ignored, once
        all of it is in the buffer."""
        limit = self.server.max_body_bytes
        buffer = self.buffer
        body = bytearray()
        at = 0
        while True:
            eol = buffer.find(b"\n", at, at + _MAX_CHUNK_LINE)
            if eol < 0:
                if len(buffer) - at >= _MAX_CHUNK_LINE:
                    return HttpError(400, "malformed chunked request body: a chunk size line is malformed")
                self._continue(head)
                return None
            size_text = bytes(buffer[at:eol]).split(b";", 1)[0].strip()
            if not _CHUNK_SIZE.fullmatch(size_text):
                return HttpError(400, "malformed chunked request body: a chunk size line is malformed")
            size = int(size_text, 16)
            at = eol + 1
            if size == 0:
                break
            if len(body) + size > limit:
                return HttpError(413, f"the chunked request body is larger than the {limit}-byte limit")
            end = at + size
            if len(buffer) < end + 2 and bytes(buffer[end : end + 1]) in (b"", b"\r"):
                self._continue(head)
                return None  # the chunk, or its CRLF, is still on its way
            if buffer[end : end + 2] == b"\r\n":
                after = end + 2
            elif buffer[end : end + 1] == b"\n":
                after = end + 1
            else:
                return HttpError(400, "malformed chunked request body: a chunk is truncated or not followed by CRLF")
            body += buffer[at:end]
            at = after
        for _ in range(_MAX_TRAILERS):
            eol = buffer.find(b"\n", at, at + _MAX_CHUNK_LINE)
            if eol < 0:
                if len(buffer) - at >= _MAX_CHUNK_LINE:
                    break
                return None
            line = bytes(buffer[at : eol + 1])
            at = eol + 1
            if line in (b"\r\n", b"\n"):
                del buffer[:at]
                return bytes(body)
        return HttpError(400, "malformed chunked request body: the chunked body does not end")

    def _continue(self, head: _Head) -> None:
        """Expect: 100-continue (RFC 9110 10.1.1): the client waits for this before it sends the body."""
        if (not self.continued and head.version >= "HTTP/1.1"
                and head.headers.get("Expect", "").lower() == "100-continue" and self.transport is not None):
            self.continued = True
            self.transport.write(_CONTINUE)

    def _dispatch(self, head: _Head, body: bytes | HttpError | object) -> None:
        started = time.perf_counter()
        server = self.server
        if isinstance(body, HttpError):
            self.closing = True  # the body was not read, or not all of it: the connection cannot be reused
            error = body

            def read_body() -> bytes:
                raise error
        elif body is _NO_BODY:

            def read_body() -> bytes:
                self.closing = True
                raise HttpError(411, "a request body needs a Content-Length (or Transfer-Encoding: chunked)")
        else:
            assert isinstance(body, bytes)
            data = body

            def read_body() -> bytes:
                return data

        if head.close:
            self.closing = True
        try:
            parts = urlsplit(head.path)
            path = parts.path.rstrip("/") or "/"
            handler, params = server.router.resolve(head.command, path)
            request = Request(head.command, path, parse_qs(parts.query, keep_blank_values=True), head.headers,
                              params, self.client, read_body)
            answer = handler(request)
        except BaseException as exc:  # noqa: BLE001 - every failure of a handler is an answer (_answer_for)
            self._finish(head, started, self._answer_for(head, exc))
            return
        if isinstance(answer, Deferred):
            self.answering = True
            loop = asyncio.get_running_loop()

            def done(future: concurrent.futures.Future[Any]) -> None:
                # Done on the loop's own thread (work that joined the loop): no wake-up through its self-pipe.
                schedule = loop.call_soon if threading.get_ident() == server.loop_thread else loop.call_soon_threadsafe
                schedule(self._deferred_done, head, started, answer, future)

            answer.future.add_done_callback(done)
            return
        self._finish(head, started, answer)

    def _deferred_done(self, head: _Head, started: float, deferred: Deferred,
                       future: concurrent.futures.Future[Any]) -> None:
        self.answering = False
        self.last_seen = time.monotonic()
        if self.held:
            self.held = False
            if self.transport is not None and not self.paused and not self.closing:
                self.transport.resume_reading()
        try:
            response = deferred.then(future.result())
        except BaseException as exc:  # noqa: BLE001 - as in _dispatch
            response = self._answer_for(head, exc)
        self._finish(head, started, response)
        if not self.closing:
            self._advance()
        if self.eof and not self.answering:
            self.close()

    def _answer_for(self, head: _Head, exc: BaseException) -> Response:
        """The answer to a handler's failure (see the module docstring)."""
        logger = self.server.logger
        if isinstance(exc, HttpError):
            return Response.error(exc.status, exc.message, exc.headers)
        if isinstance(exc, UnavailableError):  # the service cannot answer now (stopping, storage down): clients retry
            return Response.error(503, exc.message, {"Retry-After": "1"})
        if isinstance(exc, SupplyChainError):  # a failure of ours that is not the client's fault
            logger.error("%s %s: %s", head.command, head.path[:200], exc)
            return Response.error(500, exc.message)
        if not isinstance(exc, Exception):
            raise exc
        # a bug: answer 500 (and log it) rather than drop the connection
        logger.error("%s %s: unhandled error", head.command, head.path[:200], exc_info=exc)
        self.closing = True
        return Response.error(500, "internal server error (see the log's output)")

    def _finish(self, head: _Head, started: float, response: Response) -> None:
        # Logged before the answer goes out, so that whoever reads the answer can also read the line.
        self.server.logger.info(
            '%s "%s %s" %d %d %.1fms',
            self.client, head.command, head.path[:200], response.status, len(response.body),
            (time.perf_counter() - started) * 1000,
        )
        self._write(response, body=head.command != "HEAD", version=head.version)

    def _write_error(self, status: int, message: str, *, command: str | None) -> None:
        self.server.logger.warning("%s code %d, message %s", self.client, status, message)
        self._write(Response.error(status, message), body=command != "HEAD", version="HTTP/1.1")

    def _write(self, response: Response, *, body: bool, version: str) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return  # the client hung up; what the handler did stands all the same
        # The head built in one piece and written with the body: one send, one wake-up of the client.
        lines = [
            f"HTTP/1.1 {response.status} {_phrase(response.status)}\r\n"
            f"Server: {self.server.server_version} {_SYS_VERSION}\r\nDate: {_http_date()}\r\n"
            f"Content-Type: {response.content_type}\r\nContent-Length: {len(response.body)}\r\n"
        ]
        lines += [f"{name}: {value}\r\n" for name, value in response.headers.items()]
        if self.closing:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        data = "".join(lines).encode("latin-1", "strict")
        transport.write(data + response.body if body else data)
        if self.closing:
            transport.close()  # after the answer is written out


@functools.cache
def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "error"


_date_cache: list[tuple[int, str]] = [(0, "")]


def _http_date() -> str:
    """The ``Date`` header's value (RFC 9110 5.6.7), formatted once per second."""
    now = int(time.time())
    second, text = _date_cache[0]
    if second != now:
        text = email.utils.formatdate(now, usegmt=True)
        _date_cache[0] = (now, text)
    return text


# -- binding, serving, stopping ----------------------------------------------------------------------------------


def bind_server(host: str, port: int, make: Callable[[tuple[str, int]], S]) -> S:
    """``make((host, port))``, the server bound to ``host:port`` (an IPv4 or IPv6 literal, or a name; port 0: any
    free port), with its bind failures as one-line errors.

    Raise ``InvalidInputError`` for a host that is not an address of any kind, ``UnavailableError`` for an address
    in use, not on this machine, or not allowed.
    """
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        return make((host, port))
    except socket.gaierror as exc:
        if exc.errno in (socket.EAI_AGAIN, getattr(socket, "EAI_SYSTEM", None)):
            raise UnavailableError(f"cannot listen on {where}: cannot resolve {host}: {exc.strerror}",
                                   hint="check the name service, or listen on an IP address") from exc
        if exc.errno == getattr(socket, "EAI_ADDRFAMILY", None):
            problem = f"{host} has no IPv4 address (IPv6 is served for an IPv6 address in brackets only)"
        else:
            problem = f"cannot resolve {host} ({exc.strerror})"
        raise InvalidInputError(
            f"cannot listen on {where}: {problem}",
            hint="listen on HOST:PORT with an IP address or a resolvable name, e.g. 127.0.0.1:3000 or [::1]:3000",
        ) from exc
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UnavailableError(
                f"cannot listen on {where}: the address is already in use",
                hint="stop what listens there, or choose another port (port 0 picks a free one)",
            ) from exc
        if exc.errno == errno.EADDRNOTAVAIL:
            raise UnavailableError(
                f"cannot listen on {where}: {host} is not an address of this machine",
                hint="listen on one of this machine's addresses: 127.0.0.1 or [::1] for this machine only, 0.0.0.0 "
                "or [::] for every interface",
            ) from exc
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise UnavailableError(
                f"cannot listen on {where}: permission denied",
                hint="ports below 1024 need privileges: choose a port above 1023",
            ) from exc
        if exc.errno == errno.EAFNOSUPPORT:
            raise UnavailableError(f"cannot listen on {where}: this machine does not support IPv6",
                                   hint="listen on an IPv4 address, e.g. 127.0.0.1") from exc
        raise UnavailableError(
            f"cannot listen on {where}: {exc.strerror or exc}",
            hint="listen on an address of this machine and a free port, e.g. 127.0.0.1:3000",
        ) from exc


def serve_until(
    server: HttpServer, stop: threading.Event, *, ready: Callable[[str], None] | None = None, name: str = "http"
) -> None:
    """Serve on a thread named ``name`` until ``stop`` is set, then stop listening, let the requests in flight
    finish their answers, and close the socket. ``ready(url)`` is called once the server serves."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name=name)
    thread.start()
    try:
        if ready is not None:
            ready(server.url)
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@contextlib.contextmanager
def stop_on_signals(signals: Iterable[int] = (signal.SIGTERM, signal.SIGINT)) -> Iterator[threading.Event]:
    """An event set when one of ``signals`` arrives (instead of the default: SIGINT's ``KeyboardInterrupt``, or
    SIGTERM's death), for ``serve_until``: a server asked to stop stops cleanly. The previous handlers come back on
    exit. Only the main thread may install signal handlers."""
    stop = threading.Event()
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in signals}
    try:
        yield stop
    finally:
        for number, action in previous.items():
            signal.signal(number, action)


__all__ = ["IDLE_TIMEOUT", "MAX_BODY_BYTES", "MAX_CONNECTIONS", "HttpServer", "bind_server", "serve_until",
           "stop_on_signals"]
