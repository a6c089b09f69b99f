"""``CountingProxy``: a loopback HTTP/1.1 proxy in front of a real server (the registry fixture) that counts what
clients send it: TCP connections (and how many carried HTTP), requests (method, path, status), and the most
requests in flight at once. Counting tests (issue 10, items 2 and 3) assert on it; nothing is answered by the proxy
itself: every request goes to the upstream server and its answer comes back unchanged but for hop-by-hop headers.

A client that tries TLS first (loopback registries: HTTPS, then plain HTTP) opens a connection that never carries
an HTTP request: it is counted in ``connections`` but not in ``http_connections``. ``delay`` holds each request
that long before it is forwarded, so that concurrent requests overlap and ``max_in_flight`` shows the client's cap.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

# RFC 9110 section 7.6.1: connection-specific headers are not forwarded.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
                         "upgrade"})


@dataclass(frozen=True)
class Seen:
    """One request as the proxy saw it, and the upstream's status."""

    method: str
    path: str
    status: int


class CountingProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream`` (``http://host:port``) and counts; a context manager."""

    def __init__(self, upstream: str, *, delay: float = 0.0) -> None:
        parts = urlsplit(upstream)
        assert parts.scheme == "http" and parts.hostname and parts.port, upstream
        self.upstream = (parts.hostname, parts.port)
        self.delay = delay
        self.requests: list[Seen] = []
        self.connections = 0
        self.http_connections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> CountingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> CountingProxy:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def clear(self) -> None:
        """Forget what was counted so far (after a test's set-up)."""
        with self._lock:
            self.requests.clear()
            self.connections = self.http_connections = self.max_in_flight = 0

    def count(self, method: str | None = None, path_part: str = "", status: int | None = None) -> int:
        """Requests of ``method`` whose path contains ``path_part`` (and answered ``status``), all when omitted."""
        with self._lock:
            return sum(1 for r in self.requests if (method is None or r.method == method)
                       and path_part in r.path and (status is None or r.status == status))

    @property
    def pings(self) -> int:
        """``GET /v2/`` requests: the API version check a client makes to learn the scheme and the challenge."""
        with self._lock:
            return sum(1 for r in self.requests if r.method == "GET" and r.path == "/v2/")

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self, seen: Seen) -> None:
        with self._lock:
            self.in_flight -= 1
            self.requests.append(seen)


def _handler(proxy: CountingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stalls
        _carried = False
        _upstream: http.client.HTTPConnection | None = None

        def setup(self) -> None:
            super().setup()
            with proxy._lock:
                proxy.connections += 1

        def finish(self) -> None:
            super().finish()
            if self._upstream is not None:
                self._upstream.close()

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _forward(self) -> None:
            if not self._carried:
                self._carried = True
                with proxy._lock:
                    proxy.http_connections += 1
            proxy._enter()
            status = 502
            try:
                body = self._body()
                if proxy.delay:
                    time.sleep(proxy.delay)
                if self._upstream is None:
                    self._upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                    self._upstream.connect()
                    self._upstream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                self._upstream.request(self.command, self.path, body=body, headers=headers)
                answer = self._upstream.getresponse()
                data = answer.read()
                status = answer.status
                self.send_response_only(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                length = answer.getheader("Content-Length")
                self.send_header("Content-Length", length if self.command == "HEAD" and length else str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
            finally:
                proxy._leave(Seen(self.command, self.path, status))

        def _body(self) -> bytes | None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while (size := int(self.rfile.readline().split(b";")[0], 16)) > 0:
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else None

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _forward

    return Handler
