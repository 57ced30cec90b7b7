"""Fraud flags: a background scan raises, for an operator's review, what looks wrong in recorded behaviour.

- implausible_speed: a trip whose reported duration gives a speed within `fraud_speed_ratio` of its type's
  limit (faster ones were refused outright at recording; a trip without a reported end is never flagged);
- burst: `fraud_burst_records` behaviours of one resident that happened within `fraud_burst_window_s`,
  looked for around the time of every new behaviour (by when they happened, however they were recorded:
  a partner's upload of a day's trips is no burst, twenty reports (the default) dated into ten minutes of
  last week are one);
- two_sources: a trip reported both by a partner and by the resident (only one of them was credited);
- shared_device: `fraud_device_residents` or more residents signed in from one device.

One scan per deployment (leader-elected by an advisory lock) follows new behaviours in id order up to
the settled horizon, every `fraud_scan_interval_s`. A flag is raised once per kind and subject; operators
confirm or dismiss it, and freeze, reverse or approve as they see fit — a flag itself changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.db import Database, ReadSession
from service.errors import is_database_outage
from service.factors.cache import FactorCache
from service.ingest.validation import MIN_DURATION
from service.ledger.horizon import settled_horizon

logger = logging.getLogger(__name__)

LOCK_KEY = 0x7470_666C  # "tpfl": one scan at a time across all workers and hosts
PAGE = 1_000


@dataclass(frozen=True, slots=True)
class Thresholds:
    speed_ratio: Decimal = Decimal("0.9")
    burst_records: int = 20
    burst_window_s: int = 600
    device_residents: int = 3


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
_RAISE = text(
    """
    INSERT INTO ingest_flag (kind, subject, resident_id, behaviour_id, details)
    SELECT * FROM jsonb_to_recordset(CAST(:flags AS jsonb))
           AS f(kind text, subject text, resident_id bigint, behaviour_id bigint, details jsonb)
    ON CONFLICT (kind, subject) DO UPDATE SET details = EXCLUDED.details
     WHERE ingest_flag.resolution IS NULL AND ingest_flag.details IS DISTINCT FROM EXCLUDED.details
    """
)


def _flag(
    kind: str, subject: str, *, resident_id: int | None, behaviour_id: int | None = None, **details: Any
) -> dict[str, Any]:
    return {
        "kind": kind,
        "subject": subject,
        "resident_id": resident_id,
        "behaviour_id": behaviour_id,
        "details": details,
    }


def _speed_flag(row: Row[Any], ratio: Decimal) -> dict[str, Any] | None:
    """The flag for a candidate row's speed, if it earns one; `limit_kmh` is its type's limit (None: none)."""
    limit = row.limit_kmh
    if limit is None:
        return None
    duration = row.ended_at - row.occurred_at
    assumed = max(timedelta(hours=float(row.quantity / limit)), MIN_DURATION)
    if abs(duration - assumed) < timedelta(milliseconds=1):
        return None  # no end was reported: the service assumed one at the limit
    hours = Decimal(duration.total_seconds()) / 3600
    speed = row.quantity / hours if hours else Decimal("Infinity")
    if speed < ratio * limit:
        return None
    return _flag(
        "implausible_speed",
        f"behaviour:{row.id}",
        resident_id=row.resident_id,
        behaviour_id=row.id,
        speed_kmh=str(speed.quantize(Decimal("0.1"))),
        limit_kmh=str(limit),
    )


def _speed_limits(cache: FactorCache) -> dict[str, list[Any]]:
    """Every cached version's speed limits, as the arrays _CANDIDATES takes."""
    limits: dict[str, list[Any]] = {"versions": [], "types": [], "limits": []}
    for stored in cache.versions:
        for behaviour, factor in stored.factor_set.behaviour.items():
            if factor.bounds.max_speed_kmh is not None:
                limits["versions"].append(stored.id)
                limits["types"].append(behaviour.value)
                limits["limits"].append(factor.bounds.max_speed_kmh)
    return limits


async def _scan_page(
    connection: AsyncConnection, cache: FactorCache, limits: Thresholds, *, after: int, upto: int
) -> tuple[int, int]:
    """Flags for one page of behaviours; returns (last id looked at, flags raised or renewed)."""
    page = (await connection.execute(_PAGE, {"after": after, "upto": upto, "page": PAGE})).one()
    rows: Sequence[Row[Any]] = []
    if page.n:
        rows = (
            await connection.execute(
                _CANDIDATES, {"after": after, "last": page.last, "ratio": limits.speed_ratio, **_speed_limits(cache)}
            )
        ).all()
    flags: list[dict[str, Any]] = []
    for row in rows:
        speed = _speed_flag(row, limits.speed_ratio)
        if speed is not None:
            flags.append(speed)
        if row.other_id is not None and row.other_source != row.source:
            flags.append(
                _flag(
                    "two_sources",
                    f"behaviour:{row.id}",
                    resident_id=row.resident_id,
                    behaviour_id=row.id,
                    same_trip_as=row.other_id,
                    sources=sorted({row.source, row.other_source}),
                )
            )
    if page.n:
        bursts = await connection.execute(
            _BURSTS,
            {"after": after, "last": page.last, "window": limits.burst_window_s, "records": limits.burst_records},
        )
        for burst in bursts:
            flags.append(
                _flag(
                    "burst",
                    f"resident:{burst.resident_id}:{burst.last_slot * limits.burst_window_s}",
                    resident_id=burst.resident_id,
                    behaviour_id=burst.first_id,
                    records=limits.burst_records,
                    latest_at=burst.newest.isoformat(),
                    window_s=limits.burst_window_s,
                )
            )
    last = page.last if page.n == PAGE else upto
    # Devices do not depend on the page: they are looked at once the scan has caught up, not per page.
    devices: Sequence[Row[Any]] = []
    if last == upto:
        devices = (await connection.execute(_SHARED_DEVICES, {"residents": limits.device_residents})).all()
    for device in devices:
        flags.append(
            _flag(
                "shared_device",
                f"device:{device.device_id}",
                resident_id=None,
                residents=device.residents,
                resident_ids=list(device.resident_ids),
            )
        )
    raised = 0
    if flags:
        raised = (await connection.execute(_RAISE, {"flags": json.dumps(flags, default=str)})).rowcount
    return last, raised


@dataclass(frozen=True, slots=True)
class Scanned:
    raised: int
    behind: bool


async def scan_once(db: Database, cache: FactorCache, limits: Thresholds, *, settle_s: float = 2.0) -> Scanned | None:
    """One page of the scan; None when another scan holds the lock. `raised` counts flags raised or whose
    figures were renewed (a shared device with more residents since); `behind`, whether a page is waiting."""
    async with db.engine.begin() as connection:
        if not await connection.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}):
            return None
        horizon = await settled_horizon(connection, settle_s, "ingest_behaviour")
        after = int(await connection.scalar(text("SELECT behaviour_through FROM ingest_flag_state")) or 0)
        if horizon is None or horizon < after:
            return Scanned(0, behind=False)
        last, raised = await _scan_page(connection, cache, limits, after=after, upto=horizon)
        await connection.execute(text("UPDATE ingest_flag_state SET behaviour_through = :last"), {"last": last})
    return Scanned(raised, behind=last < horizon)


async def run_forever(db: Database, cache: FactorCache, limits: Thresholds, *, interval_s: float) -> None:
    """A scan every `interval_s`; while behind, a page every tenth of that, so that catching up never takes
    more than a slice of the CPU that recording needs (two pages a second outrun a full-speed rush)."""
    while True:
        try:
            step = await scan_once(db, cache, limits)
            if step is not None and step.behind:
                await asyncio.sleep(interval_s / 10)
                continue
        except Exception as exc:
            if not is_database_outage(exc):
                logger.exception("fraud scan failed")
        await asyncio.sleep(interval_s)


# ---------------------------------------------------------------------------------------------- review

_LIST = """
    SELECT f.id, f.kind, f.subject, r.public_id AS resident_id, f.behaviour_id, f.details, f.raised_at,
           f.resolution, f.resolved_at, f.resolved_by, f.resolution_reason
      FROM ingest_flag f LEFT JOIN accounts_resident r ON r.id = f.resident_id
     WHERE f.id > :after {where}
     ORDER BY f.id
     LIMIT :limit
"""
_WHERE = {
    "open": " AND f.resolution IS NULL",
    "resolved": " AND f.resolution IS NOT NULL",
    "all": "",
}


async def list_flags(
    connection: ReadSession, *, status: str, kind: str | None, after: int, limit: int
) -> list[dict[str, Any]]:
    where = _WHERE[status] + (" AND f.kind = :kind" if kind else "")
    rows = await connection.execute(text(_LIST.format(where=where)), {"after": after, "limit": limit, "kind": kind})
    return [dict(row._mapping) for row in rows]


_RESOLVE = text(
    """
    UPDATE ingest_flag SET resolution = :resolution, resolved_at = now(), resolved_by = :actor,
                           resolution_reason = :reason
     WHERE id = :id AND resolution IS NULL
    RETURNING id
    """
)


async def resolve(connection: AsyncSession, *, flag_id: int, resolution: str, actor: str, reason: str) -> bool:
    """Close an open flag; False when there is no open flag of that id."""
    values = {"id": flag_id, "resolution": resolution, "actor": actor, "reason": reason}
    return (await connection.execute(_RESOLVE, values)).first() is not None
