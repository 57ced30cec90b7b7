"""The data export: everything held about a resident, as one JSON document (`export_account`).

Each part is read by the domain that holds it (its `personal` module), a page at a time where a resident
can have many rows; a further domain that holds personal data adds one field to `ResidentExport` and one
call here."""

from __future__ import annotations

from datetime import UTC, datetime

from service.accounts import personal as accounts
from service.config import Settings
from service.consent import personal as consent
from service.db import ReadSession
from service.factors.cache import FactorCache
from service.ingest import personal as ingest
from service.ledger import history
from service.ledger import service as ledger
from service.ledger.schemas import AccountEntryRead
from service.photos import personal as photos
from service.privacy.retention import Schedule
from service.privacy.schemas import ResidentExport
from service.redemption import personal as redemption
from service.redemption.codes import VoucherCodes

ENTRY_PAGE = 500


async def export_account(
    session: ReadSession, *, cache: FactorCache, codes: VoucherCodes, settings: Settings, resident_id: int
) -> ResidentExport:
    """Everything held about the resident; an account deleted is not found."""
    account = await accounts.export_part(session, resident_id=resident_id)
    return ResidentExport(
        exported_at=datetime.now(UTC),
        profile=account.profile,
        wechat_openid=account.wechat_openid,
        wechat_unionid=account.wechat_unionid,
        sessions=account.sessions,
        devices=account.devices,
        balance=await ledger.resident_balance(session, resident_id=resident_id),
        behaviours=await ingest.export_behaviours(session, cache=cache, resident_id=resident_id),
        vouchers=await redemption.export_vouchers(session, codes=codes, resident_id=resident_id),
        ledger_entries=await _entries(session, resident_id=resident_id),
        photos=await photos.export_photos(session, resident_id=resident_id),
        links=await consent.export_links(session, resident_id=resident_id),
        retention=Schedule.of(settings).read(),
    )


async def _entries(session: ReadSession, *, resident_id: int) -> list[AccountEntryRead]:
    entries: list[AccountEntryRead] = []
    cursor: str | None = None
    while True:
        page = await history.resident_entries(session, resident_id=resident_id, cursor=cursor, limit=ENTRY_PAGE)
        entries += page.items
        if page.next_cursor is None:
            return entries
        cursor = page.next_cursor
