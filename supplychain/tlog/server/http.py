"""The local log's HTTP API: the Rekor v1 REST subset that cosign, sigstore clients and ``RekorClient`` use.

Same paths, JSON shapes and status codes as Rekor (``openapi.yaml``):

=======================================  ==========================================================================
``POST /api/v1/log/entries``             201 + ``LogEntry`` map, ``ETag``/``Location``; 400 invalid; 409 duplicate
                                         (``Location`` of the existing entry); 413 over ``MAX_BODY_BYTES``
``GET /api/v1/log/entries?logIndex=N``   200 ``LogEntry``; 400 not a non-negative int64; 404 not in the log
``GET /api/v1/log/entries/{uuid}``       200 ``LogEntry`` (64 hex, or 80 with this log's tree ID); 404
``POST /api/v1/log/entries/retrieve``    ``{entryUUIDs, logIndexes, entries}`` to a list of ``LogEntry`` maps
``POST /api/v1/index/retrieve``          ``{hash | publicKey, operator}`` to a list of UUIDs
``GET /api/v1/log``                      ``{rootHash, treeSize, signedTreeHead, treeID}``
``GET /api/v1/log/proof``                ``?firstSize=&lastSize=`` to ``{rootHash, hashes}``; 400 unless
                                         ``1 <= firstSize <= lastSize <= treeSize``
``GET /api/v1/log/publicKey``            the PEM key (``application/x-pem-file``)
``GET /api/v1/version``                  ``{version, commit, treestate, builddate}``
=======================================  ==========================================================================

Errors are Rekor's ``{"code": <status>, "message": "..."}``, for every status this server gives: a method a path does
not take (any method, ``PATCH`` or ``FOO`` alike) is 405 with ``Allow``; a malformed request line or header is 400;
a bug while answering is 500 (logged with its traceback), never a dropped connection. Request bodies come with
``Content-Length`` or ``Transfer-Encoding: chunked``, both capped at ``MAX_BODY_BYTES``. Every request is logged as
one line on the ``supplychain.tlog.server`` logger.

``http.server`` with a thread per connection and HTTP/1.1 keep-alive, bounded: at most ``max_connections``
connections are served at once (a connection beyond that is answered 503 with ``Retry-After`` and closed, which
Rekor clients retry), and a connection idle for ``IDLE_TIMEOUT`` seconds is closed. ``open_server`` binds IPv4 or,
for an IPv6 literal, IPv6, and turns bind failures into one-line errors.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import functools
import ipaddress
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import parse_qs, urlsplit

from supplychain import __version__
from supplychain.errors import InvalidInputError, SupplyChainError, UnavailableError
from supplychain.formats.rekor import EntryKindError
from supplychain.formats.strictjson import NestingError, loads_untrusted
from supplychain.tlog.evidence import EntryUuidError, RekorEntry
from supplychain.tlog.kind import canonicalize, public_key_index
from supplychain.tlog.merkle import TreeRangeError, hash_leaf
from supplychain.tlog.pki import VerifierKey
from supplychain.tlog.server.log import Appended, LocalLog, LogClosedError
from supplychain.tlog.server.storage import CorruptEntryError, LogStorageError

logger = logging.getLogger("supplychain.tlog.server")

MAX_BODY_BYTES = 128 * 1024
"""Largest request body accepted (413 above it), as Rekor caps entries."""

MAX_CONNECTIONS = 64
"""Connections served at once (one thread each); more are answered 503 and closed."""

IDLE_TIMEOUT = 30
"""Seconds a connection may stay silent (between requests, or within one) before it is closed."""

MAX_SEARCH_RESULTS = 10_000
MAX_RETRIEVE_ITEMS = 10  # entries per /log/entries/retrieve query, as Rekor's default search limit
_MAX_INT64 = 2**63 - 1
_DECIMAL = re.compile(r"[0-9]{1,19}", re.ASCII)
_ENTRY_PATH = re.compile(r"/api/v1/log/entries/([0-9a-fA-F]+)", re.ASCII)
_HASH = re.compile(r"(?:(sha256|sha384|sha512|sha1):)?([0-9a-f]+)", re.ASCII)
_PEM = "application/x-pem-file"
_HASH_LENGTHS = {"sha1": 40, "sha256": 64, "sha384": 96, "sha512": 128}
_CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,8}", re.ASCII)
_MAX_CHUNK_LINE = 1024
_MAX_TRAILERS = 64
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s"
)


class ApiError(SupplyChainError):
    """An error answer: HTTP ``status`` and Rekor's ``{"code", "message"}`` body."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


class RekorHttpServer(ThreadingHTTPServer):
    """The threaded server bound to one ``LocalLog``: IPv6 for an IPv6 literal host, else IPv4."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(
        self,
        address: tuple[str, int],
        log: LocalLog,
        *,
        max_connections: int = MAX_CONNECTIONS,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        if _is_ipv6(address[0]):
            self.address_family = socket.AF_INET6
        self.log = log
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self._slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, RekorRequestHandler)

    @property
    def url(self) -> str:
        """``http://host:port`` the server listens on (``http://[host]:port`` for IPv6)."""
        host, port = self.server_address[:2]
        text = str(host)
        return f"http://[{text}]:{port}" if ":" in text else f"http://{text}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection on a thread of its own, if one of the ``max_connections`` slots is free."""
        if not self._slots.acquire(blocking=False):
            logger.warning("%s: %d connections already open, answering 503", client_address[0], self.max_connections)
            _refuse(request)
            self.shutdown_request(request)
            return
        try:
            threading.Thread(target=self._serve_connection, args=(request, client_address), daemon=True).start()
        except BaseException:
            self._slots.release()
            self.shutdown_request(request)
            raise

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: object, client_address: object) -> None:
        # A bug while handling one connection: log it with its traceback, keep serving the others.
        logger.exception("unhandled error serving %s", client_address)


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


def _refuse(request: socket.socket) -> None:
    """Answer 503 on a connection the server has no slot for, without waiting on the client for long."""
    payload = json.dumps({"code": 503, "message": "the log is serving too many connections; retry"}).encode()
    try:
        request.settimeout(0.2)
        with contextlib.suppress(OSError):
            request.recv(65536)  # the request, if it is there yet: unread data would turn the close into a reset
        request.sendall(_BUSY % (len(payload), payload))
    except OSError:
        pass


class RekorRequestHandler(BaseHTTPRequestHandler):
    """One connection: dispatches Rekor v1 API requests to the server's ``LocalLog``."""

    server: RekorHttpServer
    protocol_version = "HTTP/1.1"
    server_version = f"supplychain-tlog/{__version__}"
    timeout = IDLE_TIMEOUT  # a connection silent this long (idle keep-alive, or a stalled request) is closed
    disable_nagle_algorithm = True  # headers and body are two writes: without TCP_NODELAY, 40 ms delayed-ACK stalls
    _body_read = False

    def setup(self) -> None:
        """Apply the server's idle timeout to this connection."""
        super().setup()
        self.connection.settimeout(self.server.idle_timeout)

    def do_GET(self) -> None:
        """Dispatch a GET."""
        self._handle("GET")

    def do_POST(self) -> None:
        """Dispatch a POST."""
        self._handle("POST")

    if not TYPE_CHECKING:  # hidden from mypy, which would otherwise accept any attribute of the handler

        def __getattr__(self, name: str) -> Callable[[], None]:
            # http.server dispatches method M to do_M and answers an HTML 501 when there is none; every other
            # method (PUT, DELETE, PATCH, HEAD, FOO...) goes through the router, which answers JSON 404 or 405.
            if name.startswith("do_") and len(name) > 3:
                return functools.partial(self._handle, name[3:])
            raise AttributeError(name)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced: ``_handle`` logs one line per request, with the time taken."""

    def log_message(self, format: str, *args: Any) -> None:
        """http.server's own messages (bad request lines) go to the log, not to raw stderr."""
        logger.warning("%s %s", self.address_string(), format % args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own error answers (a malformed request line or header, a request too long), as Rekor's
        JSON rather than an HTML page."""
        self.log_error("code %d, message %s", code, message)
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # unparsed request line: answer with a status line and headers
            self.request_version = self.protocol_version
        status, payload, content_type, headers = _error(code, message or _phrase(code))
        self._send(status, payload, content_type, headers, body=getattr(self, "command", None) != "HEAD")

    # -- dispatch ------------------------------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        started = time.perf_counter()
        self._body_read = False
        try:
            status, payload, content_type, headers = self._route(method)
        except ApiError as exc:
            status, payload, content_type, headers = _error(exc.status, exc.message, exc.headers)
        except CorruptEntryError as exc:  # refuse to serve it, and say so in the server's log
            logger.error("%s %s: %s", method, self.path[:200], exc)
            status, payload, content_type, headers = _error(500, exc.message)
        except (LogClosedError, LogStorageError) as exc:
            status, payload, content_type, headers = _error(503, exc.message, {"Retry-After": "1"})
        except SupplyChainError as exc:  # a failure of ours that is not the client's fault
            logger.error("%s %s: %s", method, self.path[:200], exc)
            status, payload, content_type, headers = _error(500, exc.message)
        except (TimeoutError, ConnectionError) as exc:  # the client stalled or left mid-request: nobody to answer
            logger.warning('%s "%s %s": connection lost while reading the request: %s', self.client_address[0],
                           method, self.path[:200], exc)
            self.close_connection = True
            return
        except Exception:  # a bug: answer 500 (and log it) rather than drop the connection
            logger.exception("%s %s: unhandled error", method, self.path[:200])
            self.close_connection = True
            status, payload, content_type, headers = _error(500, "internal server error (see the log's output)")
        if not self._body_read and not self.close_connection:
            self._discard_body()  # the next request on this connection starts after this one's body
        # Logged before the answer goes out, so that whoever reads the answer can also read the line.
        logger.info(
            '%s "%s %s" %d %d %.1fms',
            self.client_address[0], method, self.path[:200], status, len(payload),
            (time.perf_counter() - started) * 1000,
        )
        try:
            self._send(status, payload, content_type, headers, body=method != "HEAD")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client hung up; its entry (if any) is committed all the same

    def _send(
        self, status: int, payload: bytes, content_type: str, headers: dict[str, str], *, body: bool = True
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body:
            self.wfile.write(payload)

    def _route(self, method: str) -> tuple[int, bytes, str, dict[str, str]]:
        parts = urlsplit(self.path)
        path, query = parts.path.rstrip("/") or "/", parse_qs(parts.query, keep_blank_values=True)
        log = self.server.log
        routes: dict[str, dict[str, Any]] = {
            "/api/v1/log": {"GET": lambda: _json(200, self._log_info(log))},
            "/api/v1/log/publicKey": {"GET": lambda: (200, log.directory.public_key_pem(), _PEM, {})},
            "/api/v1/log/proof": {"GET": lambda: _json(200, self._consistency(log, query))},
            "/api/v1/log/entries": {"GET": lambda: self._entry_by_index(log, query), "POST": lambda: self._create(log)},
            "/api/v1/log/entries/retrieve": {"POST": lambda: _json(200, self._retrieve(log))},
            "/api/v1/index/retrieve": {"POST": lambda: _json(200, self._search(log))},
            "/api/v1/version": {
                "GET": lambda: _json(200, {"version": __version__, "commit": "", "treestate": "", "builddate": ""})
            },
        }
        handlers = routes.get(path)
        if handlers is None:
            match = _ENTRY_PATH.fullmatch(path)
            if match is None:
                self._discard_body()
                raise ApiError(404, f"no such path {path[:200]}")
            handlers = {"GET": lambda: self._entry_by_uuid(log, match.group(1))}
        handler = handlers.get(method)
        if handler is None:
            self._discard_body()
            shown = method[:20].encode("ascii", "replace").decode()
            raise ApiError(405, f"{shown} is not allowed on {path[:200]}", {"Allow": ", ".join(handlers)})
        result: tuple[int, bytes, str, dict[str, str]] = handler()
        return result

    # -- request bodies ------------------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        """The request body, by ``Content-Length`` or chunked, at most ``MAX_BODY_BYTES`` (413 above)."""
        self._body_read = True
        length = self.headers.get("Content-Length")
        encoding = self.headers.get("Transfer-Encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            if encoding != "chunked":
                self.close_connection = True
                raise ApiError(501, f"transfer encoding {encoding[:40]!r} is not supported: send chunked or "
                               "Content-Length")
            if length is not None:  # RFC 9112 6.1: a request with both is a smuggling attempt or a broken proxy
                self.close_connection = True
                raise ApiError(400, "a request body cannot have both Content-Length and Transfer-Encoding")
            return self._read_chunked()
        if length is None or not _DECIMAL.fullmatch(length.strip()):
            self.close_connection = True
            raise ApiError(411, "a request body needs a Content-Length (or Transfer-Encoding: chunked)")
        size = int(length)
        if size > MAX_BODY_BYTES:
            self.close_connection = True  # the body stays unread: the connection cannot be reused
            raise ApiError(413, f"request body of {size} bytes is larger than the {MAX_BODY_BYTES}-byte limit")
        return self.rfile.read(size)

    def _read_chunked(self) -> bytes:
        """A ``Transfer-Encoding: chunked`` body (RFC 9112 section 7.1); chunk extensions and trailers ignored."""
        body = bytearray()
        while True:
            line = self.rfile.readline(_MAX_CHUNK_LINE)
            size_text = line.split(b";", 1)[0].strip()
            if not line.endswith(b"\n") or not _CHUNK_SIZE.fullmatch(size_text):
                self._bad_chunking("a chunk size line is malformed")
            size = int(size_text, 16)
            if size == 0:
                break
            if len(body) + size > MAX_BODY_BYTES:
                self.close_connection = True
                raise ApiError(413, f"the chunked request body is larger than the {MAX_BODY_BYTES}-byte limit")
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
        raise ApiError(400, f"malformed chunked request body: {problem}")

    def _discard_body(self) -> None:
        """Read and drop a body this request's answer does not need, so the connection can serve the next one."""
        if self._body_read:
            return
        self._body_read = True
        if self.headers.get("Transfer-Encoding", "").strip().lower() not in ("", "identity"):
            try:
                self._body_read = False
                self._read_body()
            except ApiError:
                self.close_connection = True
            return
        length = self.headers.get("Content-Length", "0").strip()
        size = int(length) if _DECIMAL.fullmatch(length) else MAX_BODY_BYTES + 1
        if size > MAX_BODY_BYTES:
            self.close_connection = True
        elif size:
            self.rfile.read(size)

    def _json_body(self) -> Any:
        raw = self._read_body()
        try:
            return loads_untrusted(raw)
        except NestingError as exc:
            raise ApiError(400, "the request body is not usable JSON: arrays and objects nest too deeply") from exc
        except ValueError as exc:
            raise ApiError(400, f"the request body is not JSON: {exc}") from exc

    # -- endpoints -----------------------------------------------------------------------------------------------

    def _create(self, log: LocalLog) -> tuple[int, bytes, str, dict[str, str]]:
        raw = self._read_body()
        try:
            canonical = canonicalize(raw)
        except EntryKindError as exc:
            raise ApiError(400, str(exc)) from exc
        result = log.append(canonical)
        if not isinstance(result, Appended):
            location = f"/api/v1/log/entries/{result.uuid}"
            raise ApiError(
                409,
                f"an equivalent entry already exists in the transparency log with UUID {result.uuid}",
                {"Location": location},
            )
        entry = result.entry
        headers = {"ETag": entry.uuid, "Location": f"/api/v1/log/entries/{entry.uuid}"}
        return _json(201, entry.to_wire(), headers)

    def _entry_by_index(self, log: LocalLog, query: dict[str, list[str]]) -> tuple[int, bytes, str, dict[str, str]]:
        index = _int_param(query, "logIndex", required=True, minimum=0)
        assert index is not None
        entry = log.entry_by_index(index)
        if entry is None:
            raise ApiError(404, f"no entry at index {index} (tree size {log.size})")
        return _json(200, entry.to_wire())

    def _entry_by_uuid(self, log: LocalLog, uuid: str) -> tuple[int, bytes, str, dict[str, str]]:
        try:
            entry = log.entry_by_uuid(uuid.lower())
        except EntryUuidError as exc:
            raise ApiError(400, str(exc)) from exc
        if entry is None:
            raise ApiError(404, f"no entry with UUID {uuid[:100]}")
        return _json(200, entry.to_wire())

    def _log_info(self, log: LocalLog) -> dict[str, Any]:
        head = log.tree_head()
        return {
            "rootHash": head.root_hash.hex(),
            "signedTreeHead": head.note,
            "treeID": str(log.tree_id),
            "treeSize": head.size,
        }

    def _consistency(self, log: LocalLog, query: dict[str, list[str]]) -> dict[str, Any]:
        first = _int_param(query, "firstSize", required=False, minimum=1)
        last = _int_param(query, "lastSize", required=True, minimum=1)
        first = 1 if first is None else first
        assert last is not None
        tree_id = query.get("treeID", [None])[0]
        if tree_id is not None and tree_id != str(log.tree_id):
            raise ApiError(400, f"unknown treeID {tree_id[:40]}")
        size = log.size
        if last > size:
            raise ApiError(400, f"lastSize {last} is larger than the tree ({size})")
        if first > last:
            raise ApiError(400, f"firstSize {first} is larger than lastSize {last}")
        try:
            hashes, root = log.consistency_proof(first, last)
        except TreeRangeError as exc:
            raise ApiError(400, str(exc)) from exc
        return {"hashes": [value.hex() for value in hashes], "rootHash": root.hex()}

    def _search(self, log: LocalLog) -> list[str]:
        query = self._json_body()
        if not isinstance(query, dict):
            raise ApiError(400, "the search query must be a JSON object")
        keys: list[str] = []
        if "hash" in query:
            keys.append(_hash_key(query["hash"]))
        if "publicKey" in query:
            keys.append(_public_key_key(query["publicKey"]))
        if not keys:
            raise ApiError(400, "give a hash or a publicKey to search by (email search is not supported)")
        operator = query.get("operator", "or")
        if operator not in ("and", "or"):
            raise ApiError(400, f"operator must be 'and' or 'or', got {str(operator)[:20]!r}")
        return log.search(keys, match_all=operator == "and", limit=MAX_SEARCH_RESULTS)

    def _retrieve(self, log: LocalLog) -> list[dict[str, Any]]:
        query = self._json_body()
        if not isinstance(query, dict):
            raise ApiError(400, "the search query must be a JSON object")
        uuids, indexes, proposals = (query.get(name) or [] for name in ("entryUUIDs", "logIndexes", "entries"))
        if not all(isinstance(item, list) for item in (uuids, indexes, proposals)):
            raise ApiError(400, "entryUUIDs, logIndexes and entries must be lists")
        if len(uuids) + len(indexes) + len(proposals) > MAX_RETRIEVE_ITEMS:
            raise ApiError(400, f"at most {MAX_RETRIEVE_ITEMS} items per query")
        found: list[RekorEntry | None] = []
        for uuid in uuids:
            if not isinstance(uuid, str):
                raise ApiError(400, "entryUUIDs must be strings")
            try:
                found.append(log.entry_by_uuid(uuid.lower()))
            except EntryUuidError as exc:
                raise ApiError(400, str(exc)) from exc
        for index in indexes:
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= _MAX_INT64:
                raise ApiError(400, "logIndexes must be non-negative integers")
            found.append(log.entry_by_index(index))
        for proposal in proposals:
            if not isinstance(proposal, dict):
                raise ApiError(400, "entries must be proposed entries (JSON objects)")
            try:
                body = canonicalize(proposal).body
            except EntryKindError as exc:
                raise ApiError(400, str(exc)) from exc
            found.append(log.entry_by_uuid(hash_leaf(body).hex()))
        return [entry.to_wire() for entry in found if entry is not None]


def _json(
    status: int, document: object, headers: dict[str, str] | None = None
) -> tuple[int, bytes, str, dict[str, str]]:
    return status, json.dumps(document, separators=(",", ":")).encode() + b"\n", "application/json", headers or {}


def _error(
    status: int, message: str, headers: dict[str, str] | None = None
) -> tuple[int, bytes, str, dict[str, str]]:
    """Rekor's error answer ``{"code", "message"}``."""
    return _json(status, {"code": status, "message": " ".join(message.split())[:1000]}, headers)


def _int_param(query: dict[str, list[str]], name: str, *, required: bool, minimum: int) -> int | None:
    values = query.get(name)
    if not values:
        if required:
            raise ApiError(400, f"query parameter {name} is required")
        return None
    text = values[0].strip()
    if not _DECIMAL.fullmatch(text) or int(text) > _MAX_INT64:
        raise ApiError(400, f"{name} must be an integer between {minimum} and 2^63-1, got {text[:30]!r}")
    value = int(text)
    if value < minimum:
        raise ApiError(400, f"{name} must be at least {minimum}, got {value}")
    return value


def _hash_key(value: object) -> str:
    # Rekor lower-cases the hash and assumes sha256 without a prefix.
    text = value.lower() if isinstance(value, str) else ""
    match = _HASH.fullmatch(text)
    algorithm = (match.group(1) if match else None) or "sha256"
    if match is None or len(match.group(2)) != _HASH_LENGTHS[algorithm]:
        raise ApiError(400, f"hash {str(value)[:140]!r} is not <algorithm>:<hex digest>")
    return f"{algorithm}:{match.group(2)}"


def _public_key_key(value: object) -> str:
    if not isinstance(value, dict) or value.get("format") != "x509" or not isinstance(value.get("content"), str):
        raise ApiError(400, "publicKey must be {format: x509, content: <base64 PEM>}; other formats are not supported")
    try:
        pem = base64.b64decode(value["content"], validate=True)
        VerifierKey.load(pem)
        return public_key_index(pem)
    except (binascii.Error, ValueError, EntryKindError) as exc:
        raise ApiError(400, f"publicKey content is not a base64 PEM key or certificate: {exc}") from exc


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "error"


def open_server(
    log: LocalLog, host: str, port: int, *, max_connections: int = MAX_CONNECTIONS
) -> RekorHttpServer:
    """Bind the log's HTTP server to ``host:port`` (an IPv4 or IPv6 literal, or a name; port 0: any free port).

    Raise ``InvalidInputError`` for a host that is not an address of any kind, ``UnavailableError`` for an address
    in use, not on this machine, or not allowed.
    """
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        return RekorHttpServer((host, port), log, max_connections=max_connections)
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
            hint="give --addr HOST:PORT with an IP address or a resolvable name, e.g. 127.0.0.1:3000 or [::1]:3000",
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
            hint="give --addr an address of this machine and a free port, e.g. 127.0.0.1:3000",
        ) from exc


def serve(
    log: LocalLog,
    host: str,
    port: int,
    stop: threading.Event,
    *,
    ready: Callable[[str], None] | None = None,
    max_connections: int = MAX_CONNECTIONS,
) -> None:
    """Serve ``log`` on ``host:port`` until ``stop`` is set, then stop listening and close the log cleanly.

    ``ready(url)`` is called once the socket listens. Appends in flight when ``stop`` is set still get answers:
    the log commits its queue before it closes. The log is closed also when the address cannot be bound.
    """
    try:
        server = open_server(log, host, port, max_connections=max_connections)
    except BaseException:
        log.close()
        raise
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="tlog-http")
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
        log.close()
