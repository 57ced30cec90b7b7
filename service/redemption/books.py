"""An enterprise's books: the vouchers of its rewards, and its monthly statement.

Both only read. A voucher is shown by a hint of its code, never the code: that is the resident's to show.
A statement's figures and its lines come from one SQL statement, one snapshot of the ledger, so that the
opening balance plus the lines is the closing balance to the gram, and the closing balance of the month
that is running is the balance the account holds.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row

from service.db import ReadSession
from service.kit.clock import SHANGHAI
from service.kit.csvfile import Writer
from service.kit.pagination import decode_cursor, encode_cursor
from service.redemption import repository
from service.redemption.books_schemas import EnterpriseVoucherPage, EnterpriseVoucherRead, StatementLine, StatementRead
from service.redemption.codes import VoucherCodes
from service.redemption.models import Reward, Voucher, VoucherStatus
from service.redemption.repository import books as books_repository

_FIGURES = (
    "opening_balance_g",
    "received_g",
    "refunded_g",
    "retired_g",
    "other_in_g",
    "other_out_g",
    "closing_balance_g",
    "vouchers_accepted",
    "accepted_g",
)
_LINE_COLUMNS = (
    "at",
    "kind",
    "amount_g",
    "balance_after_g",
    "voucher_id",
    "voucher_status",
    "reward_title",
    "certificate_number",
    "transfer_id",
)


def _voucher_read(voucher: Voucher, reward: Reward, *, codes: VoucherCodes, now: datetime) -> EnterpriseVoucherRead:
    lapsed = voucher.status == VoucherStatus.issued.value and voucher.expires_at <= now
    status = VoucherStatus.expired if lapsed else VoucherStatus(voucher.status)
    code = codes.open(voucher.code_sealed, voucher.code_hash)
    return EnterpriseVoucherRead(
        id=voucher.id,
        code_hint="…" + code[-4:],
        reward_id=reward.id,
        reward_title=reward.title,
        price_g=voucher.price_g,
        status=status,
        issued_at=voucher.issued_at,
        expires_at=voucher.expires_at,
        used_at=voucher.used_at,
        cancelled_at=voucher.cancelled_at,
        expired_at=voucher.expires_at if status is VoucherStatus.expired else None,
    )


async def vouchers_of(
    session: ReadSession,
    *,
    codes: VoucherCodes,
    enterprise_id: int,
    status: VoucherStatus | None,
    reward_id: int | None,
    cursor: str | None,
    limit: int,
) -> EnterpriseVoucherPage:
    """The enterprise's vouchers, newest first, a page of `limit` (asked for one more, to know there is more)."""
    now = datetime.now(UTC)
    rows = await books_repository.enterprise_vouchers(
        session,
        enterprise_id=enterprise_id,
        status=status,
        reward_id=reward_id,
        before_id=decode_cursor(cursor),
        limit=limit + 1,
        now=now,
    )
    items = [_voucher_read(voucher, reward, codes=codes, now=now) for voucher, reward in rows[:limit]]
    return EnterpriseVoucherPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


@dataclass(frozen=True, slots=True)
class Month:
    """A calendar month in Asia/Shanghai."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str | None) -> Month:
        """`YYYY-MM` (the router has checked its form); the current month when None."""
        if text is None:
            today = datetime.now(SHANGHAI)
            return cls(today.year, today.month)
        year, month = text.split("-")
        return cls(int(year), int(month))

    @property
    def starts_at(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=SHANGHAI)

    @property
    def ends_at(self) -> datetime:
        year, month = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        return datetime(year, month, 1, tzinfo=SHANGHAI)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def _line(row: Row[Any]) -> StatementLine:
    return StatementLine(
        transfer_id=row.transfer_id,
        at=row.created_at,
        kind=row.kind,
        amount_g=row.amount,
        balance_after_g=row.balance_after,
        voucher_id=row.voucher_id,
        voucher_status=row.voucher_status,
        reward_title=row.reward_title,
        certificate_number=row.certificate_number,
    )


async def _read(
    session: ReadSession, *, enterprise_id: int, month: Month, after: int, lines: int | None
) -> StatementRead:
    """The statement with up to `lines` lines after the transfer `after` (all when None)."""
    enterprise = await repository.get_enterprise(session, enterprise_id=enterprise_id)
    assert enterprise is not None  # the signed-in user's enterprise
    rows = await books_repository.statement(
        session,
        enterprise_id=enterprise_id,
        start=month.starts_at,
        end=month.ends_at,
        after=after,
        lines=None if lines is None else lines + 1,
    )
    first = rows[0]
    found = [_line(row) for row in rows if row.transfer_id is not None]
    shown = found if lines is None else found[:lines]
    statement = StatementRead(
        enterprise_id=enterprise.id,
        enterprise_name=enterprise.name,
        month=str(month),
        starts_at=month.starts_at,
        ends_at=month.ends_at,
        opening_balance_g=first.opening_g,
        received_g=first.received_g,
        refunded_g=first.refunded_g,
        retired_g=first.retired_g,
        other_in_g=first.other_in_g,
        other_out_g=first.other_out_g,
        closing_balance_g=first.closing_g,
        vouchers_accepted=first.vouchers_accepted,
        accepted_g=first.accepted_g,
        lines=shown,
        next_cursor=None,
    )
    if len(found) > len(shown):
        statement.next_cursor = encode_cursor(shown[-1].transfer_id)
    return statement


async def statement(
    session: ReadSession, *, enterprise_id: int, month: str | None, cursor: str | None, limit: int
) -> StatementRead:
    """The month's figures, with a page of `limit` lines."""
    after = decode_cursor(cursor) or 0
    return await _read(session, enterprise_id=enterprise_id, month=Month.parse(month), after=after, lines=limit)


async def statement_csv(session: ReadSession, *, enterprise_id: int, month: str | None) -> tuple[str, str]:
    """The month's statement as one CSV document, every line in it, and its file name."""
    read = await _read(session, enterprise_id=enterprise_id, month=Month.parse(month), after=0, lines=None)
    out = io.StringIO()
    writer = Writer(out)
    writer.writerow(["enterprise", read.enterprise_name])
    writer.writerow(["month", read.month])
    for name in _FIGURES:
        writer.writerow([name, getattr(read, name)])
    writer.writerow([])
    writer.writerow(_LINE_COLUMNS)
    for line in read.lines:
        values = line.model_dump()
        values["at"] = line.at.astimezone(SHANGHAI).isoformat()
        values["voucher_status"] = line.voucher_status.value if line.voucher_status else None
        writer.writerow([values[name] for name in _LINE_COLUMNS])
    return out.getvalue(), f"tanpuhui-statement-{read.month}.csv"
