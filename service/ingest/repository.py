"""The ingest domain's SQL; behaviours are written by the ledger's posting (service/ledger/posting.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, delete, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.accounts import scope
from service.accounts.models import Resident
from service.db import ReadSession
from service.ingest.models import Behaviour, EvidenceRefusal, Flag, FlagState


async def get_behaviour(session: AsyncSession | ReadSession, behaviour_id: int) -> Behaviour | None:
    return await session.scalar(select(Behaviour).where(Behaviour.id == behaviour_id))


async def resident_behaviour_by_client_id(
    session: AsyncSession | ReadSession, *, resident_id: int, client_id: str
) -> Behaviour | None:
    statement = select(Behaviour).where(Behaviour.resident_id == resident_id, Behaviour.client_id == client_id)
    return await session.scalar(statement)


async def resident_behaviours(
    session: AsyncSession | ReadSession, *, resident_id: int, before: tuple[datetime, int] | None, limit: int
) -> Sequence[Behaviour]:
    """A resident's behaviours by when they happened, most recent first (ties newest recorded first),
    from just after `before` (occurred_at, id): one range of ix_ingest_behaviour_resident_id_occurred_at."""
    statement = select(Behaviour).where(Behaviour.resident_id == resident_id)
    if before is not None:
        statement = statement.where(tuple_(Behaviour.occurred_at, Behaviour.id) < tuple_(*before))
    order = (Behaviour.occurred_at.desc(), Behaviour.id.desc())
    return (await session.scalars(statement.order_by(*order).limit(limit))).all()


async def pending_behaviours(
    session: ReadSession, *, behaviour_type: str | None, community_id: int | None, after_id: int | None, limit: int
) -> Sequence[Behaviour]:
    statement = select(Behaviour).where(
        Behaviour.status == "pending_review", scope.resident_in(Behaviour.resident_id, community_id)
    )
    if behaviour_type is not None:
        statement = statement.where(Behaviour.behaviour_type == behaviour_type)
    if after_id is not None:
        statement = statement.where(Behaviour.id > after_id)
    return (await session.scalars(statement.order_by(Behaviour.id).limit(limit))).all()


async def public_ids(session: AsyncSession | ReadSession, resident_ids: Sequence[int]) -> dict[int, uuid.UUID]:
    """The public id of each resident, by internal id."""
    statement = select(Resident.id, Resident.public_id).where(Resident.id.in_(resident_ids))
    return {row.id: row.public_id for row in await session.execute(statement)}


async def partner_behaviours_by_key(
    session: AsyncSession, *, partner_id: int, external_ids: Sequence[str]
) -> dict[str, Behaviour]:
    statement = select(Behaviour).where(Behaviour.partner_id == partner_id, Behaviour.external_id.in_(external_ids))
    return {row.external_id: row for row in (await session.scalars(statement)).all() if row.external_id}


# ---------------------------------------------------------------------------------------------- fraud scan

# A page of new behaviours: how many, and the last id.
_PAGE = text(
    """
    SELECT count(*) AS n, max(p.id) AS last
      FROM (SELECT b.id FROM ingest_behaviour b
             WHERE b.id > :after AND b.id <= :upto ORDER BY b.id LIMIT :page) p
    """
)
# The page's behaviours that may earn a flag of their own: a trip recorded beside another record of it,
# and one whose reported duration makes it as fast as `ratio` of its type's limit (a little slack, so
# that this is never narrower than the exact check, made in Python on what it returns). The limits come
# from the factor cache as arrays (version, type, km/h); most behaviours never leave the database.
_CANDIDATES = text(
    """
    SELECT b.id, b.resident_id, b.behaviour_type, b.quantity, b.occurred_at, b.ended_at, b.factor_version_id,
           b.source, d.id AS other_id, d.source AS other_source, l.kmh AS limit_kmh
      FROM ingest_behaviour b
      LEFT JOIN ingest_behaviour d ON d.id = b.duplicate_of_id
      LEFT JOIN unnest(CAST(:versions AS bigint[]), CAST(:types AS text[]), CAST(:limits AS numeric[]))
                AS l(version_id, behaviour_type, kmh)
             ON l.version_id = b.factor_version_id AND l.behaviour_type = b.behaviour_type
     WHERE b.id > :after AND b.id <= :last
       AND (b.duplicate_of_id IS NOT NULL
            OR extract(epoch FROM b.ended_at - b.occurred_at) * l.kmh * :ratio <= b.quantity * 3601)
     ORDER BY b.id
    """
)
# Bursts around the page's behaviours. Each resident's new behaviours are taken by the slot of `window`
# seconds they happened in; a run of `records` behaviours that happened within the window and holds one
# of them lies within the slot and the slots either side, a short range of the resident's index by time
# (ix_ingest_behaviour_resident_id_occurred_at), read once however many new behaviours share the slot.
# Every run of that range is a burst; per resident and slot of its last behaviour (`last_slot`, the flag's
# subject), the latest run: its first behaviour, and when its last one happened.
_BURSTS = text(
    """
    SELECT DISTINCT ON (p.resident_id, last_slot)
           p.resident_id, CAST(floor(extract(epoch FROM s.last_at) / CAST(:window AS integer)) AS bigint) AS last_slot,
           s.id AS first_id, s.last_at AS newest
      FROM (SELECT DISTINCT b.resident_id, floor(extract(epoch FROM b.occurred_at) / CAST(:window AS integer)) AS slot
              FROM ingest_behaviour b
             WHERE b.id > :after AND b.id <= :last) p
     CROSS JOIN LATERAL (
           SELECT b.id, b.occurred_at,
                  lead(b.occurred_at, CAST(:records AS integer) - 1) OVER (ORDER BY b.occurred_at, b.id) AS last_at
             FROM ingest_behaviour b
            WHERE b.resident_id = p.resident_id
              AND b.occurred_at >= to_timestamp(CAST((p.slot - 1) * CAST(:window AS integer) AS double precision))
              AND b.occurred_at < to_timestamp(CAST((p.slot + 2) * CAST(:window AS integer) AS double precision))) s
     WHERE s.last_at - s.occurred_at <= CAST(:window AS integer) * interval '1 second'
     ORDER BY p.resident_id, last_slot, s.last_at DESC, s.occurred_at DESC, s.id DESC
    """
)
_SHARED_DEVICES = text(
    """
    SELECT device_id, count(*) AS residents, array_agg(resident_id ORDER BY resident_id) AS resident_ids
      FROM accounts_device
     WHERE device_id IN (SELECT device_id FROM accounts_device WHERE last_seen > now() - interval '1 hour')
     GROUP BY device_id
    HAVING count(*) >= :residents
    """
)
_REFUSED_EVIDENCE = text(
    """
    SELECT resident_id, count(*) AS refusals, array_agg(DISTINCT code ORDER BY code) AS codes,
           max(refused_at) AS latest_at
      FROM ingest_evidence_refusal
     WHERE refused_at > now() - make_interval(secs => :window_s)
     GROUP BY resident_id
    HAVING count(*) >= :refusals
    """
)
_RAISE = text(
    """
    INSERT INTO ingest_flag (kind, subject, resident_id, behaviour_id, details)
    SELECT * FROM jsonb_to_recordset(CAST(:flags AS jsonb))
           AS f(kind text, subject text, resident_id bigint, behaviour_id bigint, details jsonb)
    ON CONFLICT (kind, subject) DO UPDATE SET details = EXCLUDED.details
     WHERE ingest_flag.resolution IS NULL AND ingest_flag.details IS DISTINCT FROM EXCLUDED.details
    """
)


async def scanned_through(connection: AsyncConnection) -> int:
    return int(await connection.scalar(select(FlagState.behaviour_through)) or 0)


async def set_scanned_through(connection: AsyncConnection, last: int) -> None:
    await connection.execute(update(FlagState).values(behaviour_through=last))


async def new_behaviours(connection: AsyncConnection, *, after: int, upto: int, page: int) -> Row[Any]:
    """(n, last) of the next page of behaviours in (after, upto]."""
    return (await connection.execute(_PAGE, {"after": after, "upto": upto, "page": page})).one()


async def flag_candidates(
    connection: AsyncConnection, *, after: int, last: int, ratio: Decimal, limits: dict[str, list[Any]]
) -> Sequence[Row[Any]]:
    """The page's behaviours that may earn a flag of their own (see _CANDIDATES)."""
    params = {"after": after, "last": last, "ratio": ratio, **limits}
    return (await connection.execute(_CANDIDATES, params)).all()


async def bursts(
    connection: AsyncConnection, *, after: int, last: int, window_s: int, records: int
) -> Sequence[Row[Any]]:
    params = {"after": after, "last": last, "window": window_s, "records": records}
    return (await connection.execute(_BURSTS, params)).all()


async def shared_devices(connection: AsyncConnection, *, residents: int) -> Sequence[Row[Any]]:
    return (await connection.execute(_SHARED_DEVICES, {"residents": residents})).all()


async def count_refused_evidence(session: AsyncSession, *, resident_id: int, client_id: str, code: str) -> None:
    """Keep a refusal of a report's evidence, with the check it failed, for the fraud scan: once per
    report, however often it is sent."""
    await session.execute(
        pg_insert(EvidenceRefusal)
        .values(resident_id=resident_id, client_id=client_id, code=code)
        .on_conflict_do_nothing(index_elements=["resident_id", "client_id"])
    )


async def refused_evidence(connection: AsyncConnection, *, refusals: int, window_s: int) -> Sequence[Row[Any]]:
    """Residents with `refusals` or more refused pieces of evidence in the last `window_s` seconds."""
    return (await connection.execute(_REFUSED_EVIDENCE, {"refusals": refusals, "window_s": window_s})).all()


async def raise_flags(connection: AsyncConnection, flags: Sequence[dict[str, Any]]) -> int:
    """Raise each flag once per kind and subject (an open one's details are renewed); how many changed."""
    return int((await connection.execute(_RAISE, {"flags": json.dumps(flags, default=str)})).rowcount)


# ---------------------------------------------------------------------------------------------- flags

# What a flag read shows: the flag, and its resident by public id.
_FLAG_READ = (
    Flag.id,
    Flag.kind,
    Flag.subject,
    Resident.public_id.label("resident_id"),
    Flag.behaviour_id,
    Flag.details,
    Flag.raised_at,
    Flag.resolution,
    Flag.resolved_at,
    Flag.resolved_by,
    Flag.resolution_reason,
)


async def list_flags(
    session: AsyncSession | ReadSession,
    *,
    resolved: bool | None,
    kind: str | None,
    after: int,
    limit: int,
    community_id: int | None = None,
) -> list[dict[str, Any]]:
    """Flags after id `after`, oldest first: open ones (`resolved` False), resolved ones (True) or all;
    with `community_id`, only those about one resident of that community."""
    statement = (
        select(*_FLAG_READ)
        .outerjoin(Resident, Resident.id == Flag.resident_id)
        .where(Flag.id > after, scope.resident_in(Flag.resident_id, community_id))
        .order_by(Flag.id)
        .limit(limit)
    )
    if resolved is not None:
        statement = statement.where(Flag.resolution.is_not(None) if resolved else Flag.resolution.is_(None))
    if kind is not None:
        statement = statement.where(Flag.kind == kind)
    return [dict(row._mapping) for row in await session.execute(statement)]


async def resident_flags(
    session: AsyncSession | ReadSession, *, resident_id: int, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """A resident's flags before id `before`, newest first: one range of ix_ingest_flag_resident_id_id."""
    statement = (
        select(*_FLAG_READ)
        .join(Resident, Resident.id == Flag.resident_id)
        .where(Flag.resident_id == resident_id)
        .order_by(Flag.id.desc())
        .limit(limit)
    )
    if before is not None:
        statement = statement.where(Flag.id < before)
    return [dict(row._mapping) for row in await session.execute(statement)]


_RESIDENT_COUNTS = text(
    """
    SELECT (SELECT count(*) FROM ingest_behaviour WHERE resident_id = :resident) AS behaviours,
           (SELECT count(*) FROM ingest_behaviour
             WHERE resident_id = :resident AND status = 'pending_review') AS pending_review,
           (SELECT count(*) FROM ingest_flag WHERE resident_id = :resident) AS flags,
           (SELECT count(*) FROM ingest_flag WHERE resident_id = :resident AND resolution IS NULL) AS open_flags
    """
)


async def resident_counts(session: AsyncSession | ReadSession, *, resident_id: int) -> Row[Any]:
    """(behaviours, pending_review, flags, open_flags) of one resident, each through its resident index."""
    return (await session.execute(_RESIDENT_COUNTS, {"resident": resident_id})).one()


async def flag_resident(session: AsyncSession, flag_id: int) -> tuple[bool, int | None]:
    """Whether the flag exists, and the resident it is about (None: several or none)."""
    row = (await session.execute(select(Flag.resident_id).where(Flag.id == flag_id))).first()
    return (row is not None, row.resident_id if row is not None else None)


async def resolve_flag(session: AsyncSession, *, flag_id: int, resolution: str, actor: str, reason: str) -> bool:
    """Close an open flag; False when there is no open flag of that id."""
    statement = (
        update(Flag)
        .where(Flag.id == flag_id, Flag.resolution.is_(None))
        .values(resolution=resolution, resolved_at=func.now(), resolved_by=actor, resolution_reason=reason)
        .returning(Flag.id)
    )
    return (await session.execute(statement)).first() is not None


# ---------------------------------------------------------------------------------------------- personal data

# A behaviour's times, coarsened: both become the start of its local day (Asia/Shanghai, UTC+8 all year).
_DAY_START = "(local_date::timestamp - interval '8 hours') AT TIME ZONE 'UTC'"

_ERASE_BEHAVIOURS = text(
    f"""
UPDATE ingest_behaviour
   SET evidence = NULL, occurred_at = {_DAY_START}, ended_at = {_DAY_START}, review_reason = NULL,
       client_id = CASE WHEN client_id IS NOT NULL THEN gen_random_uuid() END,
       external_id = CASE WHEN external_id IS NOT NULL THEN 'erased-' || id END
 WHERE resident_id = :resident_id
"""  # noqa: S608 - only the constant above goes in; it takes no values
)

_ERASE_FLAGS = text("""
WITH own AS (
    UPDATE ingest_flag SET details = '{}'::jsonb, resolution_reason = NULL
     WHERE resident_id = :resident_id RETURNING id
), shared AS (
    UPDATE ingest_flag
       SET subject = 'device:erased-' || id,
           details = jsonb_set(details, '{resident_ids}', coalesce(
               (SELECT jsonb_agg(r) FROM jsonb_array_elements(details -> 'resident_ids') r
                 WHERE r <> to_jsonb(CAST(:resident_id AS bigint))), '[]'::jsonb))
     WHERE kind = 'shared_device' AND details -> 'resident_ids' @> to_jsonb(CAST(:resident_id AS bigint))
    RETURNING id
)
SELECT (SELECT count(*) FROM own) + (SELECT count(*) FROM shared)
""")

_COARSEN_BEHAVIOURS = text(
    f"""
UPDATE ingest_behaviour SET evidence = NULL, occurred_at = {_DAY_START}, ended_at = {_DAY_START}
 WHERE id > :after AND id <= :through
   AND (evidence IS NOT NULL OR occurred_at <> {_DAY_START} OR ended_at <> {_DAY_START})
"""  # noqa: S608 - only the constant above goes in; it takes no values
)


async def erase_behaviours_of(session: AsyncSession, resident_id: int) -> int:
    """Drop the evidence, the review's words and the keys the resident's app or a partner chose, and coarsen
    the times to the day, of every behaviour of the resident; the figures and amounts stay."""
    return int((await session.execute(_ERASE_BEHAVIOURS, {"resident_id": resident_id})).rowcount)  # type: ignore[attr-defined]


async def delete_refusals_of(session: AsyncSession, resident_id: int) -> int:
    statement = delete(EvidenceRefusal).where(EvidenceRefusal.resident_id == resident_id)
    return int((await session.execute(statement)).rowcount)  # type: ignore[attr-defined]


async def erase_flags_of(session: AsyncSession, resident_id: int) -> int:
    """Clear what the resident's flags say, and take them out of the shared-device flags that name them
    (a device's id goes with them)."""
    return int((await session.scalar(_ERASE_FLAGS, {"resident_id": resident_id})) or 0)


async def behaviours_recorded_after(session: AsyncSession, *, after: int, limit: int) -> Sequence[Row[int, datetime]]:
    """Up to `limit` behaviours' ids and recording times after id `after`, in id order."""
    statement = select(Behaviour.id, Behaviour.created_at).where(Behaviour.id > after).order_by(Behaviour.id)
    return (await session.execute(statement.limit(limit))).all()


async def coarsen_behaviours(session: AsyncSession, *, after: int, through: int) -> int:
    """Drop the evidence and coarsen the times to the day of the behaviours with ids in (after, through]."""
    result = await session.execute(_COARSEN_BEHAVIOURS, {"after": after, "through": through})
    return int(result.rowcount)  # type: ignore[attr-defined]


async def clear_resolved_flags_before(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Clear what up to `limit` flags resolved before `before` say (a shared device's id with it)."""
    due = (
        select(Flag.id)
        .where(Flag.resolved_at < before, Flag.details != text("'{}'::jsonb"))
        .order_by(Flag.resolved_at)
        .limit(limit)
    )
    statement = (
        update(Flag)
        .where(Flag.id.in_(due.scalar_subquery()))
        .values(
            details=text("'{}'::jsonb"),
            subject=text("CASE WHEN kind = 'shared_device' THEN 'device:erased-' || id ELSE subject END"),
        )
    )
    return int((await session.execute(statement)).rowcount)  # type: ignore[attr-defined]


async def delete_refusals_before(session: AsyncSession, *, before: datetime, limit: int) -> int:
    due = select(EvidenceRefusal.id).where(EvidenceRefusal.refused_at < before).order_by(EvidenceRefusal.refused_at)
    statement = delete(EvidenceRefusal).where(EvidenceRefusal.id.in_(due.limit(limit).scalar_subquery()))
    return int((await session.execute(statement)).rowcount)  # type: ignore[attr-defined]
