"""The one place an ``httpx.Client`` is built: the TLS context (``tls``), per-request proxy selection (``proxy``),
timeouts, a User-Agent, the request log (``log.RequestLog`` around the network), and no automatic redirects (the
registry client follows them itself so that credentials never cross origins)."""

from __future__ import annotations

import httpx

from supplychain import __version__
from supplychain.config import Settings
from supplychain.transport.log import RequestLog
from supplychain.transport.proxy import ProxySelectingTransport
from supplychain.transport.tls import ssl_context

# Bytes asked of the socket per read of a response (httpcore's HTTP11Connection.READ_NUM_BYTES, 64 KiB): a blob
# pull costs a recv, an h11 buffer append and an extract per read, so 64 KiB reads spent ~0.35 s of CPU on a
# 200 MiB layer that 256 KiB reads save (bench/copy_image.py); a read returns what has arrived, up to this.
READ_BYTES = 256 * 1024


def _raise_read_size() -> None:
    """httpcore reads ``READ_NUM_BYTES`` per ``recv``, a class attribute and no option of its pools: raise it for
    the process (never lower it, should the embedding program have raised it further)."""
    from httpcore._sync.http11 import HTTP11Connection

    if getattr(HTTP11Connection, "READ_NUM_BYTES", READ_BYTES) < READ_BYTES:
        HTTP11Connection.READ_NUM_BYTES = READ_BYTES


def build_client(
    settings: Settings, host: str, *, insecure: bool, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """An ``httpx.Client`` for talking to ``host`` (``host[:port]``) with the TLS, timeout and logging policy.

    ``insecure`` turns TLS verification off; pass ``is_insecure(host, settings)``, nothing looser.
    Redirects are not followed here: the registry client follows them itself and drops credentials when
    a redirect leaves the registry's origin. ``transport`` replaces the network (tests pass an
    ``httpx.MockTransport``; the TLS context is then unused). Proxies come from ``settings`` only
    (``proxy_for``), never from httpx's own reading of the environment.
    """
    _raise_read_size()
    return httpx.Client(
        trust_env=False,
        timeout=httpx.Timeout(settings.timeout),
        headers={"User-Agent": user_agent(settings)},
        follow_redirects=False,
        transport=RequestLog(transport if transport is not None else ProxySelectingTransport(
            settings, lambda: ssl_context(settings, host, insecure=insecure))),
    )


def user_agent(settings: Settings) -> str:
    """``supplychain/<version> (python-httpx/<version>)`` (the product name from ``settings.user_agent``)."""
    return f"{settings.user_agent}/{__version__} (python-httpx/{httpx.__version__})"
