"""What an enterprise reads of its books: its vouchers, and its ledger account's movements in a period."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import ReadSession
from service.redemption.models import Reward, Voucher, VoucherStatus


async def enterprise_vouchers(
    session: AsyncSession | ReadSession,
    *,
    enterprise_id: int,
    status: VoucherStatus | None,
    reward_id: int | None,
    before_id: int | None,
    limit: int,
    now: datetime,
) -> list[tuple[Voucher, Reward]]:
    """The enterprise's vouchers with their rewards, newest first. A voucher past its time that no sweep has
    marked counts as expired, not issued."""
    statement = (
        select(Voucher, Reward)
        .join(Reward, Reward.id == Voucher.reward_id)
        .where(Voucher.enterprise_id == enterprise_id)
        .order_by(Voucher.id.desc())
        .limit(limit)
    )
    if status is VoucherStatus.issued:
        statement = statement.where(Voucher.status == status.value, Voucher.expires_at > now)
    elif status is VoucherStatus.expired:
        statement = statement.where(
            or_(
                Voucher.status == status.value,
                (Voucher.status == VoucherStatus.issued.value) & (Voucher.expires_at <= now),
            )
        )
    elif status is not None:
        statement = statement.where(Voucher.status == status.value)
    if reward_id is not None:
        statement = statement.where(Voucher.reward_id == reward_id)
    if before_id is not None:
        statement = statement.where(Voucher.id < before_id)
    return [(row[0], row[1]) for row in map(tuple, (await session.execute(statement)).all())]


# An enterprise's statement for [start, end), in one statement so that every figure is read from one
# snapshot of the ledger: the first row carries the figures; with the lines after `after` (a transfer id)
# alongside, `lines` at most, in ledger order, each with the balance it left. A month without lines
# answers one row of figures with null lines. Every figure is a sum of the account's own entries.
_STATEMENT = text(
    """
    WITH account AS (
        SELECT id FROM ledger_account WHERE enterprise_id = :enterprise
    ), entries AS (
        SELECT e.transfer_id, e.amount, e.created_at
          FROM ledger_entry e
         WHERE e.account_id = (SELECT id FROM account) AND e.created_at < :end
    ), opening AS (
        SELECT coalesce(sum(amount), 0)::bigint AS grams FROM entries WHERE created_at < :start
    ), month AS (
        SELECT e.transfer_id, e.amount, e.created_at, t.kind,
               CASE WHEN t.kind = 'redemption' AND e.amount > 0 THEN 'received'
                    WHEN t.kind = 'refund' AND e.amount < 0 THEN 'refunded'
                    WHEN t.kind = 'retirement' AND e.amount < 0 THEN 'retired'
                    ELSE 'other' END AS category,
               (SELECT grams FROM opening) + sum(e.amount) OVER (ORDER BY e.transfer_id) AS balance_after
          FROM entries e
          JOIN ledger_transfer t ON t.id = e.transfer_id
         WHERE e.created_at >= :start
    ), figures AS (
        SELECT (SELECT grams FROM opening) AS opening_g,
               coalesce(sum(amount) FILTER (WHERE category = 'received'), 0)::bigint AS received_g,
               coalesce(-sum(amount) FILTER (WHERE category = 'refunded'), 0)::bigint AS refunded_g,
               coalesce(-sum(amount) FILTER (WHERE category = 'retired'), 0)::bigint AS retired_g,
               coalesce(sum(amount) FILTER (WHERE category = 'other' AND amount > 0), 0)::bigint AS other_in_g,
               coalesce(-sum(amount) FILTER (WHERE category = 'other' AND amount < 0), 0)::bigint AS other_out_g,
               ((SELECT grams FROM opening) + coalesce(sum(amount), 0))::bigint AS closing_g
          FROM month
    ), accepted AS (
        SELECT count(*) AS vouchers_accepted, coalesce(sum(price_g), 0)::bigint AS accepted_g
          FROM redemption_voucher
         WHERE enterprise_id = :enterprise AND status = 'used' AND used_at >= :start AND used_at < :end
    )
    SELECT f.*, a.*, l.transfer_id, l.created_at, l.kind, l.amount, l.balance_after,
           l.voucher_id, l.voucher_status, l.reward_title, l.certificate_number
      FROM figures f
     CROSS JOIN accepted a
      LEFT JOIN LATERAL (
        SELECT m.transfer_id, m.created_at, m.kind, m.amount, m.balance_after,
               coalesce(vr.id, vf.id) AS voucher_id,
               coalesce(vr.status, vf.status) AS voucher_status,
               r.title AS reward_title,
               c.number AS certificate_number
          FROM month m
          LEFT JOIN redemption_voucher vr ON vr.redemption_transfer_id = m.transfer_id
          LEFT JOIN redemption_voucher vf ON vf.refund_transfer_id = m.transfer_id
          LEFT JOIN redemption_reward r ON r.id = coalesce(vr.reward_id, vf.reward_id)
          LEFT JOIN redemption_certificate c ON c.retirement_transfer_id = m.transfer_id
         WHERE m.transfer_id > :after
         ORDER BY m.transfer_id
         LIMIT :lines
      ) l ON true
     ORDER BY l.transfer_id
    """
)


async def statement(
    session: AsyncSession | ReadSession,
    *,
    enterprise_id: int,
    start: datetime,
    end: datetime,
    after: int,
    lines: int | None,
) -> Sequence[Row[Any]]:
    """The figures of [start, end) on every row, and up to `lines` lines after the transfer `after` (all of
    them when `lines` is None)."""
    values = {"enterprise": enterprise_id, "start": start, "end": end, "after": after, "lines": lines}
    return (await session.execute(_STATEMENT, values)).all()
