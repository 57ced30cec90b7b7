"""A resident's report, from the request to the reply: check it in memory, post it, answer what became of it.

1. `prepare` checks the report against its type's rules and computes its credit, from the factor cache:
   no database read (validation.py);
2. the ledger's recorder posts it, in one call of `ingest_record_batch()` shared with the other
   residents' reports waiting on this worker (service/ledger/posting.py);
3. the reply is built from what was computed and what the call answered; only a retry of a key already
   used reads the stored behaviour, in a session of its own.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import assert_never

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.accounts.errors import AccountFrozen
from service.errors import DuplicateConflict, RateLimited
from service.factors.cache import FactorCache
from service.ingest import repository
from service.ingest.errors import NoFactorInForce, OutsideClaimWindow, TripAlreadyRecorded, UnknownResident
from service.ingest.models import Behaviour
from service.ingest.reading import JustRecorded, behaviour_read
from service.ingest.schemas import BehaviourCreate, RecordedBehaviour
from service.ingest.validation import Prepared, content_hash, prepare
from service.kit.clock import local_date
from service.kit.ratelimit import resident_write_key
from service.ledger.posting import (
    DuplicateTrip,
    KeyRace,
    Posting,
    Recorded,
    Recorder,
    Replayed,
    ResidentFrozen,
    ResidentUnknown,
    WriteLimited,
)

# Rejections that a report once accepted can come to earn only with time: a retry of it answers the
# original result instead (any other rejection would have refused it the first time too).
LAPSING = (OutsideClaimWindow, NoFactorInForce)


async def report(
    *,
    sessions: async_sessionmaker[AsyncSession],
    cache: FactorCache,
    recorder: Recorder,
    resident_id: int,
    body: BehaviourCreate,
) -> RecordedBehaviour:
    """Record a resident's report and answer its credit, its calculation and the new balance; `replayed`
    when its `client_id` was recorded before with the same content."""
    recorder.require_ready()
    now = datetime.now(UTC)
    evidence = resident_evidence(body)
    digest = resident_content_hash(body, evidence)
    try:
        prepared = prepare(body, cache=cache, tier="evidence" if evidence else "self", now=now, content_sha256=digest)
    except LAPSING:
        # A retry of a behaviour recorded before answers as it did then, even once its claim window has
        # closed; only a key never used is judged afresh.
        before = await _stored(sessions, resident_id, body.client_id)
        if before is None:
            raise
        return _replayed(cache, before, digest)
    posting = resident_posting(resident_id, body, prepared, evidence)
    result = await recorder.post(posting, today=local_date(now))
    match result:
        case Recorded():
            return behaviour_read(cache, _just_recorded(body, prepared, result, now), RecordedBehaviour, replayed=False)
        case Replayed():
            if result.content_sha256.hex() != digest:
                raise DuplicateConflict(extra={"behaviour_id": result.behaviour_id})
            async with sessions() as session:
                behaviour = await repository.get_behaviour(session, result.behaviour_id)
            assert behaviour is not None
            return _replayed(cache, behaviour, digest)
        case KeyRace():
            # Another request with this key was stored first: answer as its retry.
            raced = await _stored(sessions, resident_id, body.client_id)
            assert raced is not None
            return _replayed(cache, raced, digest)
        case DuplicateTrip():
            raise TripAlreadyRecorded(extra={"related_behaviour_id": result.recorded_as})
        case ResidentUnknown():
            raise UnknownResident("This account no longer exists.", "该账号已不存在。")
        case ResidentFrozen():
            raise AccountFrozen("Recording is paused while the account is reviewed.", "账号审核期间暂停记录。")
        case WriteLimited():
            raise RateLimited(retry_after_s=max(1, int(result.retry_after_s + 0.999)))
        case _:
            assert_never(result)


def resident_evidence(body: BehaviourCreate) -> dict[str, str] | None:
    """A report's evidence as hashed and stored: none when nothing is in it (the report is self-reported)."""
    return (body.evidence.model_dump(exclude_none=True) if body.evidence else None) or None


def resident_content_hash(body: BehaviourCreate, evidence: dict[str, str] | None) -> str:
    """A report's content hash: its facts and its evidence."""
    return content_hash(body, {"evidence": evidence})


def resident_posting(
    resident_id: int, body: BehaviourCreate, prepared: Prepared, evidence: dict[str, str] | None
) -> Posting:
    """A checked report as the recorder posts it, under its resident's write limit."""
    posting = prepared.posting(body, evidence)
    posting["resident_id"] = resident_id
    posting["client_id"] = str(body.client_id)
    posting["rate_key"] = resident_write_key(resident_id)
    return posting


async def _stored(
    sessions: async_sessionmaker[AsyncSession], resident_id: int, client_id: uuid.UUID
) -> Behaviour | None:
    async with sessions() as session:
        return await repository.resident_behaviour_by_client_id(
            session, resident_id=resident_id, client_id=str(client_id)
        )


def _replayed(cache: FactorCache, behaviour: Behaviour, digest: str) -> RecordedBehaviour:
    """The original result for a client_id recorded before; 409 if this request's content differs."""
    if behaviour.content_sha256.hex() != digest:
        raise DuplicateConflict(extra={"behaviour_id": behaviour.id})
    return behaviour_read(cache, behaviour, RecordedBehaviour, replayed=True)


def _just_recorded(body: BehaviourCreate, prepared: Prepared, result: Recorded, now: datetime) -> JustRecorded:
    """The behaviour just stored, from what was computed and what the call answered."""
    conversion = prepared.conversion
    factor = prepared.resolved.factor
    return JustRecorded(
        id=result.behaviour_id,
        client_id=body.client_id,
        behaviour_type=body.type.value,
        category=body.category,
        status=result.status.value,
        occurred_at=prepared.occurred_at,
        ended_at=prepared.ended_at,
        credited_g=result.credited_g,
        capped_g=result.capped_g,
        cap_reason=result.cap_reason,
        quantity=prepared.quantity,
        unit=factor.unit.value,
        reported_quantity=prepared.reported_quantity,
        reported_unit=prepared.reported_unit.value,
        reduction_g_per_unit=conversion.reduction_g_per_unit,
        tier=prepared.tier,
        weight=conversion.weight,
        exact_g=conversion.exact_g,
        grams=conversion.grams,
        remainder_g=conversion.remainder_g,
        factor_version_id=prepared.resolved.version_id,
        balance_after=result.balance_after,
        created_at=now,
    )
