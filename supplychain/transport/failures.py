"""The one place transport failures become supplychain errors: httpx/ssl/socket exceptions to ``UnavailableError``
or ``TLSError`` with a remedy (docker's wording for x509 problems), and the questions callers ask of a failure
(was it a certificate, a TLS alert, a timeout) answered by walking its ``__cause__``/``__context__`` chain."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import TypeVar

import httpx

from supplychain.errors import SupplyChainError, TLSError, UnavailableError
from supplychain.transport.hosts import split_host

_E = TypeVar("_E", bound=BaseException)

# docker's certs.d directory (Settings.certs_dir defaults to the same): named in hints when the caller gives none.
DEFAULT_CERTS_DIR = Path("/etc/docker/certs.d")


class ProxyFailure(httpx.ProxyError):
    """The proxy, not the registry, failed: refused the connection, asked for credentials (407), or refused the
    ``CONNECT``. Carries the proxy URL with its credentials removed."""

    def __init__(self, message: str, *, proxy: str, request: httpx.Request) -> None:
        super().__init__(message, request=request)
        self.proxy = proxy



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
    proxy = find_cause(exc, ProxyFailure)
    if proxy is not None:
        return UnavailableError(
            f"the proxy {proxy.proxy} failed to reach {host}: {proxy}",
            hint="check the proxy (HTTPS_PROXY for https, HTTP_PROXY for http), or list the registry in NO_PROXY "
            "to reach it directly",
        )
    verify = find_cause(exc, ssl.SSLCertVerificationError)
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
    tls = find_cause(exc, ssl.SSLError)
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
    if find_cause(exc, ConnectionRefusedError) is not None or "connection refused" in str(exc).lower():
        return UnavailableError(
            f"connection refused by {host}", hint=f"is a registry running at {host}? check the host and port"
        )
    if find_cause(exc, socket.gaierror) is not None:
        return UnavailableError(
            f"cannot resolve {host}: {find_cause(exc, socket.gaierror)}",
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
    return find_cause(exc, ssl.SSLCertVerificationError)


def tls_peer_answered(exc: BaseException) -> bool:
    """Whether a TLS failure behind ``exc`` was an alert sent by the peer: it speaks TLS (so a plain-HTTP
    fallback would be wrong), it just did not accept us."""
    err = find_cause(exc, ssl.SSLError)
    return err is not None and "alert" in (err.reason or "").lower()


def timed_out(exc: BaseException) -> bool:
    """Whether ``exc`` comes from a timeout. A peer that stays silent through a TLS handshake is not a plain-HTTP
    server (one of those answers a ClientHello with a 400 or hangs up at once): trying plain HTTP next would only
    wait a second full timeout (issue 8, item 20)."""
    return find_cause(exc, httpx.TimeoutException) is not None


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


def find_cause(exc: BaseException, kind: type[_E]) -> _E | None:
    """The first ``kind`` in ``exc``'s chain of causes and contexts (``exc`` itself included), or ``None``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
