"""A partner's batch, from the request to the reply: every record checked on its own, the good ones posted
in one call of `ingest_record_batch()`, one outcome per record. One bad record never fails the batch."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import assert_never

import asyncpg
import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.accounts.errors import AccountFrozen
from service.consent.errors import LinkRevoked, PseudonymNotYours, PseudonymUnknown
from service.errors import DuplicateConflict
from service.factors.cache import FactorCache
from service.ingest import repository
from service.ingest.errors import BehaviourRejected, UnknownResident
from service.ingest.models import Behaviour
from service.ingest.reports import LAPSING
from service.ingest.schemas import PartnerRecord
from service.ingest.validation import Prepared, content_hash, prepare
from service.kit.clock import local_date
from service.ledger.posting import Posting, Recorder
from service.ledger.results import (
    BehaviourStatus,
    DuplicateTrip,
    EvidenceReused,
    KeyRace,
    LinkRefused,
    Recorded,
    Replayed,
    ResidentFrozen,
    ResidentUnknown,
    Result,
    WriteLimited,
)
from service.ledger.results import Outcome as PostingOutcome

# One record's outcome in a partner's reply, as RecordOutcome documents it. A reply holds up to 1,000, all
# built here from our own values: as plain dicts serialised once (orjson) they cost a fraction of a
# validated model each, which FastAPI would then dump and encode again. The partner tests read every
# reply back through BatchResult.
Outcome = dict[str, object]

# Why a record's pseudonym names no resident, as the reply's reason.
_LINK_REFUSALS = {
    PostingOutcome.unknown_pseudonym: PseudonymUnknown.code,
    PostingOutcome.pseudonym_elsewhere: PseudonymNotYours.code,
    PostingOutcome.link_revoked: LinkRevoked.code,
}


async def submit(
    connection: asyncpg.Connection,
    *,
    sessions: async_sessionmaker[AsyncSession],
    cache: FactorCache,
    recorder: Recorder,
    partner_id: int,
    records: Sequence[dict[str, object]],
) -> bytes:
    """Check every record on its own; post the good ones in one call. The reply is the JSON that
    BatchResult documents."""
    recorder.require_ready()
    now = datetime.now(UTC)
    outcomes: dict[int, Outcome] = {}
    ready: list[Posting] = []
    digests: dict[int, tuple[str, str]] = {}
    lapsed: dict[int, tuple[str, str, BehaviourRejected]] = {}
    for index, raw in enumerate(records):
        external_id = raw.get("external_id") if isinstance(raw.get("external_id"), str) else None
        try:
            record = PartnerRecord.model_validate(raw)
            digest = partner_content_hash(record)
            prepared = prepare(
                record,
                cache=cache,
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
        ready.append(partner_posting(index, record, prepared))
    results: dict[int, Result] = {}
    if ready:
        results = await recorder.post_batch(connection, ready, partner_id=partner_id, today=local_date(now))
    # Records to look up: keys a concurrent batch stored first, and records too old to judge now, which
    # answer as the replay they are if they were received before.
    raced = [digests[index][0] for index, result in results.items() if isinstance(result, KeyRace)]
    stored: dict[str, Behaviour] = {}
    if raced or lapsed:
        async with sessions() as session:
            stored = await repository.partner_behaviours_by_key(
                session, partner_id=partner_id, external_ids=[*raced, *(key for key, _, _ in lapsed.values())]
            )
    for index, (external_id, digest, refusal) in lapsed.items():
        before = stored.get(external_id)
        outcomes[index] = (
            _outcome_of(index, external_id, _as_replay(before), digest)
            if before is not None
            else _rejected(index, external_id, refusal)
        )
    for index, result in results.items():
        external_id, digest = digests[index]
        if isinstance(result, KeyRace):
            # A concurrent batch stored this key first: answer as a replay of what it stored.
            result = _as_replay(stored[external_id])
        outcomes[index] = _outcome_of(index, external_id, result, digest)
    replies = [outcomes[i] for i in range(len(records))]
    counts = Counter(reply["outcome"] for reply in replies)
    return orjson.dumps(
        {
            "accepted": counts["accepted"],
            "duplicate": counts["duplicate"],
            "capped": counts["capped"],
            "rejected": counts["rejected"],
            "results": replies,
        }
    )


def partner_content_hash(record: PartnerRecord) -> str:
    """A partner record's content hash: its facts, the resident's pseudonym and the hydrogen source."""
    return content_hash(record, {"pseudonym": record.pseudonym, "hydrogen_source": record.hydrogen_source})


def partner_posting(index: int, record: PartnerRecord, prepared: Prepared) -> Posting:
    """A checked partner record as the recorder posts it, numbered by its place in the batch."""
    posting = prepared.posting(record, None)
    posting["ord"] = index
    posting["resident_pseudonym"] = record.pseudonym
    posting["external_id"] = record.external_id
    return posting


def _outcome(
    index: int,
    external_id: str | None,
    outcome: str,
    *,
    reason: str | None = None,
    behaviour_id: int | None = None,
    related_behaviour_id: int | None = None,
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
        "related_behaviour_id": related_behaviour_id,
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


def _as_replay(behaviour: Behaviour) -> Replayed:
    """A stored behaviour, answered as the replay of its key."""
    return Replayed(
        behaviour.id,
        BehaviourStatus(behaviour.status),
        behaviour.credited_g,
        behaviour.capped_g,
        behaviour.cap_reason,
        behaviour.content_sha256,
    )


def _outcome_of(index: int, external_id: str, result: Result, digest: str) -> Outcome:
    match result:
        case Recorded(status=BehaviourStatus.duplicate):
            return _outcome(
                index,
                external_id,
                "duplicate",
                reason="TRIP_ALREADY_CREDITED",
                behaviour_id=result.behaviour_id,
                related_behaviour_id=result.duplicate_of,
            )
        case Recorded(status=BehaviourStatus.capped):
            return _outcome(
                index,
                external_id,
                "capped",
                reason=result.cap_reason,
                behaviour_id=result.behaviour_id,
                credited_g=result.credited_g,
                capped_g=result.capped_g,
            )
        case Recorded():
            return _outcome(
                index,
                external_id,
                "accepted",
                behaviour_id=result.behaviour_id,
                credited_g=result.credited_g,
                capped_g=result.capped_g,
            )
        case Replayed():
            if result.content_sha256.hex() != digest:
                return _outcome(
                    index, external_id, "rejected", reason=DuplicateConflict.code, behaviour_id=result.behaviour_id
                )
            return _outcome(
                index,
                external_id,
                "duplicate",
                reason="ALREADY_RECEIVED",
                behaviour_id=result.behaviour_id,
                credited_g=result.credited_g,
                capped_g=result.capped_g,
            )
        case ResidentUnknown():
            return _outcome(index, external_id, "rejected", reason=UnknownResident.code)
        case ResidentFrozen():
            return _outcome(index, external_id, "rejected", reason=AccountFrozen.code)
        case LinkRefused(outcome=outcome):
            return _outcome(index, external_id, "rejected", reason=_LINK_REFUSALS[outcome])
        case KeyRace() | DuplicateTrip() | EvidenceReused() | WriteLimited():
            # A batch has no write limit, partner records are stored as duplicates of a trip rather than
            # refused and carry no claims, and a key race is answered from what the other batch stored.
            raise AssertionError(f"a partner batch cannot be answered {result!r}")
        case _:
            assert_never(result)
