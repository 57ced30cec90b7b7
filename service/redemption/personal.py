"""A resident's vouchers as personal data, for the privacy domain: `erase` (deleting an account) and
`export_vouchers` (the data export).

A voucher's code was shown to its resident and read out at a counter, and its client key came from the
resident's app: both tie the row to the person, so an erased voucher gets a new code no one knows (an
unused one can then never be used) and a new key. Its reward, price, status and transfers stay."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.db import ReadSession
from service.redemption import repository, vouchers
from service.redemption.codes import VoucherCodes, new_voucher_code
from service.redemption.schemas import VoucherRead

EXPORT_PAGE = 500


async def erase(session: AsyncSession, *, codes: VoucherCodes, resident_id: int) -> dict[str, int]:
    ids = await repository.voucher_ids_of(session, resident_id)
    for voucher_id in ids:
        code_hash, code_sealed = codes.keep(new_voucher_code())
        await repository.replace_voucher_keys(
            session, voucher_id=voucher_id, code_hash=code_hash, code_sealed=code_sealed
        )
    return {"vouchers": len(ids)}


async def export_vouchers(
    session: AsyncSession | ReadSession, *, codes: VoucherCodes, resident_id: int
) -> list[VoucherRead]:
    """Every voucher of the resident, newest first, read a page at a time."""
    found: list[VoucherRead] = []
    cursor: str | None = None
    while True:
        page = await vouchers.of_resident(
            session, codes=codes, resident_id=resident_id, cursor=cursor, limit=EXPORT_PAGE
        )
        found += page.items
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor
