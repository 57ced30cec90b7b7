"""All SQL of the accounts domain; `revocations`: the access revocations every worker reads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import (
    AccessRevocation,
    Community,
    Device,
    Enterprise,
    Organisation,
    Partner,
    PartnerKey,
    PartnerSignatureSeen,
    RefreshToken,
    Resident,
    User,
    UserSigninAddress,
)
from service.accounts.repository import revocations
from service.db import ReadSession

# ---------------------------------------------------------------------------------------------- residents


async def upsert_resident_by_openid(
    session: AsyncSession, *, openid: str, unionid: str | None, pseudonym: str
) -> Resident:
    """Find or create the resident of an openid in one statement, safe against concurrent sign-ins."""
    statement = (
        pg_insert(Resident)
        .values(openid=openid, unionid=unionid, pseudonym=pseudonym)
        .on_conflict_do_update(
            index_elements=[Resident.openid],
            set_={"unionid": func.coalesce(pg_insert(Resident).excluded.unionid, Resident.unionid)},
        )
        .returning(Resident)
    )
    return (await session.scalars(statement, execution_options={"populate_existing": True})).one()


async def get_resident(session: AsyncSession | ReadSession, resident_id: int) -> Resident | None:
    return await session.scalar(select(Resident).where(Resident.id == resident_id))


async def lock_resident(session: AsyncSession, resident_id: int) -> Resident | None:
    statement = select(Resident).where(Resident.id == resident_id).with_for_update()
    return await session.scalar(statement, execution_options={"populate_existing": True})


async def update_resident(session: AsyncSession, resident_id: int, values: dict[str, Any]) -> Resident:
    statement = (
        update(Resident).where(Resident.id == resident_id).values(**values, updated_at=func.now()).returning(Resident)
    )
    return (await session.scalars(statement, execution_options={"populate_existing": True})).one()


async def community_exists(session: AsyncSession, community_id: int) -> bool:
    return bool(await session.scalar(select(func.count()).where(Community.id == community_id)))


async def organisation_exists(session: AsyncSession, organisation_id: int) -> bool:
    return bool(await session.scalar(select(func.count()).where(Organisation.id == organisation_id)))


async def list_communities(session: ReadSession) -> Sequence[Community]:
    return (await session.scalars(select(Community).order_by(Community.kind, Community.code))).all()


async def list_organisations(
    session: ReadSession, *, community_id: int | None, kind: str | None
) -> Sequence[Organisation]:
    statement = select(Organisation).order_by(Organisation.code)
    if community_id is not None:
        statement = statement.where(Organisation.community_id == community_id)
    if kind is not None:
        statement = statement.where(Organisation.kind == kind)
    return (await session.scalars(statement)).all()


async def organisation_code_exists(session: AsyncSession, code: str) -> bool:
    return bool(await session.scalar(select(func.count()).where(Organisation.code == code)))


async def insert_organisation(session: AsyncSession, values: dict[str, Any]) -> Organisation:
    return (await session.scalars(insert(Organisation).values(**values).returning(Organisation))).one()


async def get_community_and_organisation_names(
    session: AsyncSession | ReadSession, resident: Resident
) -> tuple[Community | None, Organisation | None]:
    community = await session.get(Community, resident.community_id) if resident.community_id else None
    organisation = await session.get(Organisation, resident.organisation_id) if resident.organisation_id else None
    return community, organisation


# ---------------------------------------------------------------------------------------------- users


async def get_user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username))


async def get_user(session: AsyncSession | ReadSession, user_id: int) -> User | None:
    return await session.scalar(select(User).where(User.id == user_id))


async def insert_user(session: AsyncSession, values: dict[str, Any]) -> User | None:
    statement = pg_insert(User).values(**values).on_conflict_do_nothing(index_elements=[User.username]).returning(User)
    return (await session.scalars(statement)).one_or_none()


async def touch_last_login(session: AsyncSession, user_id: int) -> None:
    await session.execute(update(User).where(User.id == user_id).values(last_login_at=func.now()))


async def signed_in_from(session: AsyncSession, *, user_id: int, address: str, since: timedelta) -> bool:
    """Whether the user signed in from `address` within `since`."""
    found = await session.scalar(
        select(UserSigninAddress.user_id).where(
            UserSigninAddress.user_id == user_id,
            UserSigninAddress.address == address,
            UserSigninAddress.last_signed_in_at > func.now() - since,
        )
    )
    return found is not None


async def remember_signin_address(session: AsyncSession, *, user_id: int, address: str) -> None:
    statement = pg_insert(UserSigninAddress).values(user_id=user_id, address=address)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[UserSigninAddress.user_id, UserSigninAddress.address],
            set_={"last_signed_in_at": func.now()},
        )
    )


async def prune_signin_addresses(session: AsyncSession, *, older_than: timedelta) -> None:
    await session.execute(
        delete(UserSigninAddress).where(UserSigninAddress.last_signed_in_at < func.now() - older_than)
    )


async def list_users(session: ReadSession, *, after_id: int, limit: int) -> Sequence[User]:
    statement = select(User).where(User.id > after_id).order_by(User.id).limit(limit)
    return (await session.scalars(statement)).all()


async def set_user_disabled(session: AsyncSession, user_id: int, *, disabled: bool) -> User | None:
    statement = (
        update(User).where(User.id == user_id).values(disabled_at=func.now() if disabled else None).returning(User)
    )
    return (await session.scalars(statement)).one_or_none()


async def any_super_admin(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).where(User.role == "admin-super")))


async def get_enterprise(session: AsyncSession | ReadSession, enterprise_id: int) -> Enterprise | None:
    return await session.scalar(select(Enterprise).where(Enterprise.id == enterprise_id))


async def insert_enterprise(session: AsyncSession, *, name: str, status: str, **details: str) -> Enterprise | None:
    """None when the name or the credit code is taken."""
    statement = pg_insert(Enterprise).values(name=name, status=status, **details).on_conflict_do_nothing()
    return (await session.scalars(statement.returning(Enterprise))).one_or_none()


async def remember_device(session: AsyncSession, *, device_id: str, resident_id: int) -> None:
    statement = pg_insert(Device).values(device_id=device_id, resident_id=resident_id)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Device.device_id, Device.resident_id], set_={"last_seen": func.now()}
        )
    )


async def resident_by_public_id(session: AsyncSession | ReadSession, public_id: uuid.UUID) -> Resident | None:
    return await session.scalar(select(Resident).where(Resident.public_id == public_id))


async def set_resident_frozen(session: AsyncSession, resident_id: int, *, reason: str | None) -> Resident:
    statement = (
        update(Resident)
        .where(Resident.id == resident_id)
        .values(frozen_at=func.now() if reason is not None else None, frozen_reason=reason)
        .returning(Resident)
    )
    return (await session.scalars(statement, execution_options={"populate_existing": True})).one()


async def lock_enterprise(session: AsyncSession, enterprise_id: int) -> Enterprise | None:
    statement = select(Enterprise).where(Enterprise.id == enterprise_id).with_for_update()
    return await session.scalar(statement, execution_options={"populate_existing": True})


async def set_enterprise_status(
    session: AsyncSession, enterprise_id: int, *, status: str, reviewer: str, reason: str
) -> Enterprise:
    statement = (
        update(Enterprise)
        .where(Enterprise.id == enterprise_id)
        .values(status=status, reviewed_at=func.now(), reviewed_by=reviewer, review_reason=reason)
        .returning(Enterprise)
    )
    return (await session.scalars(statement, execution_options={"populate_existing": True})).one()


async def list_enterprises(
    session: AsyncSession | ReadSession, *, status: str | None, after_id: int, limit: int
) -> Sequence[Enterprise]:
    """Enterprises after id `after_id`, oldest first: one range of the primary key or of (status, id)."""
    statement = select(Enterprise).where(Enterprise.id > after_id).order_by(Enterprise.id).limit(limit)
    if status is not None:
        statement = statement.where(Enterprise.status == status)
    return (await session.scalars(statement)).all()


# ---------------------------------------------------------------------------------------------- partners


async def insert_partner(session: AsyncSession, values: dict[str, Any]) -> Partner | None:
    statement = (
        pg_insert(Partner).values(**values).on_conflict_do_nothing(index_elements=[Partner.code]).returning(Partner)
    )
    return (await session.scalars(statement)).one_or_none()


async def get_partner(session: AsyncSession | ReadSession, partner_id: int) -> Partner | None:
    return await session.scalar(select(Partner).where(Partner.id == partner_id))


async def list_partners(session: ReadSession, *, after_id: int, limit: int) -> Sequence[Partner]:
    statement = select(Partner).where(Partner.id > after_id).order_by(Partner.id).limit(limit)
    return (await session.scalars(statement)).all()


async def list_partner_keys(session: ReadSession, partner_id: int) -> Sequence[PartnerKey]:
    statement = select(PartnerKey).where(PartnerKey.partner_id == partner_id).order_by(PartnerKey.id)
    return (await session.scalars(statement)).all()


async def insert_partner_key(
    session: AsyncSession, *, partner_id: int, key_id: str, secret_ciphertext: bytes
) -> PartnerKey:
    statement = (
        insert(PartnerKey)
        .values(partner_id=partner_id, key_id=key_id, secret_ciphertext=secret_ciphertext)
        .returning(PartnerKey)
    )
    return (await session.scalars(statement)).one()


async def revoke_partner_key(session: AsyncSession, *, partner_id: int, key_id: str) -> bool:
    statement = (
        update(PartnerKey)
        .where(PartnerKey.partner_id == partner_id, PartnerKey.key_id == key_id, PartnerKey.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(PartnerKey.id)
    )
    return (await session.scalar(statement)) is not None


async def get_active_key_with_partner(session: AsyncSession, key_id: str) -> tuple[PartnerKey, Partner] | None:
    statement = (
        select(PartnerKey, Partner)
        .join(Partner, Partner.id == PartnerKey.partner_id)
        .where(PartnerKey.key_id == key_id, PartnerKey.revoked_at.is_(None), Partner.disabled_at.is_(None))
    )
    row = (await session.execute(statement)).first()
    return (row[0], row[1]) if row else None


async def remember_signature(session: AsyncSession, *, partner_key_id: int, signature: str) -> bool:
    """Remember a signature; False when it was seen before (a replay)."""
    statement = (
        pg_insert(PartnerSignatureSeen)
        .values(partner_key_id=partner_key_id, signature=signature)
        .on_conflict_do_nothing()
        .returning(PartnerSignatureSeen.partner_key_id)
    )
    return (await session.scalar(statement)) is not None


async def prune_signatures(session: AsyncSession, *, older_than: timedelta) -> None:
    await session.execute(delete(PartnerSignatureSeen).where(PartnerSignatureSeen.seen_at < func.now() - older_than))


# ---------------------------------------------------------------------------------------------- refresh tokens


async def insert_refresh_token(
    session: AsyncSession,
    *,
    family_id: uuid.UUID,
    subject_kind: str,
    subject_id: int,
    role: str,
    token_hash: bytes,
    expires_at: datetime,
) -> None:
    await session.execute(
        insert(RefreshToken).values(
            family_id=family_id,
            subject_kind=subject_kind,
            subject_id=subject_id,
            role=role,
            token_hash=token_hash,
            expires_at=expires_at,
        )
    )


async def lock_refresh_family_of(session: AsyncSession, token_hash: bytes) -> None:
    """Serialise refreshes, reuse revocations and logouts of one sign-in until the transaction ends.

    Taken before any row lock: a revocation that waited on a row lock could otherwise miss the token a
    concurrent refresh of the same family inserts, leaving a stolen family alive.
    """
    family = select(RefreshToken.family_id).where(RefreshToken.token_hash == token_hash).scalar_subquery()
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(func.cast(family, Text), 0))))


async def lock_refresh_token(session: AsyncSession, token_hash: bytes) -> RefreshToken | None:
    statement = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    return await session.scalar(statement, execution_options={"populate_existing": True})


async def mark_refresh_token_used(session: AsyncSession, token_id: uuid.UUID) -> None:
    await session.execute(update(RefreshToken).where(RefreshToken.id == token_id).values(used_at=func.now()))


async def revoke_refresh_family(session: AsyncSession, family_id: uuid.UUID, *, reason: str) -> None:
    """End one sign-in: its refresh tokens, and at once its access tokens on every worker (told when the
    transaction commits)."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now(), revoke_reason=reason)
    )
    await session.execute(insert(AccessRevocation).values(family_id=family_id))
    await revocations.announce(session)


async def revoke_subject_tokens(session: AsyncSession, *, subject_kind: str, subject_id: int, reason: str) -> None:
    """End every sign-in of a subject: its refresh tokens, and at once every access token issued so far."""
    await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.subject_kind == subject_kind,
            RefreshToken.subject_id == subject_id,
            RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=func.now(), revoke_reason=reason)
    )
    await session.execute(insert(AccessRevocation).values(subject_kind=subject_kind, subject_id=subject_id))
    await revocations.announce(session)


async def list_sessions(session: AsyncSession | ReadSession, *, subject_kind: str, subject_id: int) -> Sequence[Any]:
    statement = text(
        """
        SELECT family_id, min(issued_at) AS signed_in_at, max(issued_at) AS last_refreshed_at,
               bool_or(revoked_at IS NULL AND used_at IS NULL AND expires_at > now()) AS active
          FROM accounts_refresh_token
         WHERE subject_kind = :kind AND subject_id = :id
         GROUP BY family_id
         ORDER BY signed_in_at
        """
    )
    return (await session.execute(statement, {"kind": subject_kind, "id": subject_id})).all()
