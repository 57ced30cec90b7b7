"""Where a host or a database URL points: this machine, a private network, or the internet."""

from __future__ import annotations

import ipaddress

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_internal_host(host: str) -> bool:
    """A host name or address of this machine or of a private, link-local or otherwise unroutable network."""
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        return not is_public(host.strip("[]"))
    except ValueError:
        return False


def is_local_database(url: str) -> bool:
    """A database URL whose server is this machine: a Unix socket, localhost or a loopback address."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return False
    query_host = parsed.query.get("host")
    host = parsed.host or (query_host if isinstance(query_host, str) else None)
    return host is None or host.startswith("/") or is_loopback(host)


# IPv6 prefixes that carry an IPv4 address a gateway translates to: NAT64 (RFC 6052, RFC 8215). Python
# counts them global, yet 64:ff9b::a9fe:a9fe reaches 169.254.169.254 on a host behind DNS64/NAT64.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for: mapped, NAT64, 6to4, Teredo or IPv4-compatible."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if any(ip in network for network in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if int(ip) >> 32 == 0 and int(ip) > 1:  # ::a.b.c.d, deprecated but still routed by some stacks
        return ipaddress.IPv4Address(int(ip))
    return None


def is_public(address: str) -> bool:
    """A global unicast address, and, for an IPv6 address that stands for an IPv4 one, that one too."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    embedded = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    if embedded is not None and not (embedded.is_global and not embedded.is_multicast):
        return False
    return ip.is_global and not ip.is_multicast
