"""Host names in URLs, classified: is a host really a loopback, link-local, private or public address?

Used to refuse token realms that point into the local network (the 169.254.169.254 metadata service, RFC 1918
ranges) and to recognise loopback, including the legacy IPv4 spellings resolvers accept and IPv4 addresses
embedded in IPv6 (mapped, 6to4, Teredo), which would otherwise slip past a dotted-quad check. A host *name* is
classified by name (``localhost``, ``*.localhost``) and by every address it resolves to (``host_addresses``):
a realm ``https://localhost:PORT/`` or a name whose DNS answer is 10.0.0.5 points into the local network as
surely as the literal does.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import unquote

from supplychain.transport import IPAddress, Resolver, is_local_name, resolve_addresses

_NUMERIC_HOST = re.compile(r"^[0-9a-fA-FxX.]+$")

__all__ = ["IPAddress", "Resolver", "address_kind", "host_addresses", "ip_literal", "is_loopback_address",
           "is_public"]


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


def host_addresses(host: str, resolve: Resolver = resolve_addresses) -> tuple[IPAddress, ...]:
    """The addresses a URL's host stands for: itself when it is an IP literal (any spelling), loopback for
    ``localhost``/``*.localhost`` (RFC 6761: never sent to DNS), else every address it resolves to (``()`` when
    it does not resolve: the request would then fail to connect)."""
    literal = ip_literal(host)
    if literal is not None:
        return (literal,)
    name = unquote(host).strip("[]")
    if is_local_name(name):
        return (ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1"))
    return resolve(name.rstrip("."))
