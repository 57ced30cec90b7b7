"""Where a webhook may be sent. Outside development and test an endpoint's URL must be https; in
production its host must resolve to public (global) addresses only, checked when the endpoint is
registered or changed and again at every attempt, since what a name resolves to can change: the
dispatcher's connections go through `PublicOnlyBackend`, which resolves the host itself, refuses a
private, loopback, link-local or otherwise non-global address, and connects to the address it checked
(TLS still verifies the certificate against the host's name)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore

from service.config import Environment, Settings
from service.hosts import is_public
from service.webhooks.errors import WebhookUrlInvalid, WebhookUrlNotHttps, WebhookUrlNotPublic

_RELAXED = {Environment.development, Environment.test}


class AddressNotPublic(Exception):
    """A host resolved to an address a webhook may not reach, or to none."""


def _port(scheme: str, port: int | None) -> int:
    return port if port is not None else (443 if scheme == "https" else 80)


def parse(url: str, settings: Settings) -> tuple[str, int]:
    """The host and port of a well-formed webhook URL, https unless the service runs for development or
    tests; the errors name what is wrong."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookUrlInvalid("The URL cannot be read.", "无法解析该地址。") from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookUrlInvalid("Give an absolute https URL with a host.", "请提供包含主机名的完整 https 地址。")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlInvalid(
            "A webhook URL carries no user name or password; deliveries are signed instead.",
            "Webhook 地址不可包含用户名或密码；投递已签名。",
        )
    if parts.fragment:
        raise WebhookUrlInvalid("A webhook URL has no #fragment.", "Webhook 地址不可包含 # 片段。")
    if parts.scheme != "https" and settings.env not in _RELAXED:
        raise WebhookUrlNotHttps("Deliveries go to https URLs only.", "仅向 https 地址投递。")
    return parts.hostname, _port(parts.scheme, port)


async def public_addresses(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, all of them public; else AddressNotPublic."""
    try:
        ipaddress.ip_address(host)
        found: Iterable[str] = [host]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise AddressNotPublic(f"{host} does not resolve") from exc
        found = [str(info[4][0]) for info in infos]
    addresses = list(dict.fromkeys(found))
    if not addresses:
        raise AddressNotPublic(f"{host} does not resolve")
    if not all(is_public(a) for a in addresses):
        raise AddressNotPublic(f"{host} resolves to an address that is not public")
    return addresses


async def check(url: str, settings: Settings) -> None:
    """Refuse a URL deliveries could not or must not go to: malformed, not https outside development and
    tests, or, in production, a host that does not resolve to public addresses only."""
    host, port = parse(url, settings)
    if settings.is_production:
        try:
            await public_addresses(host, port)
        except AddressNotPublic as exc:
            raise WebhookUrlNotPublic(
                "The URL's host must resolve to public internet addresses only.",
                "该地址的主机须只解析到公网地址。",
            ) from exc


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """Connects only to public addresses: the host is resolved and checked here, then the connection is
    made to the address checked, so a name cannot resolve to something else in between."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = (await public_addresses(host, port))[0]
        return await self._inner.connect_tcp(
            address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressNotPublic("webhooks are never sent to a local socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
