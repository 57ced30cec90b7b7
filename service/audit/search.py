"""What auditors read: transfer search, its exports as CSV and JSON Lines (streamed from a server-side
cursor, so that a year of ledger is never held in memory), and the admin action log, which every
domain's services write through `service.accounts.actions`."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from service.accounts import actions
from service.accounts.errors import OutsideScope
from service.accounts.tokens import Principal
from service.audit.repository import search as repository
from service.audit.schemas import (
    ActionPage,
    ActionRead,
    ExportFormat,
    TransferFilter,
    TransferKind,
    TransferPage,
    TransferRow,
)
from service.db import ReadSession
from service.factors.model import BehaviourType
from service.kit import csvfile
from service.kit.pagination import decode_cursor, encode_cursor

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
class Export:
    """A streamed export: its bytes, their media type and the file name offered for them."""

    body: AsyncIterator[bytes]
    media_type: str
    filename: str


def transfer_filter(
    *,
    account_id: int | None,
    kind: TransferKind | None,
    behaviour_type: BehaviourType | None,
    factor_version_id: int | None,
    partner_id: int | None,
    since: datetime | None,
    until: datetime | None,
    community_id: int | None,
) -> TransferFilter:
    """The filters of a search; `community_id` (from `scope.community_of`) keeps it to transfers into or
    out of the accounts of that community's residents."""
    return TransferFilter(
        account_id=account_id,
        kind=kind.value if kind else None,
        behaviour_type=behaviour_type.value if behaviour_type else None,
        factor_version_id=factor_version_id,
        partner_id=partner_id,
        since=since,
        until=until,
        community_id=community_id,
    )


async def transfers_page(
    session: ReadSession, *, filters: TransferFilter, cursor: str | None, limit: int
) -> TransferPage:
    """A page of matching transfers, oldest first."""
    rows = await repository.transfers(session, filters=filters, after=decode_cursor(cursor) or 0, limit=limit + 1)
    items = [TransferRow.model_validate(row) for row in rows[:limit]]
    return TransferPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


def export(engine: AsyncEngine, *, filters: TransferFilter, format: ExportFormat) -> Export:
    """Every matching transfer, oldest first, in the format asked for; nothing is read until it streams."""
    if format is ExportFormat.csv:
        return Export(_csv(engine, filters), "text/csv; charset=utf-8", "tanpuhui-transfers.csv")
    return Export(_jsonl(engine, filters), "application/x-ndjson", "tanpuhui-transfers.jsonl")


async def _csv(engine: AsyncEngine, filters: TransferFilter) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csvfile.Writer(buffer)
    writer.writerow(COLUMNS)
    count = 0
    async for row in repository.stream_transfers(engine, filters=filters, batch=EXPORT_BATCH):
        writer.writerow(
            ["" if row[c] is None else row[c].isoformat() if isinstance(row[c], datetime) else row[c] for c in COLUMNS]
        )
        count += 1
        if count % EXPORT_BATCH == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


async def _jsonl(engine: AsyncEngine, filters: TransferFilter) -> AsyncIterator[bytes]:
    lines: list[str] = []
    async for row in repository.stream_transfers(engine, filters=filters, batch=EXPORT_BATCH):
        lines.append(json.dumps(row, default=str, ensure_ascii=False))
        if len(lines) == EXPORT_BATCH:
            yield ("\n".join(lines) + "\n").encode()
            lines.clear()
    if lines:
        yield ("\n".join(lines) + "\n").encode()


def actor_in_scope(principal: Principal, actor: str | None) -> str | None:
    """Whose actions a reader of the log sees: an officer kept to one community its own only (the log
    names targets of every community, and of none), asking for another's is OUTSIDE_SCOPE; anyone else
    the actor asked for, or everyone."""
    if principal.scope_community_id is None:
        return actor
    own = actions.actor_of(principal)
    if actor is not None and actor != own:
        raise OutsideScope(
            "You read your own actions only.",
            "您只能查看自己的操作记录。",
            errors=[{"field": "actor", "in": "query", "code": "OUTSIDE_SCOPE", "message": "your own actions only"}],
        )
    return own


async def action_log(
    session: ReadSession,
    *,
    actor: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> ActionPage:
    """A page of the admin action log, newest first."""
    rows = await actions.search(
        session, actor=actor, action=action, since=since, until=until, before_id=decode_cursor(cursor), limit=limit + 1
    )
    items = [ActionRead.model_validate(row) for row in rows[:limit]]
    return ActionPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)
