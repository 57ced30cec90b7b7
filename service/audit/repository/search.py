"""Transfer search for auditors: a page by id, or every match streamed from a server-side cursor."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.audit.schemas import TransferFilter
from service.db import ReadSession

# What each filter adds to the conditions, in the order they are joined; its value is bound as `:<name>`.
_CONDITIONS = (
    ("account_id", "t.id IN (SELECT e.transfer_id FROM ledger_entry e WHERE e.account_id = :account_id)"),
    ("kind", "t.kind = :kind"),
    ("behaviour_type", "b.behaviour_type = :behaviour_type"),
    ("factor_version_id", "t.factor_version_id = :factor_version_id"),
    ("partner_id", "b.partner_id = :partner_id"),
    ("since", "t.created_at >= :since"),
    ("until", "t.created_at < :until"),
    (
        "community_id",
        "EXISTS (SELECT 1 FROM ledger_entry e JOIN ledger_account a ON a.id = e.account_id"
        " WHERE e.transfer_id = t.id"
        " AND a.resident_id IN (SELECT id FROM accounts_resident WHERE community_id = :community_id))",
    ),
)


def _select(conditions: Sequence[str], *, limit: bool) -> TextClause:
    where = " AND ".join(["t.id > :after", *conditions])
    return text(
        f"""
            SELECT t.id, t.created_at, t.kind, t.debit_account_id, t.credit_account_id, t.amount AS amount_g,
                   t.behaviour_id, b.behaviour_type, b.partner_id,
                   t.factor_version_id, t.reverses_transfer_id, t.reason, t.actor
              FROM ledger_transfer t
              LEFT JOIN ingest_behaviour b ON b.id = t.behaviour_id
             WHERE {where}
             ORDER BY t.id
             {"LIMIT :limit" if limit else ""}
            """  # noqa: S608 -- built at import from _CONDITIONS only; every value is bound
    )


# Every combination of filters, with and without a limit, built once: a request picks its statement.
_SELECTS = {
    (used, limit): _select([sql for (_, sql), on in zip(_CONDITIONS, used, strict=True) if on], limit=limit)
    for used in itertools.product((False, True), repeat=len(_CONDITIONS))
    for limit in (False, True)
}


def _statement(filters: TransferFilter, *, limit: bool) -> tuple[TextClause, dict[str, Any]]:
    """The statement for the filters that are set, and their values."""
    values = {name: getattr(filters, name) for name, _ in _CONDITIONS if getattr(filters, name) is not None}
    used = tuple(name in values for name, _ in _CONDITIONS)
    return _SELECTS[(used, limit)], values


async def transfers(session: ReadSession, *, filters: TransferFilter, after: int, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` matching transfers after id `after`, in id order."""
    statement, values = _statement(filters, limit=True)
    rows = await session.execute(statement, {**values, "after": after, "limit": limit})
    return [dict(row._mapping) for row in rows]


async def stream_transfers(
    engine: AsyncEngine, *, filters: TransferFilter, batch: int
) -> AsyncIterator[dict[str, Any]]:
    """Every matching transfer in id order, fetched `batch` rows at a time on a connection of its own."""
    statement, values = _statement(filters, limit=False)
    async with engine.connect() as connection:
        result = await connection.stream(statement.execution_options(yield_per=batch), {**values, "after": 0})
        async for row in result:
            yield dict(row._mapping)
