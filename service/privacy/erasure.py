"""Deleting a resident's account: every personal field everywhere is erased in the request's one
transaction, and the ledger's amounts stay under the resident's board pseudonym.

Each domain erases what it holds (its `personal` module's `erase`), called in turn below with the
resident's row locked; a further domain that holds personal data adds its call to `_erase`. An account
marked deleted but not erased (`deleted_at` set, `erased_at` not) is erased by the retention pass
(`erase_deleted`). The photos go last: their stored objects are deleted before the commit, so nothing that could still roll back comes after."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import personal as accounts
from service.consent import personal as consent
from service.ingest import personal as ingest
from service.leaderboard import personal as leaderboard
from service.photos import personal as photos
from service.photos.storage import PhotoStorage
from service.redemption import personal as redemption
from service.redemption.codes import VoucherCodes


async def erase_account(
    session: AsyncSession, *, storage: PhotoStorage, codes: VoucherCodes, resident_id: int
) -> dict[str, int]:
    """Erase the resident's personal data and sign them out everywhere; how many rows of each kind were
    erased. An account already deleted is not found."""
    await accounts.lock_for_erasure(session, resident_id=resident_id)
    return await _erase(session, storage=storage, codes=codes, resident_id=resident_id)


async def erase_deleted(session: AsyncSession, *, storage: PhotoStorage, codes: VoucherCodes, limit: int) -> int:
    """Erase up to `limit` accounts marked deleted but not erased (for the retention pass); how many."""
    ids = await accounts.lock_unerased(session, limit=limit)
    for resident_id in ids:
        await _erase(session, storage=storage, codes=codes, resident_id=resident_id)
    return len(ids)


async def _erase(
    session: AsyncSession, *, storage: PhotoStorage, codes: VoucherCodes, resident_id: int
) -> dict[str, int]:
    erased: dict[str, int] = {}
    erased |= await accounts.erase(session, resident_id=resident_id)
    erased |= await consent.erase(session, resident_id=resident_id)
    erased |= await ingest.erase(session, resident_id=resident_id)
    erased |= await leaderboard.erase(session, resident_id=resident_id)
    erased |= await redemption.erase(session, codes=codes, resident_id=resident_id)
    erased |= await photos.erase(session, storage=storage, resident_id=resident_id)
    return erased
