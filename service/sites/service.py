"""The site registry's writes and reads: registering, listing and changing sites, rotating and revoking keys.

Each write takes the operator and logs itself in the same transaction. A key pair the service makes has
its private seed answered once and kept nowhere: not in the database, the action log or a log line.
Caches learn of a change from the database once the transaction has committed (the registry version).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import actions
from service.accounts.tokens import Principal
from service.db import ReadSession
from service.factors.model import SiteKind
from service.kit.pagination import decode_cursor, encode_cursor
from service.sites import keypairs, repository
from service.sites.errors import (
    SiteCodeTaken,
    SiteKeyNotFound,
    SiteKeyRevoked,
    SiteKeysExhausted,
    SiteNotFound,
    SiteOwnerUnknown,
    SiteValidityInvalid,
)
from service.sites.models import MAX_KEY_NUMBER, Site, SiteKey
from service.sites.schemas import (
    SiteCreate,
    SiteDetail,
    SiteKeyIssued,
    SiteKeyRead,
    SitePage,
    SiteRead,
    SiteUpdate,
)


def key_read(key: SiteKey) -> SiteKeyRead:
    return SiteKeyRead(
        key_number=key.key_number,
        public_key=keypairs.encode(key.public_key),
        created_at=key.created_at,
        retired_at=key.retired_at,
        revoked_at=key.revoked_at,
        revoke_reason=key.revoke_reason,
    )


def _fields(site: Site) -> dict[str, Any]:
    return {
        "id": site.id,
        "code": site.code,
        "name_zh": site.name_zh,
        "name_en": site.name_en,
        "kind": SiteKind(site.kind),
        "latitude": float(site.latitude),
        "longitude": float(site.longitude),
        "owner_partner_id": site.owner_partner_id,
        "valid_from": site.valid_from,
        "valid_to": site.valid_to,
        "window_minutes": site.window_minutes,
        "created_at": site.created_at,
        "updated_at": site.updated_at,
    }


async def _detail(session: AsyncSession | ReadSession, site: Site) -> SiteDetail:
    keys = await repository.site_keys(session, site.id)
    return SiteDetail(**_fields(site), keys=[key_read(key) for key in keys])


async def _check_owner(session: AsyncSession, owner_partner_id: int | None) -> None:
    if owner_partner_id is not None and not await repository.partner_exists(session, owner_partner_id):
        raise SiteOwnerUnknown(errors=[_problem("owner_partner_id", "UNKNOWN_PARTNER", "no data partner has this id")])


def _problem(field: str, code: str, message: str) -> dict[str, str]:
    return {"field": field, "in": "body", "code": code, "message": message}


def _check_validity(valid_from: datetime, valid_to: datetime | None) -> None:
    if valid_to is not None and valid_to <= valid_from:
        raise SiteValidityInvalid(errors=[_problem("valid_to", "NOT_AFTER_VALID_FROM", "must come after valid_from")])


async def _issue_key(
    session: AsyncSession, *, site_id: int, key_number: int, public_key: str | None
) -> tuple[SiteKey, str | None]:
    """Store a key: the one given, or a new pair's public half; the private seed of a new pair is returned,
    never stored."""
    if public_key is not None:
        return await repository.insert_key(
            session, site_id=site_id, key_number=key_number, public_key=keypairs.decode(public_key)
        ), None
    seed, public = keypairs.generate()
    key = await repository.insert_key(session, site_id=site_id, key_number=key_number, public_key=public)
    return key, keypairs.encode(seed)


async def register(session: AsyncSession, *, operator: Principal | None, data: SiteCreate) -> SiteKeyIssued:
    """Register a site with its first key, and log it."""
    _check_validity(data.valid_from, data.valid_to)
    await _check_owner(session, data.owner_partner_id)
    site = await repository.insert_site(session, data.model_dump(exclude={"public_key"}) | {"kind": data.kind.value})
    if site is None:
        raise SiteCodeTaken(f"Another site has the code {data.code}.", f"代码 {data.code} 已被其他站点使用。")
    key, private_key = await _issue_key(session, site_id=site.id, key_number=1, public_key=data.public_key)
    await actions.log(
        session,
        operator,
        "site.register",
        f"site:{site.id}",
        code=site.code,
        kind=site.kind,
        key_number=key.key_number,
        public_key=keypairs.encode(key.public_key),
    )
    return SiteKeyIssued(site=await _detail(session, site), key_number=key.key_number, private_key=private_key)


async def sites(
    session: ReadSession, *, kind: SiteKind | None, owner_partner_id: int | None, cursor: str | None, limit: int
) -> SitePage:
    """A page of sites by id, of one kind or one owner if asked."""
    rows = await repository.list_sites(
        session,
        kind=kind.value if kind else None,
        owner_partner_id=owner_partner_id,
        after=decode_cursor(cursor) or 0,
        limit=limit + 1,
    )
    items = [SiteRead(**_fields(site)) for site in rows[:limit]]
    return SitePage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


async def site(session: ReadSession, *, site_id: int) -> SiteDetail:
    found = await repository.get_site(session, site_id)
    if found is None:
        raise SiteNotFound
    return await _detail(session, found)


async def update(session: AsyncSession, *, operator: Principal | None, site_id: int, data: SiteUpdate) -> SiteDetail:
    """Change a site's names, owner, validity or window, and log what changed."""
    found = await repository.lock_site(session, site_id)
    if found is None:
        raise SiteNotFound
    changes = data.model_dump(include=data.model_fields_set)
    _check_validity(changes.get("valid_from", found.valid_from), changes.get("valid_to", found.valid_to))
    if "owner_partner_id" in changes:
        await _check_owner(session, changes["owner_partner_id"])
    if not changes:
        return await _detail(session, found)
    updated = await repository.update_site(session, site_id, changes)
    await actions.log(
        session, operator, "site.update", f"site:{site_id}", **{name: _logged(value) for name, value in changes.items()}
    )
    return await _detail(session, updated)


def _logged(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


async def rotate_key(
    session: AsyncSession, *, operator: Principal | None, site_id: int, public_key: str | None
) -> SiteKeyIssued:
    """Issue the site's next key and retire the active one now: codes it signed for earlier windows still
    count, later ones do not."""
    found = await repository.lock_site(session, site_id)
    if found is None:
        raise SiteNotFound
    numbers = [key.key_number for key in await repository.site_keys(session, site_id)]
    key_number = max(numbers, default=0) + 1
    if key_number > MAX_KEY_NUMBER:
        raise SiteKeysExhausted
    retired = await repository.retire_active_key(session, site_id)
    key, private_key = await _issue_key(session, site_id=site_id, key_number=key_number, public_key=public_key)
    await actions.log(
        session,
        operator,
        "site.key.rotate",
        f"site:{site_id}",
        key_number=key_number,
        public_key=keypairs.encode(key.public_key),
        retired_key_number=retired,
    )
    return SiteKeyIssued(site=await _detail(session, found), key_number=key_number, private_key=private_key)


async def revoke_key(
    session: AsyncSession, *, operator: Principal | None, site_id: int, key_number: int, reason: str
) -> SiteKeyRead:
    """Revoke a key at once, retired or not: every code it signed is refused from then on."""
    if await repository.lock_site(session, site_id) is None:
        raise SiteNotFound
    key = next((k for k in await repository.site_keys(session, site_id) if k.key_number == key_number), None)
    if key is None:
        raise SiteKeyNotFound
    if key.revoked_at is not None:
        raise SiteKeyRevoked
    revoked = await repository.revoke_key(session, key_id=key.id, reason=reason)
    await actions.log(session, operator, "site.key.revoke", f"site:{site_id}", reason=reason, key_number=key_number)
    return key_read(revoked)
