"""A resident's personal data as the ingest domain holds it: behaviours' evidence and times, refused
evidence, fraud flags.

For the privacy domain: `erase` (deleting an account), `export_behaviours` (the data export), and the
retention schedule's `coarsen_recorded_before`, `clear_resolved_flags` and `prune_refusals`. A behaviour's figures, amounts,
factor version and calculation are kept for as long as the ledger; what goes is what says where and
exactly when the resident was."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.db import ReadSession
from service.factors.cache import FactorCache
from service.ingest import reading, repository
from service.ingest.schemas import BehaviourExportRead

EXPORT_PAGE = 500


async def erase(session: AsyncSession, *, resident_id: int) -> dict[str, int]:
    """Erase the resident's evidence, trip times, keys and refusals, and what their flags say."""
    return {
        "behaviours": await repository.erase_behaviours_of(session, resident_id),
        "evidence_refusals": await repository.delete_refusals_of(session, resident_id),
        "flags": await repository.erase_flags_of(session, resident_id),
    }


async def export_behaviours(session: ReadSession, *, cache: FactorCache, resident_id: int) -> list[BehaviourExportRead]:
    """Every behaviour of the resident with its calculation and its evidence as kept, most recent first,
    read a page at a time."""
    behaviours: list[BehaviourExportRead] = []
    before: tuple[datetime, int] | None = None
    while True:
        rows = await repository.resident_behaviours(session, resident_id=resident_id, before=before, limit=EXPORT_PAGE)
        reads = await reading.behaviour_reads(session, cache=cache, behaviours=rows)
        behaviours += [
            BehaviourExportRead(**read.model_dump(), evidence=row.evidence)
            for read, row in zip(reads, rows, strict=True)
        ]
        if len(rows) < EXPORT_PAGE:
            return behaviours
        before = (rows[-1].occurred_at, rows[-1].id)


async def coarsen_recorded_before(
    session: AsyncSession, *, after: int, before: datetime, limit: int
) -> tuple[int, int, bool]:
    """Coarsen behaviours recorded before `before`, in id order from just after `after`, up to `limit` of
    them and stopping at the first recorded since: the id now coarsened through, how many changed, and
    whether more may be due."""
    rows = await repository.behaviours_recorded_after(session, after=after, limit=limit)
    through = after
    for row in rows:
        if row.created_at >= before:
            break
        through = row.id
    if through == after:
        return after, 0, False
    changed = await repository.coarsen_behaviours(session, after=after, through=through)
    return through, changed, len(rows) == limit and through == rows[-1].id


async def clear_resolved_flags(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Clear what up to `limit` flags resolved before `before` say: their figures and times, and a shared
    device's id; the kind, the resident, the behaviour and the decision stay."""
    return await repository.clear_resolved_flags_before(session, before=before, limit=limit)


async def prune_refusals(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to `limit` refused pieces of evidence kept since before `before`."""
    return await repository.delete_refusals_before(session, before=before, limit=limit)
