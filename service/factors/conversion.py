"""The one conversion: an activity quantity becomes whole grams of CO₂e credit.

    exact_g     = quantity × reduction_g_per_unit × weight        (Decimal, no rounding)
    grams       = floor(exact_g)                                   (conservative)
    remainder_g = exact_g − grams
    credited_g  = min(grams, what the daily cap, the yearly cap and the platform budget still allow)
    capped_g    = grams − credited_g

The ledger's stored function applies the caps against the usage it reads under the resident's lock, by
the same rule as `apply_caps`; the behaviour record keeps every figure above and the factor version.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Context, Decimal

# Enough digits that no product of a plausible quantity and factor is ever rounded. The arithmetic names
# this context rather than entering it: the same result, without a context switch per event.
_PRECISION = 40
_EXACT = Context(prec=_PRECISION)


class CapReason:
    daily = "daily_cap"
    yearly = "yearly_cap"
    budget = "platform_budget"


@dataclass(frozen=True, slots=True)
class Allowance:
    """What the caps still allow; None means no limit of that kind."""

    daily_g: int | None = None
    yearly_g: int | None = None
    budget_g: int | None = None


@dataclass(frozen=True, slots=True)
class Conversion:
    quantity: Decimal
    reduction_g_per_unit: Decimal
    weight: Decimal
    exact_g: Decimal
    grams: int
    remainder_g: Decimal
    credited_g: int
    capped_g: int
    cap_reason: str | None


def apply_caps(grams: int, allowance: Allowance) -> tuple[int, str | None]:
    """Credited grams and the reason for any cut; the tightest limit names the reason."""
    credited, reason = grams, None
    for limit, why in (
        (allowance.daily_g, CapReason.daily),
        (allowance.yearly_g, CapReason.yearly),
        (allowance.budget_g, CapReason.budget),
    ):
        if limit is not None and max(limit, 0) < credited:
            credited, reason = max(limit, 0), why
    return credited, reason


def convert(
    quantity: Decimal,
    reduction_g_per_unit: Decimal,
    *,
    weight: Decimal = Decimal(1),
    allowance: Allowance = Allowance(),
) -> Conversion:
    if quantity < 0 or reduction_g_per_unit < 0 or not Decimal(0) < weight <= 1:
        raise ValueError("quantity and reduction must be non-negative and weight in (0, 1]")
    exact = _EXACT.multiply(_EXACT.multiply(quantity, reduction_g_per_unit), weight)
    grams = int(exact.to_integral_value(rounding=ROUND_FLOOR, context=_EXACT))
    remainder = _EXACT.subtract(exact, grams)
    credited, reason = apply_caps(grams, allowance)
    return Conversion(
        quantity=quantity,
        reduction_g_per_unit=reduction_g_per_unit,
        weight=weight,
        exact_g=exact,
        grams=grams,
        remainder_g=remainder,
        credited_g=credited,
        capped_g=grams - credited,
        cap_reason=reason,
    )
