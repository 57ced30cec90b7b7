"""Staff account security: TOTP secrets and recovery codes, sign-ins (refresh-token families) with where
they came from, and the record of every sign-in attempt."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import RefreshToken, StaffSession, StaffSignin, User, UserRecoveryCode, UserTotp
from service.db import ReadSession

# ---------------------------------------------------------------------------------------------- TOTP


async def get_totp(session: AsyncSession | ReadSession, user_id: int) -> UserTotp | None:
    return await session.scalar(select(UserTotp).where(UserTotp.user_id == user_id))


async def lock_totp(session: AsyncSession, user_id: int) -> UserTotp | None:
    statement = select(UserTotp).where(UserTotp.user_id == user_id).with_for_update()
    return await session.scalar(statement, execution_options={"populate_existing": True})


async def has_confirmed_totp(session: AsyncSession | ReadSession, user_id: int) -> bool:
    statement = select(UserTotp.user_id).where(UserTotp.user_id == user_id, UserTotp.confirmed_at.is_not(None))
    return (await session.scalar(statement)) is not None


async def put_pending_totp(session: AsyncSession, *, user_id: int, secret_ciphertext: bytes) -> bool:
    """Keep a new secret awaiting confirmation, in place of any earlier pending one; False when the user's
    TOTP is already confirmed (and then nothing changes)."""
    statement = (
        pg_insert(UserTotp)
        .values(user_id=user_id, secret_ciphertext=secret_ciphertext)
        .on_conflict_do_update(
            index_elements=[UserTotp.user_id],
            set_={"secret_ciphertext": secret_ciphertext, "created_at": func.now(), "last_step": None},
            where=UserTotp.confirmed_at.is_(None),
        )
        .returning(UserTotp.user_id)
    )
    return (await session.scalar(statement)) is not None


async def use_totp_step(session: AsyncSession, *, user_id: int, step: int, confirm: bool = False) -> bool:
    """Record that a code for `step` was accepted, unless one for that step or a later one already was (then
    False: the code is a replay). `confirm` makes a pending TOTP active."""
    values: dict[str, Any] = {"last_step": step}
    if confirm:
        values["confirmed_at"] = func.now()
    statement = (
        update(UserTotp)
        .where(UserTotp.user_id == user_id, func.coalesce(UserTotp.last_step, -1) < step)
        .values(**values)
        .returning(UserTotp.user_id)
    )
    return (await session.scalar(statement)) is not None


async def delete_totp(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(UserRecoveryCode).where(UserRecoveryCode.user_id == user_id))
    await session.execute(delete(UserTotp).where(UserTotp.user_id == user_id))


async def replace_recovery_codes(session: AsyncSession, *, user_id: int, code_hashes: Sequence[bytes]) -> None:
    await session.execute(delete(UserRecoveryCode).where(UserRecoveryCode.user_id == user_id))
    await session.execute(
        insert(UserRecoveryCode), [{"user_id": user_id, "code_hash": code_hash} for code_hash in code_hashes]
    )


async def use_recovery_code(session: AsyncSession, *, user_id: int, code_hash: bytes) -> bool:
    """Spend a recovery code; False when the user has no such unused code."""
    statement = (
        update(UserRecoveryCode)
        .where(
            UserRecoveryCode.user_id == user_id,
            UserRecoveryCode.code_hash == code_hash,
            UserRecoveryCode.used_at.is_(None),
        )
        .values(used_at=func.now())
        .returning(UserRecoveryCode.user_id)
    )
    return (await session.scalar(statement)) is not None


async def recovery_codes_left(session: AsyncSession | ReadSession, user_id: int) -> int:
    statement = select(func.count()).where(UserRecoveryCode.user_id == user_id, UserRecoveryCode.used_at.is_(None))
    return int(await session.scalar(statement) or 0)


# ---------------------------------------------------------------------------------------------- sign-ins


async def record_signin(
    session: AsyncSession,
    *,
    user_id: int,
    outcome: str,
    address: str,
    user_agent: str | None,
    second_factor: str | None = None,
) -> None:
    await session.execute(
        insert(StaffSignin).values(
            user_id=user_id, outcome=outcome, address=address, user_agent=user_agent, second_factor=second_factor
        )
    )


async def list_signins(
    session: ReadSession, *, user_id: int, before_id: int | None, limit: int
) -> Sequence[StaffSignin]:
    statement = select(StaffSignin).where(StaffSignin.user_id == user_id).order_by(StaffSignin.id.desc()).limit(limit)
    if before_id is not None:
        statement = statement.where(StaffSignin.id < before_id)
    return (await session.scalars(statement)).all()


async def prune_signins(session: AsyncSession, *, older_than: timedelta) -> None:
    await session.execute(delete(StaffSignin).where(StaffSignin.at < func.now() - older_than))


# ---------------------------------------------------------------------------------------------- sessions


async def insert_session(
    session: AsyncSession, *, family_id: uuid.UUID, user_id: int, address: str, user_agent: str | None
) -> None:
    await session.execute(
        insert(StaffSession).values(family_id=family_id, user_id=user_id, address=address, user_agent=user_agent)
    )


async def touch_session(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(StaffSession).where(StaffSession.family_id == family_id).values(last_used_at=func.now())
    )


def _alive() -> Any:
    """The sign-in still holds a refresh token that can be used: it has not been ended."""
    return exists().where(
        and_(
            RefreshToken.family_id == StaffSession.family_id,
            RefreshToken.revoked_at.is_(None),
            RefreshToken.used_at.is_(None),
            RefreshToken.expires_at > func.now(),
        )
    )


async def list_active_sessions(
    session: ReadSession, *, user_id: int, before_id: int | None, limit: int
) -> Sequence[StaffSession]:
    statement = (
        select(StaffSession)
        .where(StaffSession.user_id == user_id, _alive())
        .order_by(StaffSession.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        statement = statement.where(StaffSession.id < before_id)
    return (await session.scalars(statement)).all()


async def active_session(session: AsyncSession, *, user_id: int, session_id: int) -> StaffSession | None:
    statement = select(StaffSession).where(StaffSession.id == session_id, StaffSession.user_id == user_id, _alive())
    return await session.scalar(statement)


async def other_active_families(session: AsyncSession, *, user_id: int, keep: uuid.UUID | None) -> list[uuid.UUID]:
    statement = select(StaffSession.family_id).where(StaffSession.user_id == user_id, _alive())
    if keep is not None:
        statement = statement.where(StaffSession.family_id != keep)
    return list((await session.scalars(statement)).all())


async def prune_sessions(session: AsyncSession, *, older_than: timedelta) -> None:
    """Sign-ins unused for longer than a refresh token lives have ended anyway."""
    await session.execute(delete(StaffSession).where(StaffSession.last_used_at < func.now() - older_than))


async def set_password_hash(session: AsyncSession, *, user_id: int, password_hash: str) -> None:
    await session.execute(update(User).where(User.id == user_id).values(password_hash=password_hash))
