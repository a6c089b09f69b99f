"""Which hosts may be reached how: ``host[:port]`` spelling, loopback (by name, literal or resolved address), the
user's insecure list, and the plain-HTTP rule built from them (issue 2, item 4)."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable

import httpx

from supplychain.config import Settings


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


def url_host(url: httpx.URL) -> str:
    """``host[:port]`` of ``url`` as docker names it (the port only when explicit)."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{url.port}" if url.port is not None else host
