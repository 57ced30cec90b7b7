"""Reading behaviours back: each with its full calculation and the factor version behind its credit."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from service.db import ReadSession
from service.errors import NotFound
from service.factors.cache import FactorCache
from service.factors.model import BehaviourType, Emission
from service.ingest import repository
from service.ingest.evidence import verified_evidence
from service.ingest.models import Behaviour
from service.ingest.schemas import BehaviourPage, BehaviourRead, Calculation, FactorRef
from service.kit.pagination import decode_cursor, decode_time_cursor, encode_cursor, encode_time_cursor
from service.ledger import service as ledger_service
from service.photos import service as photos_service
from service.photos.storage import PhotoStorage

R = TypeVar("R", bound=BehaviourRead)


@dataclass(frozen=True, slots=True)
class JustRecorded:
    """A behaviour as the ledger has just stored it, in the terms a reply reads: built from what was
    computed and what the recording function answered, rather than an ORM object nobody loads."""

    id: int
    client_id: uuid.UUID | None
    source: str
    evidence: dict[str, object] | None
    behaviour_type: str
    category: str | None
    status: str
    occurred_at: datetime
    ended_at: datetime
    credited_g: int
    capped_g: int
    cap_reason: str | None
    quantity: Decimal
    unit: str
    reported_quantity: Decimal
    reported_unit: str
    reduction_g_per_unit: Decimal
    tier: str
    weight: Decimal
    exact_g: Decimal
    grams: int
    remainder_g: Decimal
    factor_version_id: int
    balance_after: int | None
    created_at: datetime


def _emission(cache: FactorCache, behaviour: Behaviour | JustRecorded) -> tuple[FactorRef, Emission]:
    stored = cache.get(behaviour.factor_version_id)
    if stored is None:
        raise LookupError(f"factor version {behaviour.factor_version_id} is not cached")
    factor = stored.factor_set.behaviour[behaviour.behaviour_type]  # type: ignore[index]
    if factor.hydrogen is not None:
        # The reduction stored is the one used; baseline follows from the version's diesel figure.
        baseline = factor.emission().baseline_g_per_unit
        emission = Emission(
            baseline_g_per_unit=baseline,
            project_g_per_unit=baseline - behaviour.reduction_g_per_unit,
            reduction_g_per_unit=behaviour.reduction_g_per_unit,
        )
    else:
        emission = factor.emission(category=behaviour.category)
    ref = FactorRef(
        version_id=stored.id,
        set=stored.factor_set.set,
        version=stored.factor_set.version,
        methodology=factor.methodology,
        source=factor.source,
        verified=factor.verified,
    )
    return ref, emission


def behaviour_read(cache: FactorCache, behaviour: Behaviour | JustRecorded, model: type[R], **extra: Any) -> R:
    """A behaviour with its calculation, as `model`: BehaviourRead, or a subclass whose own fields are `extra`."""
    factor, emission = _emission(cache, behaviour)
    formula = (
        f"{behaviour.quantity.normalize():f} {behaviour.unit} × {behaviour.reduction_g_per_unit.normalize():f} g/"
        f"{behaviour.unit} × {behaviour.weight.normalize():f} = {behaviour.exact_g.normalize():f} g → {behaviour.grams} g"
    )
    return model(
        id=behaviour.id,
        client_id=behaviour.client_id,
        type=behaviour.behaviour_type,  # type: ignore[arg-type]
        category=behaviour.category,
        status=behaviour.status,  # type: ignore[arg-type]
        occurred_at=behaviour.occurred_at,
        ended_at=behaviour.ended_at,
        credited_g=behaviour.credited_g,
        capped_g=behaviour.capped_g,
        cap_reason=behaviour.cap_reason,
        calculation=Calculation(
            quantity=behaviour.quantity,
            unit=behaviour.unit,  # type: ignore[arg-type]
            reported_quantity=behaviour.reported_quantity,
            reported_unit=behaviour.reported_unit,  # type: ignore[arg-type]
            baseline_g_per_unit=emission.baseline_g_per_unit,
            project_g_per_unit=emission.project_g_per_unit,
            reduction_g_per_unit=behaviour.reduction_g_per_unit,
            tier=behaviour.tier,  # type: ignore[arg-type]
            weight=behaviour.weight,
            exact_g=behaviour.exact_g,
            grams=behaviour.grams,
            remainder_g=behaviour.remainder_g,
            formula=formula,
        ),
        factor=factor,
        balance_g=behaviour.balance_after,
        recorded_at=behaviour.created_at,
        verified_evidence=verified_evidence(behaviour.source, behaviour.tier, behaviour.status, behaviour.evidence),
        **extra,
    )


async def behaviour_reads(
    session: AsyncSession | ReadSession, *, cache: FactorCache, behaviours: Sequence[Behaviour]
) -> list[BehaviourRead]:
    reads = [behaviour_read(cache, b, BehaviourRead) for b in behaviours]
    issued = await ledger_service.issuances_of(session, behaviour_ids=[b.id for b in behaviours])
    for read in reads:
        issuance = issued.get(read.id)
        read.transfer_id = issuance.transfer_id if issuance else None
        read.reversed_g = issuance.reversed_g if issuance else 0
    return reads


async def get_for_resident(
    session: ReadSession, *, cache: FactorCache, resident_id: int, behaviour_id: int
) -> BehaviourRead:
    behaviour = await repository.get_behaviour(session, behaviour_id)
    if behaviour is None or behaviour.resident_id != resident_id:
        raise NotFound("No such behaviour of yours.", "没有找到您的这条记录。")
    return (await behaviour_reads(session, cache=cache, behaviours=[behaviour]))[0]


async def _page(
    session: ReadSession,
    *,
    cache: FactorCache,
    rows: Sequence[Behaviour],
    limit: int,
    cursor_of: Callable[[Behaviour], str],
) -> BehaviourPage:
    """A page of `limit` rows from a query asked for `limit + 1`; the extra row means there is more."""
    page = list(rows[:limit])
    return BehaviourPage(
        items=await behaviour_reads(session, cache=cache, behaviours=page),
        next_cursor=cursor_of(page[-1]) if len(rows) > limit else None,
    )


async def history(
    session: ReadSession, *, cache: FactorCache, resident_id: int, cursor: str | None, limit: int
) -> BehaviourPage:
    """A resident's behaviours by when they happened, most recent first."""
    rows = await repository.resident_behaviours(
        session, resident_id=resident_id, before=decode_time_cursor(cursor), limit=limit + 1
    )
    return await _page(
        session, cache=cache, rows=rows, limit=limit, cursor_of=lambda row: encode_time_cursor(row.occurred_at, row.id)
    )


async def pending(
    session: ReadSession,
    *,
    cache: FactorCache,
    storage: PhotoStorage,
    settings: Settings,
    behaviour_type: BehaviourType | None,
    community_id: int | None,
    cursor: str | None,
    limit: int,
) -> BehaviourPage:
    """Reports held for review (of one type, of one community's residents, if given), oldest first, each
    photo with a short-lived link for the operator."""
    rows = await repository.pending_behaviours(
        session,
        behaviour_type=behaviour_type,
        community_id=community_id,
        after_id=decode_cursor(cursor),
        limit=limit + 1,
    )
    page = await _page(session, cache=cache, rows=rows, limit=limit, cursor_of=lambda row: encode_cursor(row.id))
    photos = {row.id: row.evidence["photo"]["photo_id"] for row in rows if row.evidence and "photo" in row.evidence}
    reporters = {row.id: row.resident_id for row in rows}
    public = await repository.public_ids(session, list(set(reporters.values())))
    for read in page.items:
        read.resident_id = public.get(reporters[read.id])
        if read.id in photos:
            read.photo_url = await photos_service.review_link(
                session, storage=storage, settings=settings, photo_id=uuid.UUID(photos[read.id])
            )
    return page
