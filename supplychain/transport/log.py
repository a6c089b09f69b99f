"""Debug logging of requests and responses through :mod:`logging`, with ``Authorization`` and other secrets
redacted."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

import httpx

logger = logging.getLogger(__name__)

_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_SECRET_QUERY = re.compile(r"(sig|signature|token|credential|secret|password|key)", re.IGNORECASE)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers safe to log: credentials and cookies replaced by ``***``."""
    return {k: ("***" if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}


def redact_url(url: httpx.URL) -> str:
    """A URL safe to log: user info dropped, values of signature/token-like query parameters replaced."""
    params: list[tuple[str, str | int | float | bool | None]] = [
        (k, "***" if _SECRET_QUERY.search(k) else v) for k, v in url.params.multi_items()
    ]
    clean = url.copy_with(username=None, password=None, query=None)
    return str(clean.copy_merge_params(params)) if params else str(clean)


def log_request(request: httpx.Request) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("> %s %s %s", request.method, redact_url(request.url), redact_headers(request.headers))


def log_response(response: httpx.Response) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "< %s %s %s %s",
            response.status_code,
            response.request.method,
            redact_url(response.request.url),
            redact_headers(response.headers),
        )
