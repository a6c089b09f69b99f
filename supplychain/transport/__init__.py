"""HTTP for everything that talks to a registry or a log: the one place an ``httpx.Client`` is built, and the one
place transport failures become supplychain errors (STYLE.md section 1, row 4).

One concept a module, lowest first:

- ``hosts``: ``host[:port]`` spelling, loopback, the insecure list, and the plain-HTTP rule built from them;
- ``failures``: httpx/ssl exceptions to ``UnavailableError``/``TLSError`` with a remedy (``map_transport_error``)
  and the questions asked of a failure (certificate? TLS alert? timeout?);
- ``tls``: TLS contexts from the system CA store, ``--ca-file`` and docker's ``certs.d``, shared between clients;
- ``log``: the credential-redacted request log (one line per request and response, at DEBUG);
- ``proxy``: ``HTTPS_PROXY``/``HTTP_PROXY`` per request with Go's ``NO_PROXY`` semantics, a failing proxy named;
- ``client``: ``build_client``, which puts the above together;
- ``retry``: ``send``, one request with bounded retries for replayable requests.

This module is their public API; the names below are the ones the rest of the package uses.
"""

from __future__ import annotations

from supplychain.transport.client import build_client, user_agent
from supplychain.transport.failures import (
    DEFAULT_CERTS_DIR,
    ProxyFailure,
    certificate_error,
    map_transport_error,
    timed_out,
    tls_peer_answered,
)
from supplychain.transport.hosts import (
    IPAddress,
    Resolver,
    allows_plain_http,
    is_insecure,
    is_local_name,
    is_loopback,
    resolve_addresses,
    split_host,
    url_host,
)
from supplychain.transport.log import redact_url
from supplychain.transport.proxy import bypasses_proxy, proxy_for
from supplychain.transport.retry import RetryPolicy, release, send
from supplychain.transport.tls import ssl_context

__all__ = [
    "DEFAULT_CERTS_DIR",
    "IPAddress",
    "ProxyFailure",
    "Resolver",
    "RetryPolicy",
    "allows_plain_http",
    "build_client",
    "bypasses_proxy",
    "certificate_error",
    "is_insecure",
    "is_local_name",
    "is_loopback",
    "map_transport_error",
    "proxy_for",
    "redact_url",
    "release",
    "resolve_addresses",
    "send",
    "split_host",
    "ssl_context",
    "timed_out",
    "tls_peer_answered",
    "url_host",
    "user_agent",
]
