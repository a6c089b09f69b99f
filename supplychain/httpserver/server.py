"""``HttpServer``: ``http.server`` with a thread per connection and HTTP/1.1 keep-alive, hardened for untrusted
clients, serving the routes of a ``route.Router``.

* At most ``max_connections`` connections are served at once; one beyond that is answered 503 with
  ``Retry-After`` and closed (clients retry), and a connection idle for ``idle_timeout`` seconds is closed.
* Request bodies come with ``Content-Length`` or ``Transfer-Encoding: chunked`` (RFC 9112 sections 6 and 7.1), both
  capped at ``max_body_bytes`` (413 above); both at once is refused (400), a body without either 411.
* Every answer is JSON, whatever goes wrong: ``HttpError`` raised by a handler is its status; an unknown path 404,
  a method a path does not take 405 with ``Allow`` (any method: ``PATCH`` or ``FOO`` alike); a malformed request
  line or header 400; another ``SupplyChainError`` 500 with its message; a bug 500, logged with its traceback, and
  the server keeps serving. A connection is never dropped without an answer while the client is still there.
* Every request is logged as one line on the server's logger, with the time taken.

``bind_server`` binds IPv4 or, for an IPv6 literal, IPv6, and turns bind failures into one-line errors with hints;
``serve_until`` serves until an event is set; ``stop_on_signals`` sets one on SIGTERM or SIGINT.
"""

from __future__ import annotations

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
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar
from urllib.parse import parse_qs, urlsplit

from supplychain.errors import InvalidInputError, SupplyChainError, UnavailableError
from supplychain.httpserver.route import HttpError, Request, Response, Router

MAX_BODY_BYTES = 128 * 1024
"""Default largest request body accepted (413 above it)."""

MAX_CONNECTIONS = 64
"""Default number of connections served at once (one thread each); more are answered 503 and closed."""

IDLE_TIMEOUT = 30
"""Default seconds a connection may stay silent (between requests, or within one) before it is closed."""

_DECIMAL = re.compile(r"[0-9]{1,19}", re.ASCII)
_CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,8}", re.ASCII)
_MAX_CHUNK_LINE = 1024
_MAX_TRAILERS = 64
_MAX_HEADER_LINE = 65536  # as http.client's _MAXLINE
_MAX_HEADERS = 100  # as http.client's _MAXHEADERS
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s"
)
S = TypeVar("S", bound="HttpServer")


class HttpServer(ThreadingHTTPServer):
    """The threaded server answering ``router``'s routes on ``address``: IPv6 for an IPv6 literal host, else IPv4.

    ``server_version`` is the ``Server`` header's product (``name/version``); ``busy_message`` the 503 answer's
    message; ``logger`` takes the request lines and errors."""

    daemon_threads = True
    allow_reuse_address = True
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
        if _is_ipv6(address[0]):
            self.address_family = socket.AF_INET6
        self.router = router
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.max_body_bytes = max_body_bytes
        self.logger = logger or logging.getLogger("supplychain.httpserver")
        self.server_version = server_version
        self.busy_message = busy_message
        self._slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, _ConnectionHandler)

    @property
    def url(self) -> str:
        """``http://host:port`` the server listens on (``http://[host]:port`` for IPv6)."""
        host, port = self.server_address[:2]
        text = str(host)
        return f"http://[{text}]:{port}" if ":" in text else f"http://{text}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection on a thread of its own, if one of the ``max_connections`` slots is free."""
        if not self._slots.acquire(blocking=False):
            self.logger.warning("%s: %d connections already open, answering 503", client_address[0],
                                self.max_connections)
            self._refuse(request)
            self.shutdown_request(request)
            return
        try:
            threading.Thread(target=self._serve_connection, args=(request, client_address), daemon=True).start()
        except BaseException:  # broad: the slot and the socket go back on any failure, an interrupt included
            self._slots.release()
            self.shutdown_request(request)
            raise

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _refuse(self, request: socket.socket) -> None:
        """Answer 503 on a connection there is no slot for, without waiting on the client for long."""
        payload = json.dumps({"code": 503, "message": self.busy_message}).encode()
        try:
            request.settimeout(0.2)
            with contextlib.suppress(OSError):
                request.recv(65536)  # the request, if it is there yet: unread data would turn the close into a reset
            request.sendall(_BUSY % (len(payload), payload))
        except OSError:
            pass

    def handle_error(self, request: object, client_address: object) -> None:
        # A bug while handling one connection: log it with its traceback, keep serving the others.
        self.logger.exception("unhandled error serving %s", client_address)


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


class _ConnectionHandler(BaseHTTPRequestHandler):
    """One connection: each request goes through the server's router; every answer is JSON."""

    server: HttpServer
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT  # replaced by the server's idle timeout in setup()
    disable_nagle_algorithm = True  # headers and body are two writes: without TCP_NODELAY, 40 ms delayed-ACK stalls
    _body_read = False
    raw_requestline: bytes  # http.server's, read before parse_request; typeshed omits it

    def setup(self) -> None:
        """Apply the server's idle timeout to this connection."""
        super().setup()
        self.connection.settimeout(self.server.idle_timeout)

    def version_string(self) -> str:
        """The ``Server`` header: the server's product and Python's version, as ``http.server`` writes it."""
        return f"{self.server.server_version} {self.sys_version}"

    if not TYPE_CHECKING:  # hidden from mypy, which would otherwise accept any attribute of the handler

        def __getattr__(self, name: str) -> Callable[[], None]:
            # http.server dispatches method M to do_M and answers an HTML 501 when there is none; every method
            # (GET, PUT, PATCH, HEAD, FOO...) goes through the router instead, which answers JSON 404 or 405.
            if name.startswith("do_") and len(name) > 3:
                return functools.partial(self._handle, name[3:])
            raise AttributeError(name)

    def parse_request(self) -> bool:
        """The request line and headers (``http.server``'s checks and answers), with a lean header reader: the
        stdlib's runs every head through the ``email`` parser, which cost a log append more than its commit did
        (issue 10, item 5). Header lines are ``name: value`` (RFC 9112 section 5); a line folded onto the one
        before (obs-fold) or without a colon is refused 400, as RFC 9112 5.1 and 5.2 allow, rather than guessed at.
        """
        self.command = None  # type: ignore[assignment]  # set in case of an error on the first line
        self.request_version = version = self.default_request_version
        self.close_connection = True
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = requestline
        words = requestline.split()
        if not words:
            return False
        if len(words) >= 3:  # enough to tell the protocol version
            version = words[-1]
            number = version[5:].split(".") if version.startswith("HTTP/") else []
            if len(number) != 2 or not all(part.isdigit() and len(part) <= 10 for part in number):
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request version ({version[:100]!r})")
                return False
            major_minor = int(number[0]), int(number[1])
            if major_minor >= (2, 0):
                self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Invalid HTTP version ({version[5:100]})")
                return False
            self.close_connection = major_minor < (1, 1)
            self.request_version = version
        if not 2 <= len(words) <= 3:
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({requestline[:200]!r})")
            return False
        command, path = words[:2]
        if len(words) == 2:
            self.close_connection = True
            if command != "GET":
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad HTTP/0.9 request type ({command[:20]!r})")
                return False
        # gh-87389 (as http.server): "//path" would read as a scheme-relative URL to clients; keep one slash.
        self.command, self.path = command, "/" + path.lstrip("/") if path.startswith("//") else path
        headers = http.client.HTTPMessage()
        for _ in range(_MAX_HEADERS + 1):
            line = self.rfile.readline(_MAX_HEADER_LINE + 1)
            if len(line) > _MAX_HEADER_LINE:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            name, colon, value = line.decode("iso-8859-1").partition(":")
            if not colon or not name or name != name.strip() or name[0] in " \t":
                self.send_error(HTTPStatus.BAD_REQUEST, f"Malformed header line ({line[:100]!r})")
                return False
            headers[name] = value.strip(" \t\r\n")
        else:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
            return False
        self.headers = headers
        connection = headers.get("Connection", "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        expects_continue = headers.get("Expect", "").lower() == "100-continue" and self.request_version >= "HTTP/1.1"
        return not expects_continue or self.handle_expect_100()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced: ``_handle`` logs one line per request, with the time taken."""

    def log_message(self, format: str, *args: Any) -> None:
        """http.server's own messages (bad request lines) go to the server's logger, not to raw stderr."""
        self.server.logger.warning("%s %s", self.address_string(), format % args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own error answers (a malformed request line or header, a request too long), as JSON
        rather than an HTML page."""
        self.log_error("code %d, message %s", code, message)
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # unparsed request line: answer with a status line and headers
            self.request_version = self.protocol_version
        self._send(Response.error(code, message or _phrase(code)), body=getattr(self, "command", None) != "HEAD")

    # -- dispatch ------------------------------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        started = time.perf_counter()
        self._body_read = False
        logger = self.server.logger
        try:
            response = self._dispatch(method)
        except HttpError as exc:
            response = Response.error(exc.status, exc.message, exc.headers)
        except UnavailableError as exc:  # the service cannot answer now (stopping, storage down): clients retry 503
            response = Response.error(503, exc.message, {"Retry-After": "1"})
        except SupplyChainError as exc:  # a failure of ours that is not the client's fault
            logger.error("%s %s: %s", method, self.path[:200], exc)
            response = Response.error(500, exc.message)
        except (TimeoutError, ConnectionError) as exc:  # the client stalled or left mid-request: nobody to answer
            logger.warning('%s "%s %s": connection lost while reading the request: %s', self.client_address[0],
                           method, self.path[:200], exc)
            self.close_connection = True
            return
        except Exception:  # a bug: answer 500 (and log it) rather than drop the connection
            logger.exception("%s %s: unhandled error", method, self.path[:200])
            self.close_connection = True
            response = Response.error(500, "internal server error (see the log's output)")
        if not self._body_read and not self.close_connection:
            self._discard_body()  # the next request on this connection starts after this one's body
        # Logged before the answer goes out, so that whoever reads the answer can also read the line.
        logger.info(
            '%s "%s %s" %d %d %.1fms',
            self.client_address[0], method, self.path[:200], response.status, len(response.body),
            (time.perf_counter() - started) * 1000,
        )
        try:
            self._send(response, body=method != "HEAD")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client hung up; what the handler did stands all the same

    def _dispatch(self, method: str) -> Response:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        handler, params = self.server.router.resolve(method, path)
        request = Request(method, path, parse_qs(parts.query, keep_blank_values=True), self.headers, params,
                          self.client_address[0], self._read_body)
        return handler(request)

    def _send(self, response: Response, *, body: bool = True) -> None:
        # The head built in one piece and written with the body in one send (http.server's send_header formats
        # and encodes each line, and end_headers would flush the head alone): one send, one wake-up of the client.
        lines = [
            f"{self.protocol_version} {response.status} {_phrase(response.status)}\r\n"
            f"Server: {self.version_string()}\r\nDate: {_http_date()}\r\n"
            f"Content-Type: {response.content_type}\r\nContent-Length: {len(response.body)}\r\n"
        ]
        lines += [f"{name}: {value}\r\n" for name, value in response.headers.items()]
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1", "strict")
        self.wfile.write(head + response.body if body else head)

    # -- request bodies ------------------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        """The request body, by ``Content-Length`` or chunked, at most the server's ``max_body_bytes`` (413 above)."""
        self._body_read = True
        limit = self.server.max_body_bytes
        length = self.headers.get("Content-Length")
        encoding = self.headers.get("Transfer-Encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            if encoding != "chunked":
                self.close_connection = True
                raise HttpError(501, f"transfer encoding {encoding[:40]!r} is not supported: send chunked or "
                                "Content-Length")
            if length is not None:  # RFC 9112 6.1: a request with both is a smuggling attempt or a broken proxy
                self.close_connection = True
                raise HttpError(400, "a request body cannot have both Content-Length and Transfer-Encoding")
            return self._read_chunked()
        if length is None or not _DECIMAL.fullmatch(length.strip()):
            self.close_connection = True
            raise HttpError(411, "a request body needs a Content-Length (or Transfer-Encoding: chunked)")
        size = int(length)
        if size > limit:
            self.close_connection = True  # the body stays unread: the connection cannot be reused
            raise HttpError(413, f"request body of {size} bytes is larger than the {limit}-byte limit")
        return self.rfile.read(size)

    def _read_chunked(self) -> bytes:
        """A ``Transfer-Encoding: chunked`` body (RFC 9112 section 7.1); chunk extensions and trailers ignored."""
        limit = self.server.max_body_bytes
        body = bytearray()
        while True:
            line = self.rfile.readline(_MAX_CHUNK_LINE)
            size_text = line.split(b";", 1)[0].strip()
            if not line.endswith(b"\n") or not _CHUNK_SIZE.fullmatch(size_text):
                self._bad_chunking("a chunk size line is malformed")
            size = int(size_text, 16)
            if size == 0:
                break
            if len(body) + size > limit:
                self.close_connection = True
                raise HttpError(413, f"the chunked request body is larger than the {limit}-byte limit")
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                self._bad_chunking("a chunk is truncated or not followed by CRLF")
            body += chunk
        for _ in range(_MAX_TRAILERS):
            line = self.rfile.readline(_MAX_CHUNK_LINE)
            if line in (b"\r\n", b"\n"):
                return bytes(body)
            if not line.endswith(b"\n"):
                break
        self._bad_chunking("the chunked body does not end")

    def _bad_chunking(self, problem: str) -> NoReturn:
        self.close_connection = True
        raise HttpError(400, f"malformed chunked request body: {problem}")

    def _discard_body(self) -> None:
        """Read and drop a body this request's answer does not need, so the connection can serve the next one."""
        if self._body_read:
            return
        self._body_read = True
        if self.headers.get("Transfer-Encoding", "").strip().lower() not in ("", "identity"):
            try:
                self._body_read = False
                self._read_body()
            except HttpError:
                self.close_connection = True
            return
        length = self.headers.get("Content-Length", "0").strip()
        limit = self.server.max_body_bytes
        size = int(length) if _DECIMAL.fullmatch(length) else limit + 1
        if size > limit:
            self.close_connection = True
        elif size:
            self.rfile.read(size)


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
