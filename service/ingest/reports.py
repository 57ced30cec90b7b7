"""A resident's report, from the request to the reply: check it in memory, post it, answer what became of it.

1. its evidence is checked (evidence.py: site codes against the site cache, in memory; a photo is looked
   up, as the report then waits for review anyway), which decides its trust tier; `prepare` checks the
   report against its type's rules and computes its credit, from the factor cache: no database read
   (validation.py);
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
from service.ingest import evidence as evidence_check
from service.ingest import repository
from service.ingest.errors import (
    EvidenceAlreadyUsed,
    EvidenceRefused,
    NoFactorInForce,
    OutsideClaimWindow,
    TripAlreadyRecorded,
    UnknownResident,
)
from service.ingest.models import Behaviour
from service.ingest.reading import JustRecorded, behaviour_read
from service.ingest.schemas import BehaviourCreate, RecordedBehaviour
from service.ingest.validation import Prepared, content_hash, prepare
from service.kit.clock import local_date
from service.kit.ratelimit import resident_write_key
from service.ledger import service as ledger_service
from service.ledger.posting import Posting, Recorder
from service.ledger.results import (
    DuplicateTrip,
    EvidenceReused,
    KeyRace,
    LinkRefused,
    Recorded,
    Replayed,
    ResidentFrozen,
    ResidentUnknown,
    WriteLimited,
)
from service.photos import service as photos_service
from service.photos.errors import PhotoUnknown
from service.sites.cache import SiteCache

# Rejections that a record once accepted can come to earn only with time (its claim window closes): a
# retry of it answers the original result instead (any other rejection would have refused it the first
# time too). A resident's evidence lapses too (its code grows old, its site's key is revoked).
LAPSING = (OutsideClaimWindow, NoFactorInForce)
# Refused evidence, counted for the fraud scan.
REFUSED_EVIDENCE = (EvidenceRefused, *evidence_check.SITE_CODE_REFUSALS)


async def report(
    *,
    sessions: async_sessionmaker[AsyncSession],
    cache: FactorCache,
    sites: SiteCache,
    recorder: Recorder,
    resident_id: int,
    body: BehaviourCreate,
) -> RecordedBehaviour:
    """Record a resident's report and answer its credit, its calculation, its evidence and the new
    balance; `replayed` when its `client_id` was recorded before with the same content."""
    recorder.require_ready()
    now = datetime.now(UTC)
    digest = resident_content_hash(body, resident_evidence(body))
    try:
        checked = await _checked_evidence(sessions, cache, sites, resident_id, body, now)
        prepared = prepare(body, cache=cache, tier=checked.tier, now=now, content_sha256=digest, hold=checked.hold)
        evidence_check.check_distance(checked.codes, rule=prepared.resolved.factor.evidence, quantity=prepared.quantity)
    except (*LAPSING, *REFUSED_EVIDENCE, PhotoUnknown) as refused:
        # A retry of a behaviour recorded before answers as it did then, even once its claim window has
        # closed, its code has grown old or its photo is gone; only a key never used is judged afresh.
        before = await _stored(sessions, resident_id, body.client_id)
        if before is not None:
            return await _replayed(sessions, cache, before, digest)
        if isinstance(refused, REFUSED_EVIDENCE):
            async with sessions() as session, session.begin():
                await repository.count_refused_evidence(
                    session, resident_id=resident_id, client_id=str(body.client_id), code=refused.code
                )
        raise
    posting = resident_posting(resident_id, body, prepared, checked)
    result = await recorder.post(posting, today=local_date(now))
    match result:
        case Recorded():
            just = _just_recorded(body, prepared, checked, result, now)
            return behaviour_read(cache, just, RecordedBehaviour, replayed=False, transfer_id=result.transfer_id)
        case Replayed():
            if result.content_sha256.hex() != digest:
                raise DuplicateConflict(extra={"behaviour_id": result.behaviour_id})
            async with sessions() as session:
                behaviour = await repository.get_behaviour(session, result.behaviour_id)
            assert behaviour is not None
            return await _replayed(sessions, cache, behaviour, digest)
        case KeyRace():
            # Another request with this key was stored first: answer as its retry.
            raced = await _stored(sessions, resident_id, body.client_id)
            assert raced is not None
            return await _replayed(sessions, cache, raced, digest)
        case DuplicateTrip():
            raise TripAlreadyRecorded(extra={"related_behaviour_id": result.recorded_as})
        case EvidenceReused():
            raise EvidenceAlreadyUsed(extra={"related_behaviour_id": result.used_by})
        case ResidentUnknown():
            raise UnknownResident("This account no longer exists.", "该账号已不存在。")
        case ResidentFrozen():
            raise AccountFrozen("Recording is paused while the account is reviewed.", "账号审核期间暂停记录。")
        case WriteLimited():
            raise RateLimited(retry_after_s=max(1, int(result.retry_after_s + 0.999)))
        case LinkRefused():
            raise AssertionError("a resident's report names no pseudonym")
        case _:
            assert_never(result)


def resident_evidence(body: BehaviourCreate) -> dict[str, str] | None:
    """A report's evidence as sent, for its content hash: none when nothing is in it."""
    return (body.evidence.model_dump(mode="json", exclude_none=True) if body.evidence else None) or None


def resident_content_hash(body: BehaviourCreate, evidence: dict[str, str] | None) -> str:
    """A report's content hash: its facts and its evidence as sent."""
    return content_hash(body, {"evidence": evidence})


async def _checked_evidence(
    sessions: async_sessionmaker[AsyncSession],
    cache: FactorCache,
    sites: SiteCache,
    resident_id: int,
    body: BehaviourCreate,
    now: datetime,
) -> evidence_check.Checked:
    """What the report's evidence proves, under the evidence rule of the factor version in force when it
    happened (prepare refuses a report with none)."""
    if body.evidence is None or not evidence_check.sent(body.evidence):
        return evidence_check.SELF_REPORT
    resolved = cache.resolve(body.type, body.occurred_at.astimezone(UTC))
    rule = resolved.factor.evidence if resolved is not None else None
    codes = evidence_check.check_codes(
        body.evidence,
        rule=rule,
        sites=sites,
        occurred_at=body.occurred_at.astimezone(UTC),
        ended_at=body.ended_at.astimezone(UTC) if body.ended_at is not None else None,
        now=now,
    )
    photo = None
    if body.evidence.photo_id is not None:
        evidence_check.require_photo_allowed(rule)
        async with sessions() as session:
            photo = await photos_service.photo_for_report(
                session, resident_id=resident_id, photo_id=body.evidence.photo_id
            )
    return evidence_check.checked(codes, photo, rule=rule, resident_id=resident_id)


def resident_posting(
    resident_id: int, body: BehaviourCreate, prepared: Prepared, checked: evidence_check.Checked
) -> Posting:
    """A checked report as the recorder posts it, under its resident's write limit, with the claims its
    evidence makes."""
    posting = prepared.posting(body, checked.stored)
    posting["resident_id"] = resident_id
    posting["client_id"] = str(body.client_id)
    posting["rate_key"] = resident_write_key(resident_id)
    if checked.claims:
        posting["claims"] = checked.claims
    return posting


async def _stored(
    sessions: async_sessionmaker[AsyncSession], resident_id: int, client_id: uuid.UUID
) -> Behaviour | None:
    async with sessions() as session:
        return await repository.resident_behaviour_by_client_id(
            session, resident_id=resident_id, client_id=str(client_id)
        )


async def _replayed(
    sessions: async_sessionmaker[AsyncSession], cache: FactorCache, behaviour: Behaviour, digest: str
) -> RecordedBehaviour:
    """The original result for a client_id recorded before, with its transfer; 409 if this request's
    content differs."""
    if behaviour.content_sha256.hex() != digest:
        raise DuplicateConflict(extra={"behaviour_id": behaviour.id})
    async with sessions() as session:
        issuance = (await ledger_service.issuances_of(session, behaviour_ids=[behaviour.id])).get(behaviour.id)
    transfer_id = issuance.transfer_id if issuance is not None else None
    return behaviour_read(cache, behaviour, RecordedBehaviour, replayed=True, transfer_id=transfer_id)


def _just_recorded(
    body: BehaviourCreate, prepared: Prepared, checked: evidence_check.Checked, result: Recorded, now: datetime
) -> JustRecorded:
    """The behaviour just stored, from what was computed and what the call answered."""
    conversion = prepared.conversion
    factor = prepared.resolved.factor
    return JustRecorded(
        id=result.behaviour_id,
        client_id=body.client_id,
        source="resident",
        evidence=checked.stored,
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
