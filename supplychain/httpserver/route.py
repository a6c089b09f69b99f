"""What a service served by ``httpserver.server.HttpServer`` is made of: routes, requests, responses, error answers.

A handler takes a ``Request`` and returns a ``Response`` (or a ``Deferred`` one, when it must wait for other work),
or raises ``HttpError`` for an error answer. The
``Router`` picks the handler by path (an exact path, or a regular expression matched whole, whose groups become
``Request.params``) and then by method: an unknown path is 404, a known path with another method 405 with
``Allow`` (RFC 9110 section 15.5.6), both as JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from supplychain.errors import SupplyChainError
from supplychain.formats.strictjson import NestingError, loads_untrusted

JSON = "application/json"


class HttpError(SupplyChainError):
    """An error answer: HTTP ``status`` and the body ``{"code": status, "message": message}``, plus ``headers``.

    Raised by handlers (and by the server itself) and answered on the connection; never printed by the CLI."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Response:
    """An answer: status, body bytes, their media type, and extra headers (``Content-Length`` is the server's)."""

    status: int
    body: bytes
    content_type: str = JSON
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, document: object, headers: Mapping[str, str] | None = None) -> Response:
        """``document`` as compact JSON, one line."""
        return cls(status, json.dumps(document, separators=(",", ":")).encode() + b"\n", JSON, dict(headers or {}))

    @classmethod
    def error(cls, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        """The error answer ``{"code", "message"}`` (Rekor's and go-swagger's shape); the message on one line,
        at most 1,000 characters."""
        return cls.json(status, {"code": status, "message": " ".join(message.split())[:1000]}, headers)


@dataclass(frozen=True)
class Request:
    """One request as a handler sees it. The body is read only when asked for (``body()`` or ``json()``), at most
    the server's body limit, from ``Content-Length`` or a chunked body; a request that is not read is skipped."""

    method: str
    path: str
    """The path without its query and without trailing slashes (``/`` for the root)."""
    query: Mapping[str, list[str]]
    """Query parameters, each with every value given (blank values kept)."""
    headers: Message
    params: tuple[str, ...]
    """The groups of the route's pattern (empty for an exact path)."""
    client: str
    """The peer's address, for logs."""
    read_body: Callable[[], bytes] = field(repr=False)

    def body(self) -> bytes:
        """The request body (``HttpError`` 411, 413, 400 or 501 when it is missing, too large or malformed)."""
        return self.read_body()

    def json(self) -> Any:
        """The request body as strict JSON (``formats.strictjson``); ``HttpError`` 400 when it is not."""
        raw = self.body()
        try:
            return loads_untrusted(raw)
        except NestingError as exc:
            raise HttpError(400, "the request body is not usable JSON: arrays and objects nest too deeply") from exc
        except ValueError as exc:
            raise HttpError(400, f"the request body is not JSON: {exc}") from exc


@dataclass(frozen=True)
class Deferred:
    """An answer made elsewhere: a handler that must wait for other work (the local log's commit) returns this
    instead of blocking the server's loop. Once ``future`` is done, ``then(future.result())`` makes the answer, on
    the server's thread; what either raises is answered as a handler's errors are (``HttpError`` and the rest)."""

    future: Future[Any]
    then: Callable[[Any], Response]


Handler = Callable[[Request], Response | Deferred]


class Router:
    """Handlers by path and method. Exact paths are looked up first, then patterns in the order they were added."""

    def __init__(self) -> None:
        self._exact: dict[str, dict[str, Handler]] = {}
        self._patterns: list[tuple[re.Pattern[str], dict[str, Handler]]] = []

    def add(self, method: str, path: str | re.Pattern[str], handler: Handler) -> None:
        """Route ``method`` (upper case, as sent) on ``path``: a string matches itself only, a compiled pattern
        must match the whole path. Registering a (method, path) twice is a programming error."""
        if isinstance(path, str):
            methods = self._exact.setdefault(path.rstrip("/") or "/", {})
        else:
            methods = next((handlers for pattern, handlers in self._patterns if pattern == path), {})
            if not methods:
                self._patterns.append((path, methods))
        if method in methods:
            raise ValueError(f"{method} {path} is routed twice")
        methods[method] = handler

    def resolve(self, method: str, path: str) -> tuple[Handler, tuple[str, ...]]:
        """The handler for ``method`` on ``path`` and the pattern's groups; ``HttpError`` 404 or 405."""
        methods = self._exact.get(path)
        params: tuple[str, ...] = ()
        if methods is None:
            for pattern, handlers in self._patterns:
                match = pattern.fullmatch(path)
                if match is not None:
                    methods, params = handlers, match.groups()
                    break
            else:
                raise HttpError(404, f"no such path {path[:200]}")
        handler = methods.get(method)
        if handler is None:
            shown = method[:20].encode("ascii", "replace").decode()
            raise HttpError(405, f"{shown} is not allowed on {path[:200]}", {"Allow": ", ".join(methods)})
        return handler, params


__all__ = ["JSON", "Deferred", "Handler", "HttpError", "Request", "Response", "Router"]
