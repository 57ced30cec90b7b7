"""All SQL of the sites domain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Partner
from service.db import ReadSession
from service.sites.models import RegistryVersion, Site, SiteKey


async def partner_exists(session: AsyncSession, partner_id: int) -> bool:
    return await session.scalar(select(Partner.id).where(Partner.id == partner_id)) is not None


async def insert_site(session: AsyncSession, values: dict[str, Any]) -> Site | None:
    """The new site, or None when another site has its code."""
    statement = pg_insert(Site).values(**values).on_conflict_do_nothing(index_elements=[Site.code]).returning(Site)
    return (await session.scalars(statement)).one_or_none()


async def insert_key(session: AsyncSession, *, site_id: int, key_number: int, public_key: bytes) -> SiteKey:
    statement = (
        pg_insert(SiteKey).values(site_id=site_id, key_number=key_number, public_key=public_key).returning(SiteKey)
    )
    return (await session.scalars(statement)).one()


async def get_site(session: AsyncSession | ReadSession, site_id: int) -> Site | None:
    return await session.scalar(select(Site).where(Site.id == site_id))


async def lock_site(session: AsyncSession, site_id: int) -> Site | None:
    """The site, locked until the transaction ends: its keys change one writer at a time."""
    return await session.scalar(select(Site).where(Site.id == site_id).with_for_update())


async def site_keys(session: AsyncSession | ReadSession, site_id: int) -> Sequence[SiteKey]:
    statement = (
        select(SiteKey)
        .where(SiteKey.site_id == site_id)
        .order_by(SiteKey.key_number)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).all()


async def list_sites(
    session: ReadSession, *, kind: str | None, owner_partner_id: int | None, after: int, limit: int
) -> Sequence[Site]:
    statement = select(Site).where(Site.id > after).order_by(Site.id).limit(limit)
    if kind is not None:
        statement = statement.where(Site.kind == kind)
    if owner_partner_id is not None:
        statement = statement.where(Site.owner_partner_id == owner_partner_id)
    return (await session.scalars(statement)).all()


async def update_site(session: AsyncSession, site_id: int, values: dict[str, Any]) -> Site:
    statement = (
        update(Site)
        .where(Site.id == site_id)
        .values(**values, updated_at=func.now())
        .returning(Site)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.scalars(statement)).one()


async def retire_active_key(session: AsyncSession, site_id: int) -> int | None:
    """Retire the site's active key now; its number, or None when it had none."""
    statement = (
        update(SiteKey)
        .where(SiteKey.site_id == site_id, SiteKey.retired_at.is_(None), SiteKey.revoked_at.is_(None))
        .values(retired_at=func.now())
        .returning(SiteKey.key_number)
        .execution_options(synchronize_session=False)
    )
    number: int | None = await session.scalar(statement)
    return number


async def revoke_key(session: AsyncSession, *, key_id: int, reason: str) -> SiteKey:
    statement = (
        update(SiteKey)
        .where(SiteKey.id == key_id)
        .values(revoked_at=func.now(), revoke_reason=reason)
        .returning(SiteKey)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.scalars(statement)).one()


async def registry_version(session: AsyncSession | ReadSession) -> int:
    version: int = (await session.execute(select(RegistryVersion.version).where(RegistryVersion.id == 1))).scalar_one()
    return version


async def load_registry(session: AsyncSession) -> tuple[int, Sequence[Site], Sequence[SiteKey]]:
    """The version and every site and key, read in one snapshot."""
    await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    version = await registry_version(session)
    sites = (await session.scalars(select(Site).order_by(Site.id))).all()
    keys = (await session.scalars(select(SiteKey).order_by(SiteKey.site_id, SiteKey.key_number))).all()
    return version, sites, keys
