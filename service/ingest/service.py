"""Recording behaviours: a resident's report or a partner's batch, through one round trip to the ledger."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg
import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db import ReadSession
from service.errors import DatabaseUnavailable, NotFound, RateLimited
from service.factors.cache import FactorCache
from service.factors.model import Emission
from service.ingest import repository
from service.ingest.errors import (
    AccountFrozen,
    BehaviourNotPending,
    BehaviourRejected,
    DuplicateConflict,
    NoFactorInForce,
    OutsideClaimWindow,
    TripAlreadyRecorded,
    UnknownResident,
)
from service.ingest.gathering import Gathering
from service.ingest.models import Behaviour
from service.ingest.schemas import (
    BehaviourCreate,
    BehaviourPage,
    BehaviourRead,
    Calculation,
    FactorRef,
    PartnerRecord,
    RecordedBehaviour,
    ReviewResult,
)
from service.ingest.validation import Prepared, content_hash, local_date, prepare
from service.kit.pagination import decode_cursor, decode_time_cursor, encode_cursor, encode_time_cursor
from service.kit.ratelimit import resident_write_key
from service.ledger import posting
from service.ledger import repository as ledger_repository

R = TypeVar("R", bound=BehaviourRead)


@dataclass(frozen=True, slots=True)
class Ingest:
    """What recording needs; built once per process in the lifespan and filled once the database answers
    (`issuance_accounts` is filled in place). Residents' reports go through `gathering`, which records
    what waits together by `_record_residents`; `connect` gives it a statement connection."""

    cache: FactorCache
    issuance_accounts: list[int]
    budget_g: int | None
    resident_writes_per_min: int
    connect: Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]
    gathering: Gathering = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "gathering", Gathering(self._record_residents))

    async def _record_residents(self, records: list[dict[str, Any]], today: date) -> list[posting.Recorded]:
        async with self.connect() as connection:
            return await posting.record(
                connection,
                records=records,
                source="resident",
                partner_id=None,
                issuance_accounts=self.issuance_accounts,
                today=today,
                budget_g=self.budget_g,
                rate_per_minute=self.resident_writes_per_min,
            )

    @property
    def ready(self) -> bool:
        return bool(self.issuance_accounts)

    def require_ready(self) -> None:
        if not self.ready:
            raise DatabaseUnavailable(
                "Recording starts once the database answers.", "数据库就绪后即可记录。", retry_after_s=5
            )


# ---------------------------------------------------------------------------------------------- resident

# Rejections that a record once accepted can come to earn only with time: a retry of it answers the
# original result instead (any other rejection would have refused it the first time too).
LAPSING = (OutsideClaimWindow, NoFactorInForce)


async def record_for_resident(
    *,
    sessions: async_sessionmaker[AsyncSession],
    ingest: Ingest,
    resident_id: int,
    body: BehaviourCreate,
) -> RecordedBehaviour:
    """One round trip, shared with the other residents' reports waiting on this worker (gathering.py):
    the recording function is one atomic statement. A retry of a key already used reads what was stored
    in a session of its own."""
    ingest.require_ready()
    now = datetime.now(UTC)
    evidence = resident_evidence(body)
    digest = resident_content_hash(body, evidence)
    try:
        prepared = prepare(
            body, cache=ingest.cache, tier="evidence" if evidence else "self", now=now, content_sha256=digest
        )
    except LAPSING:
        # A retry of a behaviour recorded before answers as it did then, even once its claim window has
        # closed; only a key never used is judged afresh.
        async with sessions() as session:
            before = await repository.resident_behaviour_by_client_id(
                session, resident_id=resident_id, client_id=str(body.client_id)
            )
        if before is None:
            raise
        return _replayed(ingest, before, digest)
    record = resident_payload(resident_id, body, prepared, evidence)
    row = await ingest.gathering.record(record, today=local_date(now))
    if row.outcome == "rate_limited":
        raise RateLimited(retry_after_s=max(1, int(row.retry_after + 0.999)))
    if row.outcome == "unknown_resident":
        raise UnknownResident("This account no longer exists.", "该账号已不存在。")
    if row.outcome == "frozen":
        raise AccountFrozen("Recording is paused while the account is reviewed.", "账号审核期间暂停记录。")
    if row.outcome == "duplicate_trip":
        raise TripAlreadyRecorded(extra={"related_behaviour_id": row.related_id})
    if row.outcome == "replay":
        if row.content_sha256.hex() != digest:
            raise DuplicateConflict(extra={"behaviour_id": row.behaviour_id})
        async with sessions() as session:
            behaviour = await repository.get_behaviour(session, row.behaviour_id)
        assert behaviour is not None
        return _replayed(ingest, behaviour, digest)
    # A new record: the reply is built from what was computed and what the ledger answered.
    return behaviour_read(ingest.cache, _just_recorded(record, prepared, row, now), RecordedBehaviour, replayed=False)


def resident_evidence(body: BehaviourCreate) -> dict[str, Any] | None:
    """A report's evidence as hashed and stored: none when nothing is in it (the record is self-reported)."""
    return (body.evidence.model_dump(exclude_none=True) if body.evidence else None) or None


def resident_content_hash(body: BehaviourCreate, evidence: dict[str, Any] | None) -> str:
    """A report's content hash: its facts and its evidence."""
    return content_hash(body, {"evidence": evidence})


def resident_payload(
    resident_id: int, body: BehaviourCreate, prepared: Prepared, evidence: dict[str, Any] | None
) -> dict[str, Any]:
    """A checked report as ingest_record_batch() takes it (but for `ord`, which its call gives it), under
    its resident's write limit."""
    return {
        "resident_id": resident_id,
        "client_id": str(body.client_id),
        "rate_key": resident_write_key(resident_id),
        **prepared.payload(body, evidence),
    }


def _replayed(ingest: Ingest, behaviour: Behaviour, digest: str) -> RecordedBehaviour:
    """The original result for a client_id recorded before; 409 if this request's content differs."""
    if behaviour.content_sha256.hex() != digest:
        raise DuplicateConflict(extra={"behaviour_id": behaviour.id})
    return behaviour_read(ingest.cache, behaviour, RecordedBehaviour, replayed=True)


@dataclass(frozen=True, slots=True)
class JustRecorded:
    """A behaviour as the ledger has just stored it, in the terms a reply reads: built from what was
    computed and what the recording function answered, rather than an ORM object nobody loads."""

    id: int
    client_id: uuid.UUID | None
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


def _just_recorded(record: dict[str, Any], prepared: Prepared, row: posting.Recorded, now: datetime) -> JustRecorded:
    conversion = prepared.conversion
    return JustRecorded(
        id=row.behaviour_id,
        client_id=uuid.UUID(record["client_id"]),
        behaviour_type=record["behaviour_type"],
        category=record["category"],
        status=row.status,
        occurred_at=prepared.occurred_at,
        ended_at=prepared.ended_at,
        credited_g=row.credited_g,
        capped_g=row.capped_g,
        cap_reason=row.cap_reason,
        quantity=prepared.quantity,
        unit=record["unit"],
        reported_quantity=prepared.reported_quantity,
        reported_unit=prepared.reported_unit.value,
        reduction_g_per_unit=conversion.reduction_g_per_unit,
        tier=prepared.tier,
        weight=conversion.weight,
        exact_g=conversion.exact_g,
        grams=conversion.grams,
        remainder_g=conversion.remainder_g,
        factor_version_id=prepared.resolved.version_id,
        balance_after=row.balance_after,
        created_at=now,
    )


# ---------------------------------------------------------------------------------------------- partner


# One record's outcome in a partner's reply, as RecordOutcome documents it. A reply holds up to 1,000, all
# built here from our own values: as plain dicts serialised once (orjson) they cost a fraction of a
# validated model each, which FastAPI would then dump and encode again. The partner tests read every
# reply back through BatchResult.
Outcome = dict[str, object]


def _outcome(
    index: int,
    external_id: str | None,
    outcome: str,
    *,
    reason: str | None = None,
    behaviour_id: int | None = None,
    credited_g: int = 0,
    capped_g: int = 0,
    errors: list[dict[str, object]] | None = None,
) -> Outcome:
    return {
        "index": index,
        "external_id": external_id,
        "outcome": outcome,
        "reason": reason,
        "behaviour_id": behaviour_id,
        "credited_g": credited_g,
        "capped_g": capped_g,
        "errors": errors,
    }


def _rejected(index: int, external_id: str | None, error: BehaviourRejected | ValidationError) -> Outcome:
    if isinstance(error, ValidationError):
        errors: list[dict[str, object]] = [
            {"field": ".".join(str(p) for p in e["loc"]), "code": e["type"].upper(), "message": e["msg"]}
            for e in error.errors()
        ]
        return _outcome(index, external_id, "rejected", reason="VALIDATION_FAILED", errors=errors)
    return _outcome(index, external_id, "rejected", reason=error.code, errors=[dict(e) for e in error.errors] or None)


@dataclass(frozen=True, slots=True)
class _Replay:
    """A stored behaviour in the shape of an ingest_record_batch() row."""

    behaviour_id: int
    status: str
    credited_g: int
    capped_g: int
    cap_reason: str | None
    content_sha256: bytes
    outcome: str = "replay"


def _as_replay(behaviour: Behaviour) -> _Replay:
    return _Replay(
        behaviour.id,
        behaviour.status,
        behaviour.credited_g,
        behaviour.capped_g,
        behaviour.cap_reason,
        behaviour.content_sha256,
    )


def _partner_outcome(index: int, external_id: str, row: posting.Recorded | _Replay, digest: str) -> Outcome:
    if row.outcome == "unknown_resident":
        return _outcome(index, external_id, "rejected", reason=UnknownResident.code)
    if row.outcome == "frozen":
        return _outcome(index, external_id, "rejected", reason=AccountFrozen.code)
    stored = row.behaviour_id
    if row.outcome == "replay":
        if row.content_sha256.hex() != digest:
            return _outcome(index, external_id, "rejected", reason=DuplicateConflict.code, behaviour_id=stored)
        return _outcome(
            index,
            external_id,
            "duplicate",
            reason="ALREADY_RECEIVED",
            behaviour_id=stored,
            credited_g=row.credited_g,
            capped_g=row.capped_g,
        )
    if row.status == "duplicate":
        return _outcome(index, external_id, "duplicate", reason="TRIP_ALREADY_CREDITED", behaviour_id=stored)
    if row.status == "capped":
        return _outcome(
            index,
            external_id,
            "capped",
            reason=row.cap_reason,
            behaviour_id=stored,
            credited_g=row.credited_g,
            capped_g=row.capped_g,
        )
    return _outcome(
        index, external_id, "accepted", behaviour_id=stored, credited_g=row.credited_g, capped_g=row.capped_g
    )


def partner_content_hash(record: PartnerRecord) -> str:
    """A partner record's content hash: its facts, the resident's public id and the hydrogen source."""
    return content_hash(record, {"resident_id": str(record.resident_id), "hydrogen_source": record.hydrogen_source})


def partner_payload(index: int, record: PartnerRecord, prepared: Prepared) -> dict[str, Any]:
    """A checked partner record as ingest_record_batch() takes it."""
    return {
        "ord": index,
        "resident_public_id": str(record.resident_id),
        "external_id": record.external_id,
        **prepared.payload(record, None),
    }


async def record_partner_batch(
    connection: asyncpg.Connection,
    *,
    sessions: async_sessionmaker[AsyncSession],
    ingest: Ingest,
    partner_id: int,
    records: Sequence[dict[str, object]],
) -> bytes:
    """Check every record on its own; send the good ones to the ledger in one call. One bad record never
    fails the batch. The reply is the JSON that BatchResult documents."""
    ingest.require_ready()
    now = datetime.now(UTC)
    outcomes: dict[int, Outcome] = {}
    ready: list[dict[str, Any]] = []
    digests: dict[int, tuple[str, str]] = {}
    lapsed: dict[int, tuple[str, str, BehaviourRejected]] = {}
    for index, raw in enumerate(records):
        external_id = raw.get("external_id") if isinstance(raw.get("external_id"), str) else None
        try:
            record = PartnerRecord.model_validate(raw)
            digest = partner_content_hash(record)
            prepared = prepare(
                record,
                cache=ingest.cache,
                tier="partner",
                now=now,
                hydrogen_source=record.hydrogen_source,
                content_sha256=digest,
            )
        except LAPSING as error:
            lapsed[index] = (record.external_id, digest, error)
            continue
        except (ValidationError, BehaviourRejected) as error:
            outcomes[index] = _rejected(index, str(external_id) if external_id else None, error)
            continue
        digests[index] = (record.external_id, digest)
        ready.append(partner_payload(index, record, prepared))
    rows: Sequence[posting.Recorded] = []
    if ready:
        rows = await posting.record(
            connection,
            records=ready,
            source="partner",
            partner_id=partner_id,
            issuance_accounts=ingest.issuance_accounts,
            today=local_date(now),
            budget_g=ingest.budget_g,
        )
    # Records to look up: keys a concurrent batch stored first, and records too old to judge now, which
    # answer as the replay they are if they were received before.
    raced = [digests[row.ord][0] for row in rows if row.outcome == "key_race"]
    stored: dict[str, Behaviour] = {}
    if raced or lapsed:
        async with sessions() as session:
            stored = await repository.partner_behaviours_by_key(
                session, partner_id=partner_id, external_ids=[*raced, *(key for key, _, _ in lapsed.values())]
            )
    for index, (external_id, digest, refusal) in lapsed.items():
        before = stored.get(external_id)
        outcomes[index] = (
            _partner_outcome(index, external_id, _as_replay(before), digest)
            if before is not None
            else _rejected(index, external_id, refusal)
        )
    for row in rows:
        external_id, digest = digests[row.ord]
        if row.outcome == "key_race":
            # A concurrent batch stored this key first: answer as a replay of what it stored.
            outcomes[row.ord] = _partner_outcome(row.ord, external_id, _as_replay(stored[external_id]), digest)
        else:
            outcomes[row.ord] = _partner_outcome(row.ord, external_id, row, digest)
    results = [outcomes[i] for i in range(len(records))]
    counts = Counter(r["outcome"] for r in results)
    return orjson.dumps(
        {
            "accepted": counts["accepted"],
            "duplicate": counts["duplicate"],
            "capped": counts["capped"],
            "rejected": counts["rejected"],
            "results": results,
        }
    )


# ---------------------------------------------------------------------------------------------- reading


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
        **extra,
    )


async def behaviour_reads(
    session: AsyncSession | ReadSession, *, cache: FactorCache, behaviours: Sequence[Behaviour]
) -> list[BehaviourRead]:
    reads = [behaviour_read(cache, b, BehaviourRead) for b in behaviours]
    transfers = {
        row.behaviour_id: row
        for row in await ledger_repository.transfers_of_behaviours(session, [b.id for b in behaviours])
    }
    for read in reads:
        row = transfers.get(read.id)
        read.transfer_id = row.transfer_id if row else None
        read.reversed_g = int(row.reversed_g or 0) if row else 0
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


async def pending(session: ReadSession, *, cache: FactorCache, cursor: str | None, limit: int) -> BehaviourPage:
    """Reports held for review, oldest first."""
    rows = await repository.pending_behaviours(session, after_id=decode_cursor(cursor), limit=limit + 1)
    return await _page(session, cache=cache, rows=rows, limit=limit, cursor_of=lambda row: encode_cursor(row.id))


# ---------------------------------------------------------------------------------------------- review


async def review(
    session: AsyncSession, *, ingest: Ingest, behaviour_id: int, approve: bool, actor: str, reason: str
) -> ReviewResult:
    ingest.require_ready()
    row = await posting.review(
        session,
        behaviour_id=behaviour_id,
        approve=approve,
        actor=actor,
        reason=reason,
        issuance_accounts=ingest.issuance_accounts,
        today=local_date(datetime.now(UTC)),
        budget_g=ingest.budget_g,
    )
    if row.outcome == "not_found":
        raise NotFound
    if row.outcome == "not_pending":
        raise BehaviourNotPending(extra={"behaviour_status": row.status})
    return ReviewResult(behaviour_id=behaviour_id, status=row.status, credited_g=row.credited_g, capped_g=row.capped_g)
