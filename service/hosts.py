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
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return not address.is_global


def is_local_database(url: str) -> bool:
    """A database URL whose server is this machine: a Unix socket, localhost or a loopback address."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return False
    query_host = parsed.query.get("host")
    host = parsed.host or (query_host if isinstance(query_host, str) else None)
    return host is None or host.startswith("/") or is_loopback(host)
