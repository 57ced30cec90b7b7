"""What posting answers for each behaviour: its status, the outcome `ingest_record_batch()` gives it, and
the result a caller matches on."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never

import asyncpg


class BehaviourStatus(StrEnum):
    """A behaviour's status, as posting decides it."""

    credited = "credited"
    capped = "capped"  # credited in part: a cap or the budget took the rest
    pending_review = "pending_review"  # held for an operator's decision
    rejected = "rejected"  # an operator refused it
    duplicate = "duplicate"  # a trip already credited to another record: earns nothing
    superseded = "superseded"  # a held report a partner's record of the same trip replaced


class Outcome(StrEnum):
    """What `ingest_record_batch()` answers for one record."""

    recorded = "recorded"
    replay = "replay"
    key_race = "key_race"
    duplicate_trip = "duplicate_trip"
    evidence_reused = "evidence_reused"
    unknown_resident = "unknown_resident"
    unknown_pseudonym = "unknown_pseudonym"
    pseudonym_elsewhere = "pseudonym_elsewhere"
    link_revoked = "link_revoked"
    frozen = "frozen"
    rate_limited = "rate_limited"


@dataclass(slots=True)
class Recorded:
    """A new behaviour, stored: credited (`transfer_id` its issuance), capped, held for review, or a
    duplicate of a trip whose credit `duplicate_of` holds."""

    behaviour_id: int
    status: BehaviourStatus
    credited_g: int
    capped_g: int
    cap_reason: str | None
    balance_after: int
    duplicate_of: int | None
    transfer_id: int | None


@dataclass(slots=True)
class Replayed:
    """The record's key was seen before (or earlier in the same call): the stored result and its content."""

    behaviour_id: int
    status: BehaviourStatus
    credited_g: int
    capped_g: int
    cap_reason: str | None
    content_sha256: bytes


@dataclass(slots=True)
class KeyRace:
    """A concurrent call stored the record's key first: read what it stored."""


@dataclass(slots=True)
class DuplicateTrip:
    """A resident's report of a trip already recorded, whose credit `recorded_as` holds: nothing was stored."""

    recorded_as: int


@dataclass(slots=True)
class EvidenceReused:
    """A resident's report naming evidence that backs another report, `used_by`: nothing was stored."""

    used_by: int


@dataclass(slots=True)
class ResidentUnknown:
    """No such resident, or the account is deleted."""


@dataclass(slots=True)
class LinkRefused:
    """A partner's record naming a pseudonym that no link holds, another partner's, or one whose link was
    revoked (`outcome` says which): nothing was stored."""

    outcome: Outcome


@dataclass(slots=True)
class ResidentFrozen:
    """The resident's account is frozen: a record never seen before is refused."""


@dataclass(slots=True)
class WriteLimited:
    """The resident is over the write limit: retry after `retry_after_s` seconds."""

    retry_after_s: float


Result = (
    Recorded
    | Replayed
    | KeyRace
    | DuplicateTrip
    | EvidenceReused
    | ResidentUnknown
    | LinkRefused
    | ResidentFrozen
    | WriteLimited
)

# The enums by value: a dict lookup per record instead of an enum call.
_OUTCOME = {outcome.value: outcome for outcome in Outcome}
_STATUS = {status.value: status for status in BehaviourStatus}


def result_of(row: asyncpg.Record) -> Result:
    """One row of _POST_SQL as the result it stands for (the columns by position, in its order)."""
    outcome = _OUTCOME[row[1]]
    match outcome:
        case Outcome.recorded:
            return Recorded(row[2], _STATUS[row[3]], row[4], row[5], row[6], row[7], row[9], row[11])
        case Outcome.replay:
            return Replayed(row[2], _STATUS[row[3]], row[4], row[5], row[6], row[8])
        case Outcome.key_race:
            return KeyRace()
        case Outcome.duplicate_trip:
            return DuplicateTrip(row[9])
        case Outcome.evidence_reused:
            return EvidenceReused(row[9])
        case Outcome.unknown_resident:
            return ResidentUnknown()
        case Outcome.unknown_pseudonym | Outcome.pseudonym_elsewhere | Outcome.link_revoked:
            return LinkRefused(outcome)
        case Outcome.frozen:
            return ResidentFrozen()
        case Outcome.rate_limited:
            return WriteLimited(row[10])
        case _:
            assert_never(outcome)
