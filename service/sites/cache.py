"""Every registered site and key, held in memory so that checking a site code reads no database.

`check` parses a code and verifies it offline: one signature verification against a public key loaded
once, then the site's validity and the key's retirement and revocation. Each process looks for registry
changes every couple of seconds (tasks.py: one single-row read of `sites_registry.version`); an admin
change in this process refreshes at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.ext.asyncio import async_sessionmaker

from service.factors.model import SiteKind
from service.sites import codes, repository
from service.sites.errors import SiteCodeSignature, SiteCodeUnknown, SiteInactive
from service.sites.models import Site, SiteKey

logger = logging.getLogger(__name__)

# Codes kept once they passed: a minute's codes of every site of a large district.
PASSED_CODES = 20_000


@dataclass(frozen=True, slots=True)
class CheckedCode:
    """A code that passed every check: the site it names and the window it was shown in."""

    site_id: int
    site_code: str
    kind: SiteKind
    latitude: float
    longitude: float
    owner_partner_id: int | None
    window_start: datetime
    window_end: datetime
    digest: str


@dataclass(frozen=True, slots=True)
class CachedKey:
    public_key: Ed25519PublicKey
    raw: bytes
    retired_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class CachedSite:
    id: int
    code: str
    kind: SiteKind
    latitude: float
    longitude: float
    owner_partner_id: int | None
    valid_from: datetime
    valid_to: datetime | None
    keys: dict[int, CachedKey]


class SiteCache:
    def __init__(self) -> None:
        self._sites: dict[int, CachedSite] = {}
        # None until the first load: the first poll always loads
        self._version: int | None = None
        self._lock = asyncio.Lock()
        # Codes that passed, by their text, under the registry as loaded: a station's screen shows one code
        # a minute to every rider who scans it, so most checks are of a code checked a moment ago. Emptied
        # with every load, so a revocation takes effect as soon as the registry is read again.
        self._passed: dict[str, CheckedCode] = {}

    @property
    def version(self) -> int | None:
        """The registry version the cache holds, None before its first load."""
        return self._version

    def check(self, text: str) -> CheckedCode:
        """The site and window of a genuine code that counts; else SiteCodeMalformed, SiteCodeUnknown,
        SiteCodeSignature or SiteInactive, checked in that order."""
        passed = self._passed.get(text)
        if passed is not None:
            return passed
        code = codes.parse(text)
        site = self._sites.get(code.site_id)
        key = site.keys.get(code.key_number) if site is not None else None
        if site is None or key is None:
            raise SiteCodeUnknown(
                f"No site {code.site_id} with a key number {code.key_number}.",
                f"没有编号为 {code.site_id}、密钥编号为 {code.key_number} 的站点。",
            )
        try:
            key.public_key.verify(code.signature, code.signed_bytes)
        except InvalidSignature:
            raise SiteCodeSignature from None
        if key.revoked_at is not None:
            raise SiteInactive(
                f"Key {code.key_number} of site {site.code} is revoked.",
                f"站点 {site.code} 的 {code.key_number} 号密钥已吊销。",
            )
        if key.retired_at is not None and code.window_start >= key.retired_at:
            raise SiteInactive(
                f"Key {code.key_number} of site {site.code} was retired before this window.",
                f"站点 {site.code} 的 {code.key_number} 号密钥在该时间窗之前已停用。",
            )
        if code.window_end <= site.valid_from or (site.valid_to is not None and code.window_start >= site.valid_to):
            raise SiteInactive(
                f"Site {site.code} is not in service in this code's window.",
                f"站点 {site.code} 在该站点码的时间窗内不在有效期内。",
            )
        passed = CheckedCode(
            site_id=site.id,
            site_code=site.code,
            kind=site.kind,
            latitude=site.latitude,
            longitude=site.longitude,
            owner_partner_id=site.owner_partner_id,
            window_start=code.window_start,
            window_end=code.window_end,
            digest=code.digest,
        )
        if len(self._passed) >= PASSED_CODES:
            self._passed.clear()
        self._passed[text] = passed
        return passed

    def _build(self, sites: Sequence[Site], keys: Sequence[SiteKey]) -> dict[int, CachedSite]:
        # Public keys never change, so a key already loaded is kept rather than parsed again.
        loaded = {key.raw: key.public_key for site in self._sites.values() for key in site.keys.values()}
        keys_of: dict[int, dict[int, CachedKey]] = {}
        for key in keys:
            public_key = loaded.get(key.public_key) or Ed25519PublicKey.from_public_bytes(key.public_key)
            keys_of.setdefault(key.site_id, {})[key.key_number] = CachedKey(
                public_key, key.public_key, key.retired_at, key.revoked_at
            )
        return {
            site.id: CachedSite(
                id=site.id,
                code=site.code,
                kind=SiteKind(site.kind),
                latitude=float(site.latitude),
                longitude=float(site.longitude),
                owner_partner_id=site.owner_partner_id,
                valid_from=site.valid_from,
                valid_to=site.valid_to,
                keys=keys_of.get(site.id, {}),
            )
            for site in sites
        }

    async def refresh(self, sessionmaker: async_sessionmaker) -> None:  # type: ignore[type-arg]
        """Load every site and key, replacing what the cache holds in one step."""
        async with self._lock, sessionmaker() as session:
            version, sites, keys = await repository.load_registry(session)
            self._sites = self._build(sites, keys)
            self._passed = {}
            if version != self._version:
                logger.info("site registry cached", extra={"version": version, "sites": len(sites)})
            self._version = version

    async def refresh_if_newer(self, sessionmaker: async_sessionmaker) -> None:  # type: ignore[type-arg]
        """Refresh when the registry changed since the last load (one single-row read)."""
        async with sessionmaker() as session:
            version = await repository.registry_version(session)
        if version != self._version:
            await self.refresh(sessionmaker)
