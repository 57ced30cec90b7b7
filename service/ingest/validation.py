"""Turning a reported behaviour into a posting ready for the ledger: per-type checks, the factor in force,
the trust tier and the conversion. No database access: this runs in memory for every event."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from service.factors.cache import FactorCache, ResolvedFactor
from service.factors.conversion import Conversion, convert
from service.factors.model import Emission, HydrogenSource
from service.factors.units import Unit
from service.ingest.errors import (
    CategoryInvalid,
    InvalidInterval,
    NoFactorInForce,
    OutsideClaimWindow,
    QuantityOutOfRange,
    SpeedImplausible,
    TimeInFuture,
    UnitNotAccepted,
)
from service.ingest.schemas import BehaviourFields
from service.kit.clock import local_date
from service.ledger.posting import Posting

CLOCK_SKEW = timedelta(minutes=5)
MAX_DURATION = timedelta(hours=24)
# A record without an end time is taken to last this long (or as long as the quickest plausible ride).
DEFAULT_DURATION = timedelta(minutes=30)
MIN_DURATION = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A behaviour that passed every check, with its calculation."""

    resolved: ResolvedFactor
    emission: Emission
    conversion: Conversion
    quantity: Decimal
    reported_quantity: Decimal
    reported_unit: Unit
    occurred_at: datetime
    ended_at: datetime
    tier: str
    pending: bool
    content_sha256: str

    def posting(self, fields: BehaviourFields, evidence: dict[str, object] | None) -> Posting:
        """The behaviour as the ledger posts it, less the identity fields the caller adds; `evidence` as
        the behaviour keeps it."""
        factor = self.resolved.factor
        return {
            "ord": 0,
            "behaviour_type": fields.type.value,
            "category": fields.category,
            "trip_group": factor.group,
            "quantity": str(self.quantity),
            "reported_quantity": str(self.reported_quantity),
            "reported_unit": self.reported_unit.value,
            "unit": factor.unit.value,
            "occurred_at": self.occurred_at.isoformat(),
            "ended_at": self.ended_at.isoformat(),
            "local_date": local_date(self.occurred_at).isoformat(),
            "evidence": evidence,
            "tier": self.tier,
            "pending": self.pending,
            "factor_version_id": self.resolved.version_id,
            "reduction_g_per_unit": str(self.conversion.reduction_g_per_unit),
            "weight": str(self.conversion.weight),
            "exact_g": str(self.conversion.exact_g),
            "grams": self.conversion.grams,
            "remainder_g": str(self.conversion.remainder_g),
            "daily_cap_g": factor.caps.daily_g,
            "yearly_cap_g": factor.caps.yearly_g,
            "content_sha256": self.content_sha256,
        }


# The content hash's canonical JSON: sorted keys, json.dumps' default separators. Stored hashes are
# compared on every retry, so these bytes must never change.
_CANONICAL = json.JSONEncoder(sort_keys=True, default=str)


def content_hash(fields: BehaviourFields, extra: dict[str, Any]) -> str:
    """What the idempotency key must keep meaning: the reported facts, normalised."""
    canonical = {
        "type": fields.type.value,
        "occurred_at": fields.occurred_at.astimezone(UTC).isoformat(),
        "ended_at": fields.ended_at.astimezone(UTC).isoformat() if fields.ended_at else None,
        "quantity": str(fields.quantity.normalize()),
        "unit": fields.unit.value if fields.unit else None,
        "category": fields.category,
        **extra,
    }
    return hashlib.sha256(_CANONICAL.encode(canonical).encode()).hexdigest()


def prepare(
    fields: BehaviourFields,
    *,
    cache: FactorCache,
    tier: str,
    now: datetime,
    hydrogen_source: HydrogenSource | None = None,
    content_sha256: str,
    hold: bool = False,
) -> Prepared:
    """Check a behaviour against its type's rules and compute its credit; raises a BehaviourRejected.
    `hold`: the record waits for review whatever its tier's weight (a report backed only by a photo)."""
    occurred = fields.occurred_at.astimezone(UTC)
    if occurred > now + CLOCK_SKEW or (fields.ended_at is not None and fields.ended_at > now + CLOCK_SKEW):
        raise TimeInFuture(errors=[_field("occurred_at", TimeInFuture.code, "later than now")])
    resolved = cache.resolve(fields.type, occurred)
    if resolved is None:
        raise NoFactorInForce(errors=[_field("occurred_at", NoFactorInForce.code, "no factor version in force")])
    factor = resolved.factor
    if occurred < now - timedelta(days=factor.claim_window_days):
        raise OutsideClaimWindow(
            f"{fields.type.value} must be claimed within {factor.claim_window_days} days.",
            f"{fields.type.value} 须在 {factor.claim_window_days} 天内申报。",
            errors=[_field("occurred_at", OutsideClaimWindow.code, f"older than {factor.claim_window_days} days")],
        )

    reported_unit = fields.unit or factor.unit
    if reported_unit == factor.unit:
        quantity = fields.quantity
    elif reported_unit in factor.unit_conversions:
        quantity = fields.quantity * factor.unit_conversions[reported_unit]
    else:
        accepted = ", ".join([factor.unit.value, *(u.value for u in factor.unit_conversions)])
        raise UnitNotAccepted(
            f"{fields.type.value} accepts: {accepted}.",
            f"{fields.type.value} 可用单位：{accepted}。",
            errors=[_field("unit", UnitNotAccepted.code, f"accepted: {accepted}")],
        )

    bounds = factor.bounds
    if not bounds.min_quantity <= quantity <= bounds.max_quantity:
        raise QuantityOutOfRange(
            f"{fields.type.value} takes {bounds.min_quantity}–{bounds.max_quantity} {factor.unit.value}.",
            f"{fields.type.value} 的数量须在 {bounds.min_quantity}–{bounds.max_quantity} {factor.unit.value} 之间。",
            errors=[_field("quantity", QuantityOutOfRange.code, f"{bounds.min_quantity}–{bounds.max_quantity}")],
        )

    if fields.ended_at is not None:
        ended = fields.ended_at.astimezone(UTC)
        if not occurred < ended <= occurred + MAX_DURATION:
            raise InvalidInterval(errors=[_field("ended_at", InvalidInterval.code, "after occurred_at, within 24 h")])
        if bounds.max_speed_kmh is not None:
            hours = Decimal((ended - occurred).total_seconds()) / 3600
            if quantity / hours > bounds.max_speed_kmh:
                raise SpeedImplausible(
                    f"Faster than {bounds.max_speed_kmh} km/h.",
                    f"速度超过 {bounds.max_speed_kmh} 公里/小时。",
                    errors=[_field("ended_at", SpeedImplausible.code, f"over {bounds.max_speed_kmh} km/h")],
                )
    elif bounds.max_speed_kmh is not None:
        quickest = timedelta(hours=float(quantity / bounds.max_speed_kmh))
        ended = occurred + max(quickest, MIN_DURATION)
    else:
        ended = occurred + DEFAULT_DURATION

    if factor.categories is not None and fields.category not in factor.categories:
        known = ", ".join(factor.categories)
        raise CategoryInvalid(
            f"category must be one of: {known}.",
            f"分类须为：{known}。",
            errors=[_field("category", CategoryInvalid.code, f"one of: {known}")],
        )
    if factor.categories is None and fields.category is not None:
        raise CategoryInvalid(errors=[_field("category", CategoryInvalid.code, "this type has no categories")])

    emission = factor.emission(category=fields.category, hydrogen_source=hydrogen_source)
    weight, pending = factor.weight(tier)
    return Prepared(
        resolved=resolved,
        emission=emission,
        conversion=convert(quantity, emission.reduction_g_per_unit, weight=weight),
        quantity=quantity,
        reported_quantity=fields.quantity,
        reported_unit=reported_unit,
        occurred_at=occurred,
        ended_at=ended,
        tier=tier,
        pending=pending or hold,
        content_sha256=content_sha256,
    )


def _field(field: str, code: str, message: str) -> dict[str, str]:
    return {"field": field, "in": "body", "code": code, "message": message}
