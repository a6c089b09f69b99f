"""Retries: one request sent with bounded retries (exponential backoff with full jitter, ``Retry-After``
honoured) on 429/502/503/504 and connection resets, for replayable requests only; the last failure goes through
``failures.map_transport_error``."""

from __future__ import annotations

import email.utils
import logging
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from supplychain.config import Settings
from supplychain.transport.failures import DEFAULT_CERTS_DIR, find_cause, map_transport_error
from supplychain.transport.hosts import url_host
from supplychain.transport.log import redact_url

logger = logging.getLogger(__name__)

# Statuses worth another try (RFC 9110 section 15.6; RFC 6585 section 4 for 429). 500 is not among them: a
# registry's 500 is usually a bug that answers the same way again.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# RFC 9110 section 9.2.2: idempotent methods can be sent again without changing the outcome.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to wait before sending a request again.

    Exponential backoff with full jitter (the delay is uniform in ``[0, min(max, base * 2**attempt)]``),
    unless the server said ``Retry-After`` (RFC 9110 section 10.2.3), which wins but is capped at
    ``backoff_max``.
    ``sleep``, ``jitter`` (uniform in [0, 1)) and ``clock`` are injected so tests never wait.
    """

    retries: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 20.0
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random
    clock: Callable[[], float] = time.time

    @classmethod
    def from_settings(cls, settings: Settings, *, sleep: Callable[[float], None] = time.sleep) -> RetryPolicy:
        """The policy configured in ``settings``."""
        return cls(settings.retries, settings.backoff_base, settings.backoff_max, sleep)

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (``attempt`` counts from 0)."""
        if retry_after is not None:
            asked = parse_retry_after(retry_after, now=self.clock())
            if asked is not None:
                return min(asked, self.backoff_max)
        ceiling: float = min(self.backoff_max, self.backoff_base * 2.0**attempt)
        return self.jitter() * ceiling


def parse_retry_after(value: str, *, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP-date; ``None`` when unreadable."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def is_replayable(request: httpx.Request) -> bool:
    """A request that can be sent again as is: an idempotent method and a body held in memory."""
    return request.method in IDEMPOTENT_METHODS and isinstance(request.stream, httpx.ByteStream)


def is_transient(exc: httpx.HTTPError) -> bool:
    """A connection reset or a peer that hung up: worth retrying. Refused connections, timeouts (we already
    waited) and TLS failures (they will fail the same way) are not."""
    if find_cause(exc, ssl.SSLError) is not None:
        return False
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError):
        return True
    return isinstance(exc, httpx.ConnectError) and find_cause(exc, ConnectionResetError) is not None


def send(
    client: httpx.Client,
    request: httpx.Request,
    *,
    auth: httpx.Auth | None,
    policy: RetryPolicy,
    replayable: bool | None = None,
    certs_dir: Path = DEFAULT_CERTS_DIR,
) -> httpx.Response:
    """Send ``request`` (streaming: the caller reads and closes the response), retrying transient failures.

    ``replayable`` defaults to ``is_replayable(request)``; pass ``True`` for a POST that is safe to repeat
    (starting an upload session). When retries run out the last response is returned as is (the caller maps
    its status), and the last transport failure is raised through ``map_transport_error``.
    """
    if replayable is None:
        replayable = is_replayable(request)
    attempt = 0
    current = request
    while True:
        try:
            response = client.send(current, auth=auth, stream=True, follow_redirects=False)
        except httpx.HTTPError as exc:
            if replayable and attempt < policy.retries and is_transient(exc):
                delay = policy.delay(attempt)
                logger.debug(
                    "retrying %s %s in %.2fs after %s", request.method, redact_url(request.url), delay, exc
                )
                policy.sleep(delay)
                attempt += 1
                current = _replay(request)
                continue
            raise map_transport_error(exc, host=url_host(request.url), certs_dir=certs_dir) from exc
        if response.status_code in RETRY_STATUSES and replayable and attempt < policy.retries:
            delay = policy.delay(attempt, response.headers.get("Retry-After"))
            release(response)
            logger.debug(
                "retrying %s %s in %.2fs after HTTP %s",
                request.method, redact_url(request.url), delay, response.status_code,
            )
            policy.sleep(delay)
            attempt += 1
            current = _replay(request)
            continue
        return response


def release(response: httpx.Response) -> None:
    """Close ``response`` and break httpx's response <-> bound-stream reference cycle.

    Without this the response, and through it the request and its body (an upload chunk of up to
    ``settings.chunk_size``), lives until the next cyclic garbage collection, which counts objects, not
    bytes: a 200 MB upload then peaks at a dozen chunks in memory instead of one.
    """
    response.close()
    response.stream = httpx.ByteStream(b"")


def _replay(request: httpx.Request) -> httpx.Request:
    """A fresh copy of ``request``: the auth flow adds credentials again rather than reusing stale ones."""
    headers = httpx.Headers({k: v for k, v in request.headers.items() if k.lower() != "authorization"})
    return httpx.Request(request.method, request.url, headers=headers, content=request.content,
                         extensions=request.extensions)
