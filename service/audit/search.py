"""Ledger search for auditors, and its exports as CSV and JSON Lines, streamed from a server-side cursor so
that a year of ledger is never held in memory."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db import ReadSession

COLUMNS = (
    "id",
    "created_at",
    "kind",
    "debit_account_id",
    "credit_account_id",
    "amount_g",
    "behaviour_id",
    "behaviour_type",
    "partner_id",
    "factor_version_id",
    "reverses_transfer_id",
    "reason",
    "actor",
)
EXPORT_BATCH = 2_000


@dataclass(frozen=True, slots=True)
class TransferFilter:
    account_id: int | None = None
    kind: str | None = None
    behaviour_type: str | None = None
    factor_version_id: int | None = None
    partner_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self) -> tuple[str, dict[str, Any]]:
        """The SQL conditions and their bound values; every value is bound, never spliced."""
        conditions, values = ["t.id > :after"], {}
        if self.account_id is not None:
            conditions.append("t.id IN (SELECT e.transfer_id FROM ledger_entry e WHERE e.account_id = :account_id)")
        for name, column in (
            ("kind", "t.kind"),
            ("behaviour_type", "b.behaviour_type"),
            ("factor_version_id", "t.factor_version_id"),
            ("partner_id", "b.partner_id"),
        ):
            if getattr(self, name) is not None:
                conditions.append(f"{column} = :{name}")
        if self.since is not None:
            conditions.append("t.created_at >= :since")
        if self.until is not None:
            conditions.append("t.created_at < :until")
        for name in ("account_id", "kind", "behaviour_type", "factor_version_id", "partner_id", "since", "until"):
            if getattr(self, name) is not None:
                values[name] = getattr(self, name)
        return " AND ".join(conditions), values


def _statement(filters: TransferFilter, *, limit: bool) -> tuple[TextClause, dict[str, Any]]:
    where, values = filters.where()
    return (
        text(
            f"""
            SELECT t.id, t.created_at, t.kind, t.debit_account_id, t.credit_account_id, t.amount AS amount_g,
                   t.behaviour_id, b.behaviour_type, b.partner_id,
                   t.factor_version_id, t.reverses_transfer_id, t.reason, t.actor
              FROM ledger_transfer t
              LEFT JOIN ingest_behaviour b ON b.id = t.behaviour_id
             WHERE {where}
             ORDER BY t.id
             {"LIMIT :limit" if limit else ""}
            """
        ),
        values,
    )


async def page(session: ReadSession, filters: TransferFilter, *, after: int, limit: int) -> list[dict[str, Any]]:
    statement, values = _statement(filters, limit=True)
    rows = await session.execute(statement, {**values, "after": after, "limit": limit})
    return [dict(row._mapping) for row in rows]


async def _rows(engine: AsyncEngine, filters: TransferFilter) -> AsyncIterator[dict[str, Any]]:
    statement, values = _statement(filters, limit=False)
    async with engine.connect() as connection:
        result = await connection.stream(statement.execution_options(yield_per=EXPORT_BATCH), {**values, "after": 0})
        async for row in result:
            yield dict(row._mapping)


async def export_csv(engine: AsyncEngine, filters: TransferFilter) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    count = 0
    async for row in _rows(engine, filters):
        writer.writerow(
            ["" if row[c] is None else row[c].isoformat() if isinstance(row[c], datetime) else row[c] for c in COLUMNS]
        )
        count += 1
        if count % EXPORT_BATCH == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


async def export_jsonl(engine: AsyncEngine, filters: TransferFilter) -> AsyncIterator[bytes]:
    lines: list[str] = []
    async for row in _rows(engine, filters):
        lines.append(json.dumps(row, default=str, ensure_ascii=False))
        if len(lines) == EXPORT_BATCH:
            yield ("\n".join(lines) + "\n").encode()
            lines.clear()
    if lines:
        yield ("\n".join(lines) + "\n").encode()
