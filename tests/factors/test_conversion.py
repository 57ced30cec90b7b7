"""The one conversion, quantity → whole grams: properties over bounded Decimals, then worked examples."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.factors.conversion import Allowance, CapReason, Conversion, convert
from service.factors.model import BehaviourType
from tests.factors import shipped_set

PROPERTIES = settings(max_examples=200, deadline=None)

# At most 10 integer and 4 decimal digits each: products stay far inside the conversion's 40 digits.
quantities = st.decimals(min_value=0, max_value=Decimal("999999"), places=4, allow_nan=False, allow_infinity=False)
reductions = st.decimals(min_value=0, max_value=Decimal("99999"), places=4, allow_nan=False, allow_infinity=False)
weights = st.decimals(
    min_value=Decimal("0.0001"), max_value=Decimal(1), places=4, allow_nan=False, allow_infinity=False
)
limits = st.none() | st.integers(min_value=0, max_value=10**9)
allowances = st.builds(Allowance, daily_g=limits, yearly_g=limits, budget_g=limits)


def _given_limits(allowance: Allowance) -> dict[str, int]:
    named = {
        CapReason.daily: allowance.daily_g,
        CapReason.yearly: allowance.yearly_g,
        CapReason.budget: allowance.budget_g,
    }
    return {reason: limit for reason, limit in named.items() if limit is not None}


@PROPERTIES
@given(quantity=quantities, reduction=reductions, weight=weights, allowance=allowances)
def test_conversion_is_deterministic(
    quantity: Decimal, reduction: Decimal, weight: Decimal, allowance: Allowance
) -> None:
    first = convert(quantity, reduction, weight=weight, allowance=allowance)
    assert convert(quantity, reduction, weight=weight, allowance=allowance) == first


@PROPERTIES
@given(quantity=quantities, reduction=reductions, weight=weights, allowance=allowances)
def test_no_figure_is_ever_negative(
    quantity: Decimal, reduction: Decimal, weight: Decimal, allowance: Allowance
) -> None:
    c = convert(quantity, reduction, weight=weight, allowance=allowance)
    assert c.exact_g >= 0
    assert c.grams >= 0
    assert c.remainder_g >= 0
    assert c.credited_g >= 0
    assert c.capped_g >= 0


@PROPERTIES
@given(
    pair=st.lists(quantities, min_size=2, max_size=2).map(sorted),
    reduction=reductions,
    weight=weights,
    allowance=allowances,
)
def test_more_activity_never_earns_less(
    pair: list[Decimal], reduction: Decimal, weight: Decimal, allowance: Allowance
) -> None:
    smaller, larger = pair
    low = convert(smaller, reduction, weight=weight, allowance=allowance)
    high = convert(larger, reduction, weight=weight, allowance=allowance)
    assert low.grams <= high.grams
    assert low.credited_g <= high.credited_g


@PROPERTIES
@given(quantity=quantities, reduction=reductions, weight=weights)
def test_grams_are_the_exact_figure_rounded_down_and_the_remainder_is_kept(
    quantity: Decimal, reduction: Decimal, weight: Decimal
) -> None:
    c = convert(quantity, reduction, weight=weight)
    with localcontext() as context:
        context.prec = 100
        assert c.exact_g == quantity * reduction * weight  # nothing rounded on the way
    assert c.grams == math.floor(c.exact_g)
    assert 0 <= c.remainder_g < 1
    assert c.grams + c.remainder_g == c.exact_g
    assert (c.quantity, c.reduction_g_per_unit, c.weight) == (quantity, reduction, weight)


@PROPERTIES
@given(quantity=quantities, reduction=reductions, weight=weights, allowance=allowances)
def test_credit_never_exceeds_any_allowance_and_the_cut_is_accounted_for(
    quantity: Decimal, reduction: Decimal, weight: Decimal, allowance: Allowance
) -> None:
    c = convert(quantity, reduction, weight=weight, allowance=allowance)
    given_limits = _given_limits(allowance)
    for limit in given_limits.values():
        assert c.credited_g <= limit
    assert c.credited_g + c.capped_g == c.grams
    assert c.credited_g == min([c.grams, *given_limits.values()])


@PROPERTIES
@given(quantity=quantities, reduction=reductions, weight=weights, allowance=allowances)
def test_cap_reason_names_the_tightest_limit_when_one_bites(
    quantity: Decimal, reduction: Decimal, weight: Decimal, allowance: Allowance
) -> None:
    c = convert(quantity, reduction, weight=weight, allowance=allowance)
    given_limits = _given_limits(allowance)
    if c.credited_g < c.grams:
        assert c.cap_reason in given_limits
        assert given_limits[c.cap_reason] == min(given_limits.values()) == c.credited_g
    else:
        assert c.cap_reason is None
        assert c.capped_g == 0


@pytest.mark.parametrize(
    ("allowance", "reason"),
    [
        (Allowance(daily_g=50, yearly_g=80, budget_g=90), CapReason.daily),
        (Allowance(daily_g=80, yearly_g=50, budget_g=90), CapReason.yearly),
        (Allowance(daily_g=90, yearly_g=80, budget_g=50), CapReason.budget),
        (Allowance(budget_g=0), CapReason.budget),
    ],
)
def test_each_kind_of_limit_is_named_when_it_is_the_tightest(allowance: Allowance, reason: str) -> None:
    c = convert(Decimal(100), Decimal(1), allowance=allowance)
    assert c.cap_reason == reason
    assert c.credited_g == min(_given_limits(allowance).values())
    assert c.capped_g == 100 - c.credited_g


def test_an_allowance_already_overdrawn_credits_nothing() -> None:
    c = convert(Decimal(10), Decimal(1), allowance=Allowance(daily_g=-5))
    assert (c.credited_g, c.capped_g, c.cap_reason) == (0, 10, CapReason.daily)


def test_a_limit_exactly_met_does_not_bite() -> None:
    c = convert(Decimal(10), Decimal(1), allowance=Allowance(daily_g=10, yearly_g=10, budget_g=10))
    assert (c.credited_g, c.capped_g, c.cap_reason) == (10, 0, None)


@PROPERTIES
@given(
    quantity=st.decimals(max_value=Decimal("-0.0001"), min_value=Decimal(-(10**6)), places=4),
    reduction=reductions,
)
def test_negative_quantity_is_refused(quantity: Decimal, reduction: Decimal) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        convert(quantity, reduction)


@PROPERTIES
@given(
    weight=st.decimals(min_value=Decimal("1.0001"), max_value=Decimal(1000), places=4)
    | st.decimals(min_value=Decimal(-1000), max_value=Decimal(0), places=4),
)
def test_weight_outside_zero_to_one_is_refused(weight: Decimal) -> None:
    with pytest.raises(ValueError, match="weight"):
        convert(Decimal(1), Decimal(1), weight=weight)


@pytest.mark.parametrize("weight", [Decimal(0), Decimal("1.01"), Decimal(2)])
def test_weight_zero_or_above_one_is_refused(weight: Decimal) -> None:
    with pytest.raises(ValueError, match="weight"):
        convert(Decimal(1), Decimal(1), weight=weight)


def test_negative_reduction_is_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        convert(Decimal(1), Decimal("-0.1"))


# Worked examples with the shipped factors (emission_factors/tianjin-2026.1.toml).


def _reduction(behaviour: BehaviourType) -> Decimal:
    return shipped_set().behaviour[behaviour].emission().reduction_g_per_unit


def test_metro_12_5_km_earns_585_g() -> None:
    c = convert(Decimal("12.5"), _reduction(BehaviourType.metro_ride))
    assert (c.exact_g, c.grams, c.remainder_g, c.credited_g) == (Decimal(585), 585, Decimal(0), 585)


def test_bike_3_3_km_earns_307_g_and_keeps_0_89_g() -> None:
    c = convert(Decimal("3.3"), _reduction(BehaviourType.shared_bike))
    assert c.exact_g == Decimal("307.89")
    assert c.grams == 307
    assert c.remainder_g == Decimal("0.89")
    assert c.credited_g == 307


def test_self_reported_10000_steps_earn_100_g_at_half_weight() -> None:
    walking = shipped_set().behaviour[BehaviourType.walking]
    weight = walking.trust.self_
    assert isinstance(weight, Decimal)
    assert weight == Decimal("0.5")
    c = convert(Decimal(10_000), _reduction(BehaviourType.walking), weight=weight)
    assert (c.exact_g, c.grams, c.credited_g) == (Decimal(100), 100, 100)


def test_walking_above_the_daily_ceiling_is_cut_to_296_g() -> None:
    walking = shipped_set().behaviour[BehaviourType.walking]
    c = convert(Decimal(20_000), _reduction(BehaviourType.walking), allowance=Allowance(daily_g=walking.caps.daily_g))
    assert (c.grams, c.credited_g, c.capped_g, c.cap_reason) == (400, 296, 104, CapReason.daily)


def test_hydrogen_bus_10_km_on_natural_gas_hydrogen_earns_245_g() -> None:
    c: Conversion = convert(Decimal(10), _reduction(BehaviourType.hydrogen_bus_ride))
    assert (c.exact_g, c.grams) == (Decimal(245), 245)
