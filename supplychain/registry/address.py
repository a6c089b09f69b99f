"""IP literals in URLs, classified: is a host name really a loopback, link-local, private or public address?

Used to refuse token realms that point into the local network (the 169.254.169.254 metadata service, RFC 1918
ranges) and to recognise loopback, including the legacy IPv4 spellings resolvers accept and IPv4 addresses
embedded in IPv6 (mapped, 6to4, Teredo), which would otherwise slip past a dotted-quad check.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import unquote

_NUMERIC_HOST = re.compile(r"^[0-9a-fA-FxX.]+$")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def ip_literal(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is one, including the legacy IPv4 forms resolvers accept
    (``2130706433``, ``0x7f.1``, ``127.1``: inet_aton), which would otherwise slip past a dotted-quad check."""
    text = unquote(host).strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _NUMERIC_HOST.match(text) and any(c.isdigit() for c in text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv6Address):
        return address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
    return None


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast (RFC 6890 registries), including any IPv4 address embedded in IPv6."""
    if not address.is_global or address.is_multicast:
        return False
    embedded = embedded_ipv4(address)
    return embedded is None or is_public(embedded)


def is_loopback_address(address: IPAddress) -> bool:
    embedded = embedded_ipv4(address)
    return address.is_loopback or (embedded is not None and embedded.is_loopback)


def address_kind(address: IPAddress) -> str:
    embedded = embedded_ipv4(address) or address
    if embedded.is_loopback:
        return "loopback"
    if embedded.is_link_local:
        return "link-local (cloud metadata service)"
    if embedded.is_unspecified:
        return "unspecified"
    if embedded.is_private:
        return "private"
    if embedded.is_multicast:
        return "multicast"
    return "non-public"
