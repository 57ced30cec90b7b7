"""The ledger's SQL, but for its functions' own (service/ledger/sql/) and the posting call (posting.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, TextClause, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.db import ReadSession
from service.ledger.models import LedgerAccount, LedgerEntry, LedgerTransfer, LotMove


async def issuance_account_ids(session: AsyncSession | ReadSession) -> list[int]:
    statement = select(LedgerAccount.id).where(LedgerAccount.code.like("issuance:%")).order_by(LedgerAccount.id)
    return list((await session.scalars(statement)).all())


async def resident_account(session: AsyncSession | ReadSession, resident_id: int) -> LedgerAccount | None:
    return await session.scalar(select(LedgerAccount).where(LedgerAccount.resident_id == resident_id))


async def account_resident(session: AsyncSession | ReadSession, account_id: int) -> int | None:
    """The resident who holds an account; None for an enterprise's or a system account."""
    return await session.scalar(select(LedgerAccount.resident_id).where(LedgerAccount.id == account_id))


async def credited_total(session: AsyncSession | ReadSession, account_id: int) -> int:
    """Grams ever issued to the account: refunds of cancelled vouchers give back, they do not credit."""
    statement = (
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LedgerTransfer, LedgerTransfer.id == LedgerEntry.transfer_id)
        .where(LedgerEntry.account_id == account_id, LedgerTransfer.kind == "issuance")
    )
    return int(await session.scalar(statement) or 0)


async def get_transfer(session: AsyncSession, transfer_id: int) -> LedgerTransfer | None:
    return await session.scalar(select(LedgerTransfer).where(LedgerTransfer.id == transfer_id))


async def reversal_of(session: AsyncSession, transfer_id: int) -> int | None:
    """The transfer that compensates `transfer_id` (a reversal or a refund), if any."""
    statement = select(LedgerTransfer.id).where(LedgerTransfer.reverses_transfer_id == transfer_id)
    return await session.scalar(statement)


_PARTNER_RECORD = text(
    "SELECT partner_id, behaviour_type FROM ingest_behaviour WHERE id = :id AND partner_id IS NOT NULL"
)


async def partner_record(session: AsyncSession, behaviour_id: int) -> Row[Any] | None:
    """(partner_id, behaviour_type) of a behaviour a partner reported; None for a resident's."""
    return (await session.execute(_PARTNER_RECORD, {"id": behaviour_id})).first()


async def lock_accounts(session: AsyncSession, account_ids: Sequence[int]) -> dict[int, LedgerAccount]:
    statement = (
        select(LedgerAccount).where(LedgerAccount.id.in_(account_ids)).order_by(LedgerAccount.id).with_for_update()
    )
    rows = (await session.scalars(statement, execution_options={"populate_existing": True})).all()
    return {row.id: row for row in rows}


async def insert_transfer(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """Insert a transfer and its two entries; None when it would reverse a transfer already reversed."""
    statement = (
        pg_insert(LedgerTransfer)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=[LedgerTransfer.reverses_transfer_id],
            index_where=LedgerTransfer.reverses_transfer_id.is_not(None),
        )
        .returning(LedgerTransfer.id)
    )
    transfer_id = await session.scalar(statement)
    if transfer_id is None:
        return None
    amount = values["amount"]
    await session.execute(
        insert(LedgerEntry),
        [
            {"transfer_id": transfer_id, "account_id": values["debit_account_id"], "amount": -amount},
            {"transfer_id": transfer_id, "account_id": values["credit_account_id"], "amount": amount},
        ],
    )
    return int(transfer_id)


async def add_to_balance(session: AsyncSession, account_id: int, amount: int) -> None:
    await session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.id == account_id, LedgerAccount.kind != "system")
        .values(balance=LedgerAccount.balance + amount)
    )


BALANCE_CHECK_SQL = text(
    """
    SELECT (SELECT coalesce(sum(balance), 0) FROM ledger_account WHERE kind <> 'system')
         + (SELECT coalesce(sum(e.amount), 0) FROM ledger_entry e
              JOIN ledger_account a ON a.id = e.account_id WHERE a.kind = 'system') AS total
    """
)


async def sum_of_balances(session: AsyncSession | ReadSession) -> int:
    """Stored balances plus the derived balances of system accounts: zero while the books balance."""
    return int((await session.execute(BALANCE_CHECK_SQL)).scalar_one())


async def transfers_of_behaviours(
    session: AsyncSession | ReadSession, behaviour_ids: Sequence[int]
) -> Sequence[Row[Any]]:
    statement = text(
        """
        SELECT t.behaviour_id, t.id AS transfer_id, r.amount AS reversed_g
          FROM ledger_transfer t
          LEFT JOIN ledger_transfer r ON r.reverses_transfer_id = t.id
         WHERE t.behaviour_id = ANY(:ids) AND t.kind = 'issuance'
        """
    )
    return (await session.execute(statement, {"ids": list(behaviour_ids)})).all()


async def resident_entries(
    session: AsyncSession | ReadSession, *, resident_id: int, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """The entries of a resident's account before id `before`, newest first, each with its transfer: one
    range of ix_ledger_entry_account_id_id."""
    account = select(LedgerAccount.id).where(LedgerAccount.resident_id == resident_id).scalar_subquery()
    statement = (
        select(
            LedgerEntry.id,
            LedgerEntry.transfer_id,
            LedgerTransfer.kind,
            LedgerEntry.amount.label("amount_g"),
            LedgerEntry.created_at,
            LedgerTransfer.behaviour_id,
            LedgerTransfer.reverses_transfer_id,
            LedgerTransfer.reason,
        )
        .join(LedgerTransfer, LedgerTransfer.id == LedgerEntry.transfer_id)
        .where(LedgerEntry.account_id == account)
        .order_by(LedgerEntry.id.desc())
        .limit(limit)
    )
    if before is not None:
        statement = statement.where(LedgerEntry.id < before)
    return [dict(row._mapping) for row in await session.execute(statement)]


# ---------------------------------------------------------------------------------------------- review

_REVIEW = text(
    "SELECT * FROM ingest_review(:behaviour_id, :approve, :actor, :reason, CAST(:issuance AS bigint[]), :today, :budget)"
)


async def review(session: AsyncSession, **params: Any) -> Row[Any]:
    """An operator's decision on a report held for review, by `ingest_review()`: (outcome, status,
    credited_g, capped_g, balance_after)."""
    return (await session.execute(_REVIEW, params)).one()


# ---------------------------------------------------------------------------------------------- lots

_HOLDINGS = text("SELECT lot_id, grams, issued_at FROM ledger_lot_holdings(:account)")


async def holdings(session: AsyncSession | ReadSession, account_id: int) -> Sequence[Row[Any]]:
    """(lot_id, grams, issued_at) of every lot the account holds, oldest lot first."""
    return (await session.execute(_HOLDINGS, {"account": account_id})).all()


async def insert_lot_moves(session: AsyncSession, moves: Sequence[dict[str, int]]) -> None:
    await session.execute(insert(LotMove), moves)


async def lot_moves_of(session: AsyncSession | ReadSession, transfer_id: int) -> list[tuple[int, int]]:
    """(lot id, grams) of every lot move of a transfer, in the order written."""
    statement = select(LotMove.lot_id, LotMove.grams).where(LotMove.transfer_id == transfer_id).order_by(LotMove.id)
    return [(row.lot_id, row.grams) for row in await session.execute(statement)]


# ---------------------------------------------------------------------------------------------- expiry

_EXPIRY_STATE = text("SELECT lot_through, move_through FROM ledger_expiry_state WHERE id = 1 FOR UPDATE")
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
_ADVANCE_EXPIRY = text(
    "UPDATE ledger_expiry_state SET lot_through = :lots, move_through = :moves, ran_at = now() WHERE id = 1"
)
_EXPIRING = text(
    """
    SELECT h.issued_at + make_interval(months => :months) AS expires_at, h.grams
      FROM ledger_lot_holdings((SELECT id FROM ledger_account WHERE resident_id = :resident)) h
     WHERE h.issued_at + make_interval(months => :months) <= now() + make_interval(days => :days)
     ORDER BY h.lot_id
    """
)


async def lock_expiry_state(session: AsyncSession) -> tuple[int, int]:
    """The expiry job's marks (lot_through, move_through), locked."""
    row = (await session.execute(_EXPIRY_STATE)).one()
    return row.lot_through, row.move_through


async def issuance_lots_after(
    session: AsyncSession, *, after: int, months: int, as_of: datetime, page: int
) -> Sequence[Row[Any]]:
    """Issuance lots above `after` in id order, each with its account and whether it has lapsed at `as_of`."""
    params = {"after": after, "months": months, "as_of": as_of, "page": page}
    return (await session.execute(_LAPSED_LOTS, params)).all()


async def refunds_of_old_lots(
    session: AsyncSession, *, after: int, upto: int, lot_through: int, page: int
) -> Sequence[Row[Any]]:
    """Lot moves by refunds in (after, upto] that gave back lots at or below `lot_through`, with their account."""
    params = {"after": after, "upto": upto, "lot_through": lot_through, "page": page}
    return (await session.execute(_REFUNDED_OLD_LOTS, params)).all()


async def expire(session: AsyncSession, *, accounts: Sequence[int], as_of: datetime, months: int) -> Sequence[Row[Any]]:
    """Move what the accounts still hold of lots lapsed at `as_of` to the expired account (`ledger_expire()`)."""
    params = {"accounts": list(accounts), "as_of": as_of, "months": months}
    return (await session.execute(_EXPIRE, params)).all()


async def advance_expiry(session: AsyncSession, *, lots: int, moves: int) -> None:
    await session.execute(_ADVANCE_EXPIRY, {"lots": lots, "moves": moves})


async def expiring(
    session: AsyncSession | ReadSession, *, resident_id: int, months: int, days: int
) -> Sequence[Row[Any]]:
    """(expires_at, grams) of the resident's lots that lapse within `days`, oldest lot first."""
    params = {"resident": resident_id, "months": months, "days": days}
    return (await session.execute(_EXPIRING, params)).all()


# ---------------------------------------------------------------------------------------------- horizon

# The transactions a horizon waits for, as full (64-bit) transaction ids: those its snapshot lists as
# running, and the newest writers of our own database. A snapshot lists only the running transactions
# below its xmax, which is one past the newest transaction to *finish*: the newest writers, while none
# after them has finished, are in no list, so they are taken from pg_stat_activity (after dropping its
# cached copy), whose 32-bit ids are widened by the epoch of the snapshot's xmax (a running transaction's
# id is within 2^31 of it). Writers in other databases of the same server are no concern of ours: they
# are left out here, once.
_WAIT_FOR = text(
    """
    WITH s AS (SELECT pg_current_snapshot() AS snap),
    horizon AS (SELECT pg_snapshot_xmax(snap)::text::bigint AS xmax FROM s),
    newest AS (
        SELECT w.xid + CASE WHEN w.xid - h.xmax > 2147483648 THEN -4294967296
                            WHEN h.xmax - w.xid > 2147483648 THEN 4294967296 ELSE 0 END AS xid
          FROM horizon h CROSS JOIN pg_stat_activity a
         CROSS JOIN LATERAL (SELECT (h.xmax & -4294967296) + a.backend_xid::text::bigint AS xid) w
         WHERE a.backend_xid IS NOT NULL AND a.datname = current_database() AND a.pid <> pg_backend_pid()
    ), running AS (
        SELECT x::text::bigint AS xid FROM s, pg_snapshot_xip(s.snap) x
        UNION
        SELECT xid FROM newest
    )
    SELECT r.xid FROM running r
     WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                        WHERE a.backend_xid::text::bigint = r.xid & 4294967295
                          AND a.datname IS DISTINCT FROM current_database())
    """
)
# Those still running, as the server's own table of running transactions says (a prepared transaction
# stays in it): a lookup per id, where reading pg_locks would copy the server's whole lock table.
_STILL_RUNNING = text(
    "SELECT x FROM unnest(CAST(:xids AS bigint[])) x WHERE pg_xact_status(x::text::xid8) = 'in progress'"
)


def _last_id_sql(sequence: str) -> TextClause:
    return text(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}")  # noqa: S608


# The tables followed in id order, by the sequence that hands out their ids.
_LAST_ID = {
    "ledger_entry": _last_id_sql("ledger_entry_id_seq"),
    "ledger_transfer": _last_id_sql("ledger_transfer_id_seq"),
    "ingest_behaviour": _last_id_sql("ingest_behaviour_id_seq"),
    "ledger_lot_move": _last_id_sql("ledger_lot_move_id_seq"),
    "consent_event": _last_id_sql("consent_event_id_seq"),
}


async def last_id(connection: AsyncConnection, table: str) -> int:
    """The last id `table`'s sequence handed out, committed or not."""
    return int(await connection.scalar(_LAST_ID[table]) or 0)


async def transactions_to_wait_for(connection: AsyncConnection) -> list[int]:
    """The transactions that could still write ids below the last one handed out (the snapshot's cache of
    pg_stat_activity dropped first)."""
    await connection.execute(text("SELECT pg_stat_clear_snapshot()"))
    return list(await connection.scalars(_WAIT_FOR))


async def still_running(connection: AsyncConnection, xids: Sequence[int]) -> list[int]:
    return list(await connection.scalars(_STILL_RUNNING, {"xids": list(xids)}))
