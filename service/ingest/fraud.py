"""Fraud flags: a background scan raises, for an operator's review, what looks wrong in recorded behaviour.

- implausible_speed: a trip whose reported duration gives a speed within `fraud_speed_ratio` of its type's
  limit (faster ones were refused outright at recording; a trip without a reported end is never flagged);
- burst: `fraud_burst_records` behaviours of one resident that happened within `fraud_burst_window_s`,
  looked for around the time of every new behaviour (by when they happened, however they were recorded:
  a partner's upload of a day's trips is no burst, twenty reports (the default) dated into ten minutes of
  last week are one);
- two_sources: a trip reported both by a partner and by the resident (only one of them was credited);
- shared_device: `fraud_device_residents` or more residents signed in from one device;
- refused_evidence: a resident whose evidence (site codes) was refused `fraud_refused_evidence` times
  within `fraud_refused_evidence_window_s`: forged, replayed or misplaced codes.

One scan per deployment (leader-elected by an advisory lock; its loop is in tasks.py) follows new
behaviours in id order up to the settled horizon, every `fraud_scan_interval_s`. A flag is raised once per kind and subject; operators
confirm or dismiss it, and freeze, reverse or approve as they see fit — a flag itself changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from service.config import Settings
from service.db import Database, try_xact_lock
from service.factors.cache import FactorCache
from service.ingest import repository
from service.ingest.validation import MIN_DURATION
from service.kit.clock import local_date
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
    refused_evidence: int = 3
    refused_evidence_window_s: int = 86_400

    @classmethod
    def of(cls, settings: Settings) -> Thresholds:
        return cls(
            speed_ratio=settings.fraud_speed_ratio,
            burst_records=settings.fraud_burst_records,
            burst_window_s=settings.fraud_burst_window_s,
            device_residents=settings.fraud_device_residents,
            refused_evidence=settings.fraud_refused_evidence,
            refused_evidence_window_s=settings.fraud_refused_evidence_window_s,
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
    """Every cached version's speed limits, as the arrays repository.flag_candidates takes."""
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
    page = await repository.new_behaviours(connection, after=after, upto=upto, page=PAGE)
    rows: Sequence[Row[Any]] = []
    if page.n:
        rows = await repository.flag_candidates(
            connection, after=after, last=page.last, ratio=limits.speed_ratio, limits=_speed_limits(cache)
        )
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
        bursts = await repository.bursts(
            connection, after=after, last=page.last, window_s=limits.burst_window_s, records=limits.burst_records
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
        devices = await repository.shared_devices(connection, residents=limits.device_residents)
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
    if last == upto:
        flags += _refused_evidence_flags(
            await repository.refused_evidence(
                connection, refusals=limits.refused_evidence, window_s=limits.refused_evidence_window_s
            )
        )
    raised = 0
    if flags:
        raised = await repository.raise_flags(connection, flags)
    return last, raised


def _refused_evidence_flags(rows: Sequence[Row[Any]]) -> list[dict[str, Any]]:
    """One flag per resident and day of their latest refusal; its figures renewed while it is open."""
    return [
        _flag(
            "refused_evidence",
            f"resident:{row.resident_id}:{local_date(row.latest_at).isoformat()}",
            resident_id=row.resident_id,
            refusals=row.refusals,
            codes=list(row.codes),
            latest_at=row.latest_at.isoformat(),
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class Scanned:
    raised: int
    behind: bool


async def scan_once(db: Database, cache: FactorCache, limits: Thresholds, *, settle_s: float = 2.0) -> Scanned | None:
    """One page of the scan; None when another scan holds the lock. `raised` counts flags raised or whose
    figures were renewed (a shared device with more residents since); `behind`, whether a page is waiting."""
    async with db.engine.begin() as connection:
        if not await try_xact_lock(connection, LOCK_KEY):
            return None
        horizon = await settled_horizon(connection, settle_s, "ingest_behaviour")
        after = await repository.scanned_through(connection)
        if horizon is None or horizon < after:
            return Scanned(0, behind=False)
        last, raised = await _scan_page(connection, cache, limits, after=after, upto=horizon)
        await repository.set_scanned_through(connection, last)
    return Scanned(raised, behind=last < horizon)
