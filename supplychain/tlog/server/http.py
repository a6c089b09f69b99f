"""The local log's HTTP API: the Rekor v1 REST subset that cosign, sigstore clients and ``RekorClient`` use, as
routes of the generic ``httpserver`` (bounded connections, body limits, chunked bodies, JSON errors live there).

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

Errors are Rekor's ``{"code": <status>, "message": "..."}`` (``httpserver``'s error answers): besides those of
the table, a log that is stopping or whose storage failed (an ``UnavailableError``) is 503 with ``Retry-After``,
as ``httpserver`` answers every such error, and a corrupted entry is
500 (and logged), never served. Every request is logged as one line on the ``supplychain.tlog.server`` logger.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
import threading
from collections.abc import Callable, Mapping

from supplychain import __version__
from supplychain.formats.rekor import EntryKindError
from supplychain.httpserver.route import Deferred, HttpError, Request, Response, Router
from supplychain.httpserver.server import IDLE_TIMEOUT, HttpServer, bind_server, serve_until
from supplychain.tlog.evidence import EntryUuidError, RekorEntry
from supplychain.tlog.kind import canonicalize, public_key_index
from supplychain.tlog.merkle import TreeRangeError, hash_leaf
from supplychain.tlog.pki import VerifierKey
from supplychain.tlog.server.log import Appended, AppendResult, LocalLog

logger = logging.getLogger("supplychain.tlog.server")

MAX_BODY_BYTES = 128 * 1024
"""Largest request body accepted (413 above it), as Rekor caps entries."""

MAX_CONNECTIONS = 64
"""Connections served at once (all on the server's one event loop); more are answered 503 and closed."""

MAX_SEARCH_RESULTS = 10_000
MAX_RETRIEVE_ITEMS = 10  # entries per /log/entries/retrieve query, as Rekor's default search limit
_MAX_INT64 = 2**63 - 1
_DECIMAL = re.compile(r"[0-9]{1,19}", re.ASCII)
_ENTRY_PATH = re.compile(r"/api/v1/log/entries/([0-9a-fA-F]+)", re.ASCII)
_HASH = re.compile(r"(?:(sha256|sha384|sha512|sha1):)?([0-9a-f]+)", re.ASCII)
_PEM = "application/x-pem-file"
_HASH_LENGTHS = {"sha1": 40, "sha256": 64, "sha384": 96, "sha512": 128}


class RekorHttpServer(HttpServer):
    """The server answering Rekor's v1 API from one ``LocalLog``: IPv6 for an IPv6 literal host, else
    IPv4."""

    def __init__(
        self,
        address: tuple[str, int],
        log: LocalLog,
        *,
        max_connections: int = MAX_CONNECTIONS,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        self.log = log
        super().__init__(
            address, _RekorApi(log).router(), max_connections=max_connections, idle_timeout=idle_timeout,
            max_body_bytes=MAX_BODY_BYTES, logger=logger, server_version=f"supplychain-tlog/{__version__}",
            busy_message="the log is serving too many connections; retry",
        )

    def loop_started(self, loop: asyncio.AbstractEventLoop) -> None:
        # The appends are batched, numbered and answered on this loop; only the transactions leave it.
        self.log.join_loop(loop)

    async def loop_stopping(self) -> None:
        await self.log.leave_loop()


class _RekorApi:
    """The handlers of Rekor's routes, on one ``LocalLog``."""

    def __init__(self, log: LocalLog) -> None:
        self.log = log

    def router(self) -> Router:
        """Rekor's v1 paths to this log's handlers."""
        router = Router()
        for method, path, handler in (
            ("GET", "/api/v1/log", self.log_info),
            ("GET", "/api/v1/log/publicKey", self.public_key),
            ("GET", "/api/v1/log/proof", self.consistency),
            ("GET", "/api/v1/log/entries", self.entry_by_index),
            ("POST", "/api/v1/log/entries", self.create),
            ("POST", "/api/v1/log/entries/retrieve", self.retrieve),
            ("POST", "/api/v1/index/retrieve", self.search),
            ("GET", "/api/v1/version", self.version),
            ("GET", _ENTRY_PATH, self.entry_by_uuid),
        ):
            router.add(method, path, handler)
        return router

    def public_key(self, request: Request) -> Response:
        return Response(200, self.log.directory.public_key_pem(), _PEM)

    def version(self, request: Request) -> Response:
        return Response.json(200, {"version": __version__, "commit": "", "treestate": "", "builddate": ""})

    def create(self, request: Request) -> Response | Deferred:
        raw = request.body()
        try:
            canonical = canonicalize(raw)
        except EntryKindError as exc:
            raise HttpError(400, str(exc)) from exc
        # Answered once the committer has made the entry durable: the server's loop serves others meanwhile.
        return Deferred(self.log.submit(canonical), _created)

    def entry_by_index(self, request: Request) -> Response:
        log = self.log
        index = _int_param(request.query, "logIndex", required=True, minimum=0)
        assert index is not None
        entry = log.entry_by_index(index)
        if entry is None:
            raise HttpError(404, f"no entry at index {index} (tree size {log.size})")
        return Response.json(200, entry.to_wire())

    def entry_by_uuid(self, request: Request) -> Response:
        (uuid,) = request.params
        try:
            entry = self.log.entry_by_uuid(uuid.lower())
        except EntryUuidError as exc:
            raise HttpError(400, str(exc)) from exc
        if entry is None:
            raise HttpError(404, f"no entry with UUID {uuid[:100]}")
        return Response.json(200, entry.to_wire())

    def log_info(self, request: Request) -> Response:
        log = self.log
        head = log.tree_head()
        return Response.json(200, {
            "rootHash": head.root_hash.hex(),
            "signedTreeHead": head.note,
            "treeID": str(log.tree_id),
            "treeSize": head.size,
        })

    def consistency(self, request: Request) -> Response:
        log, query = self.log, request.query
        first = _int_param(query, "firstSize", required=False, minimum=1)
        last = _int_param(query, "lastSize", required=True, minimum=1)
        first = 1 if first is None else first
        assert last is not None
        tree_id = query.get("treeID", [None])[0]
        if tree_id is not None and tree_id != str(log.tree_id):
            raise HttpError(400, f"unknown treeID {tree_id[:40]}")
        size = log.size
        if last > size:
            raise HttpError(400, f"lastSize {last} is larger than the tree ({size})")
        if first > last:
            raise HttpError(400, f"firstSize {first} is larger than lastSize {last}")
        try:
            hashes, root = log.consistency_proof(first, last)
        except TreeRangeError as exc:
            raise HttpError(400, str(exc)) from exc
        return Response.json(200, {"hashes": [value.hex() for value in hashes], "rootHash": root.hex()})

    def search(self, request: Request) -> Response:
        query = request.json()
        if not isinstance(query, dict):
            raise HttpError(400, "the search query must be a JSON object")
        keys: list[str] = []
        if "hash" in query:
            keys.append(_hash_key(query["hash"]))
        if "publicKey" in query:
            keys.append(_public_key_key(query["publicKey"]))
        if not keys:
            raise HttpError(400, "give a hash or a publicKey to search by (email search is not supported)")
        operator = query.get("operator", "or")
        if operator not in ("and", "or"):
            raise HttpError(400, f"operator must be 'and' or 'or', got {str(operator)[:20]!r}")
        return Response.json(200, self.log.search(keys, match_all=operator == "and", limit=MAX_SEARCH_RESULTS))

    def retrieve(self, request: Request) -> Response:
        log = self.log
        query = request.json()
        if not isinstance(query, dict):
            raise HttpError(400, "the search query must be a JSON object")
        uuids, indexes, proposals = (query.get(name) or [] for name in ("entryUUIDs", "logIndexes", "entries"))
        if not all(isinstance(item, list) for item in (uuids, indexes, proposals)):
            raise HttpError(400, "entryUUIDs, logIndexes and entries must be lists")
        if len(uuids) + len(indexes) + len(proposals) > MAX_RETRIEVE_ITEMS:
            raise HttpError(400, f"at most {MAX_RETRIEVE_ITEMS} items per query")
        found: list[RekorEntry | None] = []
        for uuid in uuids:
            if not isinstance(uuid, str):
                raise HttpError(400, "entryUUIDs must be strings")
            try:
                found.append(log.entry_by_uuid(uuid.lower()))
            except EntryUuidError as exc:
                raise HttpError(400, str(exc)) from exc
        for index in indexes:
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= _MAX_INT64:
                raise HttpError(400, "logIndexes must be non-negative integers")
            found.append(log.entry_by_index(index))
        for proposal in proposals:
            if not isinstance(proposal, dict):
                raise HttpError(400, "entries must be proposed entries (JSON objects)")
            try:
                body = canonicalize(proposal).body
            except EntryKindError as exc:
                raise HttpError(400, str(exc)) from exc
            found.append(log.entry_by_uuid(hash_leaf(body).hex()))
        return Response.json(200, [entry.to_wire() for entry in found if entry is not None])


def _created(result: AppendResult) -> Response:
    """The answer to an append: 201 with the entry, or 409 naming the entry it duplicates."""
    if not isinstance(result, Appended):
        location = f"/api/v1/log/entries/{result.uuid}"
        raise HttpError(
            409,
            f"an equivalent entry already exists in the transparency log with UUID {result.uuid}",
            {"Location": location},
        )
    entry = result.entry
    headers = {"ETag": entry.uuid, "Location": f"/api/v1/log/entries/{entry.uuid}"}
    return Response.json(201, entry.to_wire(), headers)


def _int_param(query: Mapping[str, list[str]], name: str, *, required: bool, minimum: int) -> int | None:
    values = query.get(name)
    if not values:
        if required:
            raise HttpError(400, f"query parameter {name} is required")
        return None
    text = values[0].strip()
    if not _DECIMAL.fullmatch(text) or int(text) > _MAX_INT64:
        raise HttpError(400, f"{name} must be an integer between {minimum} and 2^63-1, got {text[:30]!r}")
    value = int(text)
    if value < minimum:
        raise HttpError(400, f"{name} must be at least {minimum}, got {value}")
    return value


def _hash_key(value: object) -> str:
    # Rekor lower-cases the hash and assumes sha256 without a prefix.
    text = value.lower() if isinstance(value, str) else ""
    match = _HASH.fullmatch(text)
    algorithm = (match.group(1) if match else None) or "sha256"
    if match is None or len(match.group(2)) != _HASH_LENGTHS[algorithm]:
        raise HttpError(400, f"hash {str(value)[:140]!r} is not <algorithm>:<hex digest>")
    return f"{algorithm}:{match.group(2)}"


def _public_key_key(value: object) -> str:
    if not isinstance(value, dict) or value.get("format") != "x509" or not isinstance(value.get("content"), str):
        raise HttpError(400, "publicKey must be {format: x509, content: <base64 PEM>}; other formats are not "
                        "supported")
    try:
        pem = base64.b64decode(value["content"], validate=True)
        VerifierKey.load(pem)
        return public_key_index(pem)
    except (binascii.Error, ValueError, EntryKindError) as exc:
        raise HttpError(400, f"publicKey content is not a base64 PEM key or certificate: {exc}") from exc


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
    the log commits its queue before it closes. The log is closed also when the address cannot be bound
    (``httpserver.server.bind_server``'s errors).
    """
    try:
        server = bind_server(host, port, lambda address: RekorHttpServer(address, log,
                                                                         max_connections=max_connections))
    except BaseException:  # broad: the log is closed on any failure to bind, an interrupt included; re-raised
        log.close()
        raise
    try:
        serve_until(server, stop, ready=ready, name="tlog-http")
    finally:
        log.close()
