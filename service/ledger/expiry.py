"""Credit expiry: what is left of a resident's credits once their validity ends goes to the expired account.

Credits are valid `credit_validity_months` from issue. Spending takes the oldest lot a resident holds
first, so what expires is exactly what is left of old lots, never credits already spent and never
credits still valid (see service.ledger.lots). One job per deployment (leader-elected by an advisory
lock; its loop is in tasks.py) works in chunks, each its own transaction:

1. walk issuance lots above the mark, in id order, while their validity has ended: their residents are
   due a look;
2. and residents who got lots already past the mark back by a refund since the last look;
3. ledger_expire() locks those accounts in id order and moves what each still holds of lapsed lots to
   the expired account, one transfer per resident with its lot moves; then the marks advance.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.db import Database, try_xact_lock
from service.ledger import repository
from service.ledger.horizon import settled_horizon

logger = logging.getLogger(__name__)

LOCK_KEY = 0x7470_6578  # "tpex": one expiry job at a time across all workers and hosts
PAGE = 5_000
SETTLE_S = 2.0


@dataclass(frozen=True, slots=True)
class Expired:
    residents: int
    grams: int


async def _chunk(session: AsyncSession, *, as_of: datetime, months: int) -> tuple[Expired, bool] | None:
    """One chunk in the session's transaction; None when another job holds the lock. The flag says
    whether there may be more to look at."""
    if not await try_xact_lock(session, LOCK_KEY):
        return None
    # Refunds are walked in id order, so only up to the settled horizon: a refund with a lower id may still
    # be committing. This comes before the state row's lock, while the transaction has no id to wait on.
    moves_upto = await settled_horizon(await session.connection(), SETTLE_S, "ledger_lot_move")
    lot_through, move_through = await repository.lock_expiry_state(session)
    accounts: set[int] = set()
    lots = await repository.issuance_lots_after(session, after=lot_through, months=months, as_of=as_of, page=PAGE)
    new_lot_through = lot_through
    for lot in lots:
        if not lot.lapsed:
            break
        accounts.add(lot.account_id)
        new_lot_through = lot.id
    more = len(lots) == PAGE and new_lot_through == lots[-1].id
    upto = move_through if moves_upto is None else moves_upto
    refunds = await repository.refunds_of_old_lots(
        session, after=move_through, upto=upto, lot_through=lot_through, page=PAGE
    )
    accounts.update(r.account_id for r in refunds)
    new_move_through = refunds[-1].id if refunds else move_through
    more = more or len(refunds) == PAGE
    expired = Expired(0, 0)
    if accounts:
        rows = await repository.expire(session, accounts=sorted(accounts), as_of=as_of, months=months)
        expired = Expired(len(rows), sum(r.grams for r in rows))
    await repository.advance_expiry(session, lots=new_lot_through, moves=new_move_through)
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
