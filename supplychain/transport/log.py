"""The request log: one line per HTTP request and one per response, at DEBUG on this module's logger
(``supplychain --debug`` shows it on stderr), with every credential taken out before the line is built.

Logged: the method, the URL, the body's length, the headers; for a response also the status and the milliseconds
from sending the request to its response's headers (bodies stream afterwards and are never logged). Redacted:
``Authorization``, ``Proxy-Authorization``, ``Cookie``, ``Set-Cookie`` and token/secret-named headers (whole value);
user info in URLs (``https://user:pass@host``); the values of query parameters named like credentials
(``access_token``, ``token``, ``password``, signatures of pre-signed storage URLs), also inside ``Location``; and
any ``Bearer``/``Basic`` credential or JWT that appears in another header value. Form bodies (the token
exchange's ``password`` and ``refresh_token`` fields, RFC 6749 section 4.3) are never logged, only their length.
"""

from __future__ import annotations

import logging
import re
import time
import urllib.parse
from collections.abc import Mapping

import httpx

logger = logging.getLogger(__name__)

REDACTED = "***"

_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-registry-auth"})
_SECRET_NAME = re.compile(r"(sig|signature|token|credential|secret|password|key)", re.IGNORECASE)
_URL_HEADERS = frozenset({"location", "content-location"})
# A credential inside a header value: RFC 9110 section 11.4's ``auth-scheme token68`` for Bearer (RFC 6750) and Basic
# (RFC 7617), not followed by ``=``/``"`` (that is a challenge's ``realm="..."``, which stays readable), or a JWT
# (RFC 7519: base64url header ``{"...`` is ``eyJ``, three dot-separated parts).
_CREDENTIAL = re.compile(r"\b(bearer|basic)(\s+)[A-Za-z0-9._~+/-]+=*(?![\w=\"])", re.IGNORECASE)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_QUERY_PAIR = re.compile(r"([?&;])([^=&;#]*)=([^&;#]*)")  # name=value after ? & or ;


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers safe to log: credentials and cookies replaced by ``***``, credential query values inside
    ``Location`` replaced, and any bearer/basic credential or JWT elsewhere replaced."""
    return {k: _redact_header(k.lower(), v) for k, v in headers.items()}


def _redact_header(name: str, value: str) -> str:
    if name in _SECRET_HEADERS or _SECRET_NAME.search(name):
        return REDACTED
    if name in _URL_HEADERS:
        value = redact_url_text(value)
    return redact_text(value)


def redact_text(text: str) -> str:
    """``text`` with any ``Bearer``/``Basic`` credential and any JWT replaced by ``***``."""
    return _JWT.sub(REDACTED, _CREDENTIAL.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text))


def redact_url(url: httpx.URL) -> str:
    """A URL safe to log: user info dropped, values of signature/token-like query parameters replaced (the rest of
    the query kept as sent)."""
    return _redact_query(str(url.copy_with(username=None, password=None)))


def redact_url_text(text: str) -> str:
    """:func:`redact_url` for a URL as a header carries it (possibly relative, possibly unparseable)."""
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, TypeError, ValueError):
        return _redact_query(text)
    return redact_url(url) if url.is_absolute_url else _redact_query(text)


def _redact_query(text: str) -> str:
    base, sep, query = text.partition("?")
    if not sep:
        return text

    def pair(match: re.Match[str]) -> str:
        name = urllib.parse.unquote_plus(match.group(2))  # ``access%5Ftoken`` is access_token too
        return f"{match.group(1)}{match.group(2)}={REDACTED if _SECRET_NAME.search(name) else match.group(3)}"

    return base + _QUERY_PAIR.sub(pair, sep + query)


def _length(headers: httpx.Headers, unknown: str) -> str:
    if "content-length" in headers:
        return f"{headers['content-length']} bytes"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return "chunked"
    return unknown


class RequestLog(httpx.BaseTransport):
    """Wraps the transport that reaches the network, so it sees each request as it goes out: after the auth flow
    added its credentials (which it must then redact) and per hop of a redirect; and sees a request that failed
    without a response. Lines, at DEBUG:

    ``> METHOD URL LENGTH {headers}``, then ``< STATUS METHOD URL N ms LENGTH {headers}`` (N: until the
    response's headers; its body streams afterwards) or ``< failed METHOD URL N ms: ERROR``.
    """

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not logger.isEnabledFor(logging.DEBUG):
            return self._inner.handle_request(request)
        url = redact_url(request.url)
        logger.debug("> %s %s %s %s", request.method, url, _length(request.headers, "0 bytes"),
                     redact_headers(request.headers))
        started = time.perf_counter()
        try:
            response = self._inner.handle_request(request)
        except Exception as exc:  # broad: any failure of the request is logged as one line, then re-raised
            logger.debug("< failed %s %s %s: %s", request.method, url, _elapsed(started),
                         redact_text(f"{type(exc).__name__}: {exc}"))
            raise
        logger.debug("< %s %s %s %s %s %s", response.status_code, request.method, url, _elapsed(started),
                     _length(response.headers, "length unknown"), redact_headers(response.headers))
        return response

    def close(self) -> None:
        self._inner.close()


def _elapsed(started: float) -> str:
    return f"{(time.perf_counter() - started) * 1000:.0f} ms"
