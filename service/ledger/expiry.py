"""Credit expiry: what is left of a resident's credits once their validity ends goes to the expired account.

Credits are valid `credit_validity_months` from issue. Spending takes the oldest lot a resident holds
first, so what expires is exactly what is left of old lots, never credits already spent and never
credits still valid (see service.ledger.lots). One job per deployment (leader-elected by an advisory
lock) runs every `credit_expiry_interval_s`, in chunks, each its own transaction:

1. walk issuance lots above the mark, in id order, while their validity has ended: their residents are
   due a look;
2. and residents who got lots already past the mark back by a refund since the last look;
3. ledger_expire() locks those accounts in id order and moves what each still holds of lapsed lots to
   the expired account, one transfer per resident with its lot moves; then the marks advance.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import Database, ReadSession
from service.errors import is_database_outage
from service.ingest.validation import SHANGHAI
from service.ledger.horizon import settled_horizon

logger = logging.getLogger(__name__)

LOCK_KEY = 0x7470_6578  # "tpex": one expiry job at a time across all workers and hosts
PAGE = 5_000
SETTLE_S = 2.0

_STATE = text("SELECT lot_through, move_through FROM ledger_expiry_state WHERE id = 1 FOR UPDATE")
_LAPSED_LOTS = text(
    """
    SELECT t.id, t.credit_account_id AS account_id,
           t.created_at + make_interval(months => :months) <= :as_of AS lapsed
      FROM ledger_transfer t
     WHERE t.id > :after AND t.kind = 'issuance'
     ORDER BY t.id
     LIMIT :page
    """
)
_REFUNDED_OLD_LOTS = text(
    """
    SELECT m.id, m.to_account_id AS account_id
      FROM ledger_lot_move m JOIN ledger_transfer t ON t.id = m.transfer_id AND t.kind = 'refund'
     WHERE m.id > :after AND m.id <= :upto AND m.lot_id <= :lot_through
     ORDER BY m.id
     LIMIT :page
    """
)
_EXPIRE = text(
    """
    SELECT account_id, grams, transfer_id
      FROM ledger_expire(CAST(:accounts AS bigint[]), :as_of, :months,
                         (SELECT id FROM ledger_account WHERE code = 'expired'), 'expiry-job')
    """
)
_ADVANCE = text(
    "UPDATE ledger_expiry_state SET lot_through = :lots, move_through = :moves, ran_at = now() WHERE id = 1"
)


@dataclass(frozen=True, slots=True)
class Expired:
    residents: int
    grams: int


async def _chunk(session: AsyncSession, *, as_of: datetime, months: int) -> tuple[Expired, bool] | None:
    """One chunk in the session's transaction; None when another job holds the lock. The flag says
    whether there may be more to look at."""
    if not (await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY})).scalar_one():
        return None
    # Refunds are walked in id order, so only up to the settled horizon: a refund with a lower id may still
    # be committing. This comes before the state row's lock, while the transaction has no id to wait on.
    moves_upto = await settled_horizon(await session.connection(), SETTLE_S, "ledger_lot_move")
    lot_through, move_through = (await session.execute(_STATE)).one()
    accounts: set[int] = set()
    lots = (
        await session.execute(_LAPSED_LOTS, {"after": lot_through, "months": months, "as_of": as_of, "page": PAGE})
    ).all()
    new_lot_through = lot_through
    for lot in lots:
        if not lot.lapsed:
            break
        accounts.add(lot.account_id)
        new_lot_through = lot.id
    more = len(lots) == PAGE and new_lot_through == lots[-1].id
    upto = move_through if moves_upto is None else moves_upto
    refunds = (
        await session.execute(
            _REFUNDED_OLD_LOTS, {"after": move_through, "upto": upto, "lot_through": lot_through, "page": PAGE}
        )
    ).all()
    accounts.update(r.account_id for r in refunds)
    new_move_through = refunds[-1].id if refunds else move_through
    more = more or len(refunds) == PAGE
    expired = Expired(0, 0)
    if accounts:
        rows = (await session.execute(_EXPIRE, {"accounts": sorted(accounts), "as_of": as_of, "months": months})).all()
        expired = Expired(len(rows), sum(r.grams for r in rows))
    await session.execute(_ADVANCE, {"lots": new_lot_through, "moves": new_move_through})
    return expired, more


async def run_once(db: Database, *, months: int, as_of: datetime | None = None) -> Expired | None:
    """Expire everything due at `as_of` (now by default); None when another job is running."""
    moment = as_of or datetime.now(UTC)
    residents = grams = 0
    while True:
        async with db.sessionmaker.begin() as session:
            step = await _chunk(session, as_of=moment, months=months)
        if step is None:
            return None
        expired, more = step
        residents, grams = residents + expired.residents, grams + expired.grams
        if not more:
            break
    if grams:
        logger.info("expired %d g of %d residents' credits", grams, residents)
    return Expired(residents, grams)


async def run_forever(db: Database, *, months: int, interval_s: float) -> None:
    while True:
        try:
            await run_once(db, months=months)
        except Exception as exc:
            if not is_database_outage(exc):
                logger.exception("credit expiry failed")
        await asyncio.sleep(interval_s)


# ---------------------------------------------------------------------------------------------- residents

_EXPIRING = text(
    """
    SELECT h.issued_at + make_interval(months => :months) AS expires_at, h.grams
      FROM ledger_lot_holdings((SELECT id FROM ledger_account WHERE resident_id = :resident)) h
     WHERE h.issued_at + make_interval(months => :months) <= now() + make_interval(days => :days)
     ORDER BY h.lot_id
    """
)


async def expiring(
    session: AsyncSession | ReadSession, *, resident_id: int, months: int, days: int
) -> list[tuple[date, int]]:
    """Grams of the resident's credits that expire within `days`, by local day, soonest first."""
    rows = (await session.execute(_EXPIRING, {"resident": resident_id, "months": months, "days": days})).all()
    by_day: dict[date, int] = {}
    for row in rows:
        day = row.expires_at.astimezone(SHANGHAI).date()
        by_day[day] = by_day.get(day, 0) + row.grams
    return sorted(by_day.items())
