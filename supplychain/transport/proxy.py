"""The proxy policy: which requests go through ``HTTPS_PROXY``/``HTTP_PROXY`` and which go direct.

Go's ``golang.org/x/net/http/httpproxy`` rules, as docker and skopeo apply them: never a proxy for loopback, never
for hosts ``NO_PROXY`` lists (names, subdomains, IP literals, CIDR blocks, each optionally with a port). Decided per
request, so a redirect to blob storage on another host is proxied (or not) by its own name; a failing proxy is
reported as the proxy's failure (``failures.ProxyFailure``), not the registry's.
"""

from __future__ import annotations

import ipaddress
import ssl
import threading
from collections.abc import Callable

import httpx

from supplychain.config import Settings
from supplychain.errors import ConfigurationError
from supplychain.transport.failures import ProxyFailure, find_cause
from supplychain.transport.hosts import is_loopback, split_host


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def bypasses_proxy(host: str, port: int, no_proxy: str) -> bool:
    """Whether a request to ``host`` (no brackets) on ``port`` goes direct, per ``NO_PROXY`` and the loopback rule.

    Go's ``httpproxy.Config.useProxy``: ``localhost`` and loopback IP literals never use a proxy (we add
    ``*.localhost``, RFC 6761 section 6.3: it always resolves to loopback). ``NO_PROXY`` is a comma-separated list
    of ``*`` (no proxy at all), IP addresses, CIDR blocks (``10.0.0.0/8``), and domain names, each optionally with
    ``:port``; ``example.com`` matches that name and its subdomains, ``.example.com`` (or ``*.example.com``) its
    subdomains only. Matching is case-insensitive.
    """
    name = host.strip().lower().rstrip(".")
    if is_loopback(name):
        return True
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(name)
    except ValueError:
        ip = None
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if "/" in entry:  # a CIDR block matches IP literals only, any port (Go's cidrMatch)
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                continue
            if ip is not None and ip.version == network.version and ip in network:
                return True
            continue
        entry_host, entry_port = split_host(entry)
        if not entry_host or (entry_port is not None and entry_port != port):
            continue
        try:
            entry_ip = ipaddress.ip_address(entry_host)
        except ValueError:
            entry_ip = None
        if entry_ip is not None:  # an IP entry matches that IP literal only, never a name
            if entry_ip == ip:
                return True
            continue
        if entry_host.startswith("*."):
            entry_host = entry_host[1:]
        entry_host = entry_host.rstrip(".")
        if entry_host.startswith("."):
            if name.endswith(entry_host):
                return True
        elif name == entry_host or name.endswith("." + entry_host):
            return True
    return False


def proxy_for(url: httpx.URL, settings: Settings) -> str | None:
    """The proxy URL a request to ``url`` goes through (``HTTPS_PROXY`` for https, ``HTTP_PROXY`` for http), or
    ``None`` for a direct connection (no proxy set, a loopback host, or a host ``NO_PROXY`` lists)."""
    proxy = settings.https_proxy if url.scheme == "https" else settings.http_proxy
    if not proxy:
        return None
    if bypasses_proxy(url.host, url.port or _default_port(url.scheme), settings.no_proxy):
        return None
    return proxy


def redact_proxy(proxy: str) -> str:
    """A proxy URL safe to print: its user name and password (``http://user:pass@proxy:3128``) dropped."""
    try:
        return str(httpx.URL(proxy).copy_with(username=None, password=None))
    except (httpx.InvalidURL, TypeError, ValueError):
        return "(unparseable proxy URL)"


def proxy_url(proxy: str, origin: str) -> httpx.URL:
    """``proxy`` as a URL (Go's httpproxy reads a bare ``host:port`` as ``http://host:port``)."""
    text = proxy if "://" in proxy else f"http://{proxy}"
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise ConfigurationError(f"{origin} is not a valid proxy URL",
                                 hint=f"give {origin} as http://HOST:PORT, or unset it") from exc
    if url.scheme not in ("http", "https", "socks5", "socks5h") or not url.host:
        raise ConfigurationError(f"{origin} is not a valid proxy URL ({redact_proxy(text)})",
                                 hint=f"give {origin} as http://HOST:PORT, or unset it")
    return url


class ProxySelectingTransport(httpx.BaseTransport):
    """Sends each request direct or through the proxy ``proxy_for`` picks for its URL.

    Per request, not per client: the registry client follows redirects (blob storage on another host) with the
    same ``httpx.Client``, and whether that host is proxied is decided by its own name. httpx's own environment
    handling is off (``trust_env=False``): it proxies loopback and knows no CIDR ``NO_PROXY`` entries.
    """

    def __init__(self, settings: Settings, context: Callable[[], ssl.SSLContext]) -> None:
        self._settings = settings
        self._make_context = context
        self._context: ssl.SSLContext | None = None
        self._direct: httpx.HTTPTransport | None = None
        self._plain: httpx.HTTPTransport | None = None
        self._proxied: dict[str, httpx.HTTPTransport] = {}
        self._lock = threading.Lock()

    def _tls_context(self) -> ssl.SSLContext:
        """The TLS context, built on the first request that may need it: loading the system CA store costs ~40 ms,
        which a run that only talks plain HTTP to loopback (a CI registry on localhost:5000, a local log) never
        needs. Called with the lock held."""
        if self._context is None:
            self._context = self._make_context()
        return self._context

    def _direct_transport(self, url: httpx.URL) -> httpx.HTTPTransport:
        with self._lock:
            if url.scheme == "http":
                # Plain HTTP straight to the origin never starts TLS. Its pool still needs a context: one that
                # trusts no CA and checks host names, so that a TLS connection through it could only fail.
                if self._plain is None:
                    self._plain = httpx.HTTPTransport(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT),
                                                      trust_env=False)
                return self._plain
            if self._direct is None:
                self._direct = httpx.HTTPTransport(verify=self._tls_context(), trust_env=False)
            return self._direct

    def _transport(self, proxy: str) -> httpx.HTTPTransport:
        with self._lock:
            transport = self._proxied.get(proxy)
            if transport is None:
                origin = "HTTPS_PROXY" if proxy == self._settings.https_proxy else "HTTP_PROXY"
                transport = httpx.HTTPTransport(verify=self._tls_context(), trust_env=False,
                                                proxy=httpx.Proxy(proxy_url(proxy, origin)))
                self._proxied[proxy] = transport
            return transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        proxy = proxy_for(request.url, self._settings)
        if proxy is None:
            return self._direct_transport(request.url).handle_request(request)
        shown = redact_proxy(proxy if "://" in proxy else f"http://{proxy}")
        try:
            response = self._transport(proxy).handle_request(request)
        except httpx.ProxyError as exc:  # CONNECT answered with something other than 2xx (407 included)
            raise ProxyFailure(f"{exc}", proxy=shown, request=request) from exc
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if find_cause(exc, ssl.SSLError) is not None:
                raise  # the TLS handshake with the registry, through the tunnel: the registry's problem
            raise ProxyFailure(f"{exc or type(exc).__name__}", proxy=shown, request=request) from exc
        if response.status_code == 407:  # a plain-HTTP request the proxy wants credentials for (RFC 9110 15.5.8)
            response.close()
            raise ProxyFailure("407 Proxy Authentication Required", proxy=shown, request=request)
        return response

    def close(self) -> None:
        for transport in (self._direct, self._plain, *self._proxied.values()):
            if transport is not None:
                transport.close()

