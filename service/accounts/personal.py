"""A resident's personal data as the accounts domain holds it: the profile, WeChat ids, devices and sign-ins.

For the privacy domain: `lock_for_erasure`, `lock_unerased` and `erase` (deleting an account), `export_part` (the data
export), and the retention schedule's `prune_devices` and `prune_refresh_tokens`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import repository
from service.accounts.models import Resident
from service.accounts.repository import personal
from service.accounts.residents import get_active_resident, resident_read
from service.accounts.schemas import DeviceRead, ResidentRead, SessionRead
from service.db import ReadSession
from service.errors import NotFound


@dataclass(frozen=True, slots=True)
class AccountPart:
    """What the accounts domain holds about a resident, for the export."""

    profile: ResidentRead
    wechat_openid: str | None
    wechat_unionid: str | None
    sessions: list[SessionRead]
    devices: list[DeviceRead]


async def lock_for_erasure(session: AsyncSession, *, resident_id: int) -> Resident:
    """The resident's row, locked until the transaction ends; an account already deleted is not found."""
    resident = await repository.lock_resident(session, resident_id)
    if resident is None or resident.deleted_at is not None:
        raise NotFound("This account no longer exists.", "该账号已不存在。")
    return resident


async def lock_unerased(session: AsyncSession, *, limit: int) -> Sequence[int]:
    """Up to `limit` accounts marked deleted (`deleted_at`) but not erased (`erased_at`), locked."""
    return await personal.lock_unerased(session, limit=limit)


async def erase(session: AsyncSession, *, resident_id: int) -> dict[str, int]:
    """Sign the resident out everywhere at once, then erase the profile (a new random public id, no WeChat
    ids, nickname, places or freeze reason), the devices and every refresh token; what was removed."""
    await repository.revoke_subject_tokens(session, subject_kind="resident", subject_id=resident_id, reason="deleted")
    await personal.erase_resident(session, resident_id)
    return {
        "devices": await personal.delete_devices_of(session, resident_id),
        "refresh_tokens": await personal.delete_refresh_tokens_of(session, resident_id),
    }


async def export_part(session: AsyncSession | ReadSession, *, resident_id: int) -> AccountPart:
    resident = await get_active_resident(session, resident_id=resident_id)
    sessions = await repository.list_sessions(session, subject_kind="resident", subject_id=resident.id)
    return AccountPart(
        profile=await resident_read(session, resident),
        wechat_openid=resident.openid,
        wechat_unionid=resident.unionid,
        sessions=[SessionRead.model_validate(row, from_attributes=True) for row in sessions],
        devices=[DeviceRead.model_validate(d) for d in await personal.devices_of(session, resident.id)],
    )


async def prune_devices(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Forget up to `limit` devices not signed in from since `before`."""
    return await personal.delete_devices_unseen_since(session, before=before, limit=limit)


async def prune_refresh_tokens(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to `limit` refresh tokens that expired before `before`: their sign-ins are long over."""
    return await personal.delete_refresh_tokens_expired_before(session, before=before, limit=limit)
