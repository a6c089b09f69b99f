"""The one place an ``httpx.Client`` is built, and the one place transport failures become supplychain errors.

What lives here (STYLE.md section 1, row 4):

- ``build_client``: TLS verification with the system CA store, ``--ca-file`` and docker's
  ``certs.d/<host:port>/`` directory (``*.crt`` CAs, ``client.cert`` + ``client.key``); verification off
  only for hosts on the insecure list; timeouts, a User-Agent, no automatic redirects (the registry client
  follows them itself so that credentials never cross origins).
- the plain-HTTP policy: ``is_loopback`` and ``allows_plain_http``;
- the proxy policy: ``proxy_for`` picks ``HTTPS_PROXY``/``HTTP_PROXY`` per request, never for loopback and
  never for hosts ``NO_PROXY`` lists (Go's ``golang.org/x/net/http/httpproxy`` rules, as docker and skopeo apply
  them); a failing proxy is reported as the proxy's failure, not the registry's;
- ``send``: one request with bounded retries (exponential backoff with full jitter, ``Retry-After`` honoured)
  on 429/502/503/504 and connection resets, for replayable requests only;
- ``map_transport_error``: httpx/ssl exceptions to ``UnavailableError``/``TLSError`` with a remedy;
- debug logging through :mod:`logging` with ``Authorization`` and other secrets redacted.
"""

from __future__ import annotations

import email.utils
import ipaddress
import logging
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

from supplychain import __version__
from supplychain.config import Settings
from supplychain.errors import ConfigurationError, SupplyChainError, TLSError, UnavailableError

logger = logging.getLogger("supplychain.transport")
_E = TypeVar("_E", bound=BaseException)

DEFAULT_CERTS_DIR = Path("/etc/docker/certs.d")

# Statuses worth another try (RFC 9110 section 15.6; RFC 6585 section 4 for 429). 500 is not among them: a
# registry's 500 is usually a bug that answers the same way again.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# RFC 9110 section 9.2.2: idempotent methods can be sent again without changing the outcome.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_SECRET_QUERY = re.compile(r"(sig|signature|token|credential|secret|password|key)", re.IGNORECASE)


# -- the plain-HTTP policy ----------------------------------------------------------------------


def split_host(host: str) -> tuple[str, int | None]:
    """``host[:port]`` (IPv6 in brackets) to ``(hostname, port)``; the hostname loses its brackets."""
    if host.startswith("["):
        end = host.find("]")
        name, rest = host[1:end], host[end + 1 :]
        return name, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit() and ":" not in name:
        return name, int(port)
    return host, None


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], tuple[IPAddress, ...]]

# RFC 1123 host names (letters, digits, hyphens, dots): only these are looked up. Anything else (an empty name, a
# percent-encoded or Unicode spelling) never resolves to loopback here.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"^(?=.{{1,253}}\.?$){_LABEL}(?:\.{_LABEL})*\.?$")


def resolve_addresses(name: str) -> tuple[IPAddress, ...]:
    """Every address ``name`` resolves to (the system resolver: ``/etc/hosts``, then DNS); ``()`` if none."""
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return ()
    found: list[IPAddress] = []
    for info in infos:
        try:
            address = ipaddress.ip_address(str(info[4][0]).partition("%")[0])  # drop an IPv6 zone
        except ValueError:
            continue
        if address not in found:
            found.append(address)
    return tuple(found)


def is_local_name(name: str) -> bool:
    """``localhost`` and ``*.localhost``: loopback by name (RFC 6761 section 6.3), whatever a resolver says."""
    lowered = name.lower().rstrip(".")
    return lowered == "localhost" or lowered.endswith(".localhost")


def is_loopback(host: str, resolve: Resolver = resolve_addresses) -> bool:
    """Whether ``host[:port]`` names this machine: ``localhost``, a loopback IP literal, or a host name whose
    addresses are all loopback (``myhost`` in ``/etc/hosts`` as 127.0.0.1).

    docker checks a registry name's resolved addresses against its insecure ranges (127.0.0.0/8 among them); we
    do the same, but require *every* address to be loopback: a name that also resolves elsewhere could be
    reached elsewhere, and loopback is what lets plain HTTP carry credentials.
    """
    name, _ = split_host(host)
    if is_local_name(name):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    if not _DNS_NAME.match(name) or name.replace(".", "").isdigit():
        return False
    addresses = resolve(name)
    return bool(addresses) and all(address.is_loopback for address in addresses)


def is_insecure(host: str, settings: Settings) -> bool:
    """Whether the user listed ``host`` (as ``host:port`` or bare ``host``) as an insecure registry."""
    name, _ = split_host(host)
    return host in settings.insecure_registries or name in settings.insecure_registries


def allows_plain_http(host: str, settings: Settings) -> bool:
    """Plain HTTP is allowed only for loopback hosts and hosts on the insecure list (issue 2, item 4)."""
    return is_loopback(host) or is_insecure(host, settings)


# -- the proxy policy -----------------------------------------------------------------------------


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


class ProxyFailure(httpx.ProxyError):
    """The proxy, not the registry, failed: refused the connection, asked for credentials (407), or refused the
    ``CONNECT``. Carries the proxy URL with its credentials removed."""

    def __init__(self, message: str, *, proxy: str, request: httpx.Request) -> None:
        super().__init__(message, request=request)
        self.proxy = proxy


class _ProxySelectingTransport(httpx.BaseTransport):
    """Sends each request direct or through the proxy ``proxy_for`` picks for its URL.

    Per request, not per client: the registry client follows redirects (blob storage on another host) with the
    same ``httpx.Client``, and whether that host is proxied is decided by its own name. httpx's own environment
    handling is off (``trust_env=False``): it proxies loopback and knows no CIDR ``NO_PROXY`` entries.
    """

    def __init__(self, settings: Settings, context: ssl.SSLContext) -> None:
        self._settings = settings
        self._context = context
        self._direct = httpx.HTTPTransport(verify=context, trust_env=False)
        self._proxied: dict[str, httpx.HTTPTransport] = {}
        self._lock = threading.Lock()

    def _transport(self, proxy: str) -> httpx.HTTPTransport:
        with self._lock:
            transport = self._proxied.get(proxy)
            if transport is None:
                origin = "HTTPS_PROXY" if proxy == self._settings.https_proxy else "HTTP_PROXY"
                transport = httpx.HTTPTransport(verify=self._context, trust_env=False,
                                                proxy=httpx.Proxy(proxy_url(proxy, origin)))
                self._proxied[proxy] = transport
            return transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        proxy = proxy_for(request.url, self._settings)
        if proxy is None:
            return self._direct.handle_request(request)
        shown = redact_proxy(proxy if "://" in proxy else f"http://{proxy}")
        try:
            response = self._transport(proxy).handle_request(request)
        except httpx.ProxyError as exc:  # CONNECT answered with something other than 2xx (407 included)
            raise ProxyFailure(f"{exc}", proxy=shown, request=request) from exc
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if _find_cause(exc, ssl.SSLError) is not None:
                raise  # the TLS handshake with the registry, through the tunnel: the registry's problem
            raise ProxyFailure(f"{exc or type(exc).__name__}", proxy=shown, request=request) from exc
        if response.status_code == 407:  # a plain-HTTP request the proxy wants credentials for (RFC 9110 15.5.8)
            response.close()
            raise ProxyFailure("407 Proxy Authentication Required", proxy=shown, request=request)
        return response

    def close(self) -> None:
        self._direct.close()
        for transport in self._proxied.values():
            transport.close()


# -- building the client ------------------------------------------------------------------------


# Loading the system CA store costs ~18 ms of CPU per context; verifying a hundred images concurrently builds
# a hundred clients. Contexts are shared (an SSLContext is safe to use from many connections and threads) and
# keyed by everything they are built from, file stamps included, so an edited CA file is picked up.
_CONTEXTS: dict[tuple[object, ...], ssl.SSLContext] = {}
_CONTEXTS_LOCK = threading.Lock()


def ssl_context(settings: Settings, host: str, *, insecure: bool) -> ssl.SSLContext:
    """The TLS context for ``host``: system CAs + ``settings.ca_file`` + ``certs_dir/<host>/*.crt``, and a
    client certificate from ``certs_dir/<host>/*.cert`` with its ``.key`` (docker's certs.d layout)."""
    key = _context_key(settings, host, insecure)
    with _CONTEXTS_LOCK:
        context = _CONTEXTS.get(key)
        if context is None:
            context = _new_ssl_context(settings, host, insecure=insecure)
            if len(_CONTEXTS) >= 64:
                _CONTEXTS.clear()
            _CONTEXTS[key] = context
        return context


def _context_key(settings: Settings, host: str, insecure: bool) -> tuple[object, ...]:
    files: list[Path] = [settings.ca_file] if settings.ca_file is not None else []
    host_dir = settings.certs_dir / host
    if host_dir.is_dir():
        files.extend(sorted(host_dir.iterdir()))
    stamps: list[tuple[str, tuple[int, int, int] | None]] = []
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            stamps.append((str(path), None))
            continue
        stamps.append((str(path), (stat.st_mtime_ns, stat.st_size, stat.st_ino)))
    return (host, insecure, str(settings.certs_dir), tuple(stamps))


def _new_ssl_context(settings: Settings, host: str, *, insecure: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if insecure:
        # The user asked for it by listing the host; the client certificate still goes out below.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if settings.ca_file is not None:
        _load_cas(context, settings.ca_file, "--ca-file")
    host_dir = settings.certs_dir / host
    if host_dir.is_dir():
        for ca in sorted(host_dir.glob("*.crt")):
            _load_cas(context, ca, "certs.d")
        for cert in sorted(host_dir.glob("*.cert")):
            key = cert.with_suffix(".key")
            if not key.is_file():
                raise ConfigurationError(
                    f"client certificate {cert} has no matching key {key.name}",
                    hint=f"put the private key of {cert.name} next to it as {key.name}",
                )
            try:
                context.load_cert_chain(cert, key)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigurationError(
                    f"cannot load client certificate {cert}: {exc}",
                    hint="client.cert must be a PEM certificate and client.key its unencrypted PEM key",
                ) from exc
    return context


def _load_cas(context: ssl.SSLContext, path: Path, origin: str) -> None:
    try:
        context.load_verify_locations(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"cannot load CA certificates from {path} ({origin}): {exc}",
            hint="give a readable PEM file of CA certificates",
        ) from exc


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
    context = ssl_context(settings, host, insecure=insecure)
    return httpx.Client(
        verify=context,
        trust_env=False,
        timeout=httpx.Timeout(settings.timeout),
        headers={"User-Agent": user_agent(settings)},
        follow_redirects=False,
        event_hooks={"request": [_log_request], "response": [_log_response]},
        transport=transport if transport is not None else _ProxySelectingTransport(settings, context),
    )


def user_agent(settings: Settings) -> str:
    """``supplychain/<version> (python-httpx/<version>)`` (the product name from ``settings.user_agent``)."""
    return f"{settings.user_agent}/{__version__} (python-httpx/{httpx.__version__})"


# -- logging, with secrets redacted ---------------------------------------------------------------


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


def _log_request(request: httpx.Request) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("> %s %s %s", request.method, redact_url(request.url), redact_headers(request.headers))


def _log_response(response: httpx.Response) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "< %s %s %s %s",
            response.status_code,
            response.request.method,
            redact_url(response.request.url),
            redact_headers(response.headers),
        )


# -- retries ------------------------------------------------------------------------------------


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
    if _find_cause(exc, ssl.SSLError) is not None:
        return False
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError):
        return True
    return isinstance(exc, httpx.ConnectError) and _find_cause(exc, ConnectionResetError) is not None


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


def url_host(url: httpx.URL) -> str:
    """``host[:port]`` of ``url`` as docker names it (the port only when explicit)."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{url.port}" if url.port is not None else host


# -- the one mapping of transport failures --------------------------------------------------------


def map_transport_error(
    exc: BaseException, *, host: str, certs_dir: Path = DEFAULT_CERTS_DIR
) -> SupplyChainError:
    """The supplychain error for an httpx/ssl/socket failure while talking to ``host``; raise it ``from exc``.

    Certificate problems become ``TLSError`` with docker's wording ("x509: ...") and the two remedies
    (``--ca-file`` and ``<certs_dir>/<host:port>/ca.crt``); everything else ``UnavailableError`` naming
    the host.
    """
    ca_hint = (
        f"if {host} uses a private CA, pass its certificate with --ca-file or install it as "
        f"{certs_dir / host / 'ca.crt'}; or, only for a test registry, list it in "
        "SUPPLYCHAIN_INSECURE_REGISTRIES"
    )
    proxy = _find_cause(exc, ProxyFailure)
    if proxy is not None:
        return UnavailableError(
            f"the proxy {proxy.proxy} failed to reach {host}: {proxy}",
            hint="check the proxy (HTTPS_PROXY for https, HTTP_PROXY for http), or list the registry in NO_PROXY "
            "to reach it directly",
        )
    verify = _find_cause(exc, ssl.SSLCertVerificationError)
    if verify is not None and verify.verify_code in (62, 64):  # X509_V_ERR_HOSTNAME_MISMATCH / IP_ADDRESS_MISMATCH
        # Not a CA problem: installing a CA cannot help. Say which names the certificate is valid for.
        names = _certificate_names(host)
        valid = f"its certificate is valid for {', '.join(names)}" if names else "its certificate names another host"
        return TLSError(
            f"tls: cannot verify {host}: x509: certificate is not valid for this host ({split_host(host)[0]}); {valid}",
            hint=f"reach the registry by a name its certificate lists ({', '.join(names)})" if names else
            f"reach the registry by a name its certificate lists, or have its certificate issued for {host}",
        )
    if verify is not None:
        return TLSError(f"tls: cannot verify {host}: {_x509_reason(verify)}", hint=ca_hint)
    tls = _find_cause(exc, ssl.SSLError)
    if tls is not None:
        reason = (tls.reason or str(tls)).lower().replace("_", " ")
        if "certificate required" in reason or "bad certificate" in reason or "unknown ca" in reason:
            return TLSError(
                f"remote error: tls: {host} refused our client certificate ({reason})",
                hint=f"put the client certificate and key {host} expects in {certs_dir / host}/client.cert "
                "and client.key",
            )
        return TLSError(
            f"tls handshake with {host} failed: {reason}",
            hint=f"check that {host} serves HTTPS on that port; {ca_hint}",
        )
    if isinstance(exc, httpx.TimeoutException):
        kind = {
            httpx.ConnectTimeout: "connecting to",
            httpx.ReadTimeout: "waiting for an answer from",
            httpx.WriteTimeout: "sending to",
            httpx.PoolTimeout: "waiting for a connection to",
        }.get(type(exc), "talking to")
        return UnavailableError(
            f"timed out {kind} {host}",
            hint="check the network and the registry, or raise SUPPLYCHAIN_TIMEOUT",
        )
    if _find_cause(exc, ConnectionRefusedError) is not None or "connection refused" in str(exc).lower():
        return UnavailableError(
            f"connection refused by {host}", hint=f"is a registry running at {host}? check the host and port"
        )
    if _find_cause(exc, socket.gaierror) is not None:
        return UnavailableError(
            f"cannot resolve {host}: {_find_cause(exc, socket.gaierror)}",
            hint="check the registry host name and your DNS",
        )
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError | httpx.CloseError):
        return UnavailableError(
            f"connection to {host} was lost: {exc or type(exc).__name__}",
            hint="retry; if it persists check proxies and the registry's logs",
        )
    if isinstance(exc, httpx.TransportError):
        return UnavailableError(f"cannot talk to {host}: {exc or type(exc).__name__}",
                                hint="check the network and the registry address")
    if isinstance(exc, OSError):
        return UnavailableError(
            f"cannot talk to {host}: {exc}", hint="check the network and the registry address"
        )
    # StreamConsumed, InvalidURL and friends: our bug, not the network's.
    return SupplyChainError(f"internal error talking to {host}: {type(exc).__name__}: {exc}",
                            hint="please report this")


def certificate_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure behind ``exc`` (any depth of ``__cause__``/``__context__``)."""
    return _find_cause(exc, ssl.SSLCertVerificationError)


def tls_peer_answered(exc: BaseException) -> bool:
    """Whether a TLS failure behind ``exc`` was an alert sent by the peer: it speaks TLS (so a plain-HTTP
    fallback would be wrong), it just did not accept us."""
    err = _find_cause(exc, ssl.SSLError)
    return err is not None and "alert" in (err.reason or "").lower()


def timed_out(exc: BaseException) -> bool:
    """Whether ``exc`` comes from a timeout. A peer that stays silent through a TLS handshake is not a plain-HTTP
    server (one of those answers a ClientHello with a 400 or hangs up at once): trying plain HTTP next would only
    wait a second full timeout (issue 8, item 20)."""
    return _find_cause(exc, httpx.TimeoutException) is not None


def _x509_reason(err: ssl.SSLCertVerificationError) -> str:
    """OpenSSL's verify code in the words docker/Go users know (crypto/x509 error strings)."""
    code = err.verify_code
    if code in (2, 19, 20, 21):  # unable to get issuer cert / self-signed in chain / local issuer / leaf
        return "x509: certificate signed by unknown authority"
    if code == 18:
        return "x509: certificate signed by unknown authority (self-signed certificate)"
    if code == 10:
        return "x509: certificate has expired or is not yet valid"
    if code == 9:
        return "x509: certificate is not yet valid"
    if code == 62:
        return f"x509: certificate is not valid for this host ({err.verify_message})"
    return f"x509: {err.verify_message or err.reason or err}"


_MAX_NAMES_SHOWN = 8


def _certificate_names(host: str) -> list[str]:
    """The DNS names and IP addresses in the certificate ``host`` serves (its subjectAltName), read over a second,
    unverified handshake that sends nothing else; [] when that fails. Only to explain a name mismatch."""
    from cryptography import x509  # here: only a TLS name mismatch needs it

    hostname, port = split_host(host)
    try:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with socket.create_connection((hostname, port or 443), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname=hostname) as tls:
            der = tls.getpeercert(binary_form=True)
        if der is None:
            return []
        names = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return []
    found = [*names.get_values_for_type(x509.DNSName), *map(str, names.get_values_for_type(x509.IPAddress))]
    return found[:_MAX_NAMES_SHOWN] + (["..."] if len(found) > _MAX_NAMES_SHOWN else [])


def _find_cause(exc: BaseException, kind: type[_E]) -> _E | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
