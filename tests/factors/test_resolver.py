"""The in-memory resolver: which factor version applies to a behaviour at the moment it happened."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from service.factors.cache import FactorCache, StoredSet
from service.factors.model import BehaviourType, FactorSet
from tests.factors import at, factor_set_from, shipped_document, shipped_set

METRO = BehaviourType.metro_ride
BUS = BehaviourType.bus_ride
WALKING = BehaviourType.walking

V1_FROM = "2026-01-01T00:00:00+08:00"
V2_FROM = "2026-07-01T00:00:00+08:00"


def _v2(**changes: Any) -> FactorSet:
    """2026.2: in force from 1 July 2026, with a larger metro reduction (50 g/pkm instead of 46.8)."""
    document = shipped_document()
    document["version"] = "2026.2"
    document["valid_from"] = at(V2_FROM)
    document["behaviour"]["metro_ride"].update(baseline_g_per_unit="111.0", reduction_g_per_unit="50.0")
    document.update(changes)
    return factor_set_from(document)


def _v1(**changes: Any) -> FactorSet:
    document = shipped_document()
    document.update(changes)
    return factor_set_from(document)


def _cache(*sets: FactorSet) -> FactorCache:
    cache = FactorCache()
    for version_id, factor_set in enumerate(sets, start=1):
        cache.add(StoredSet(version_id, factor_set))
    return cache


def _version(cache: FactorCache, behaviour: BehaviourType, when: datetime) -> str | None:
    resolved = cache.resolve(behaviour, when)
    return None if resolved is None else resolved.version


@pytest.fixture
def two_versions() -> FactorCache:
    return _cache(shipped_set(), _v2())


def test_the_variant_differs_from_the_shipped_set_only_where_meant() -> None:
    v1, v2 = shipped_set(), _v2()
    assert v1.behaviour[METRO].reduction_g_per_unit == Decimal("46.8")
    assert v2.behaviour[METRO].reduction_g_per_unit == Decimal("50.0")
    assert v2.behaviour[BUS] == v1.behaviour[BUS]


@pytest.mark.parametrize(
    ("when", "version"),
    [
        ("2026-01-01T00:00:00+08:00", "2026.1"),
        ("2026-03-15T12:00:00+08:00", "2026.1"),
        ("2026-06-30T23:59:59.999999+08:00", "2026.1"),
        ("2026-07-01T00:00:00+08:00", "2026.2"),
        ("2026-06-30T16:00:00+00:00", "2026.2"),  # the same instant as 2026.2's valid_from, written in UTC
        ("2026-06-30T15:59:59+00:00", "2026.1"),
        ("2027-05-01T08:00:00+08:00", "2026.2"),
    ],
)
def test_a_behaviour_uses_the_version_in_force_when_it_happened(
    two_versions: FactorCache, when: str, version: str
) -> None:
    resolved = two_versions.resolve(METRO, at(when))
    assert resolved is not None
    assert resolved.version == version
    assert resolved.set_code == "tianjin"
    assert resolved.behaviour is METRO
    expected = {"2026.1": Decimal("46.8"), "2026.2": Decimal("50.0")}[version]
    assert resolved.factor.reduction_g_per_unit == expected
    assert resolved.version_id == {"2026.1": 1, "2026.2": 2}[version]


def test_nothing_is_in_force_before_the_first_version(two_versions: FactorCache) -> None:
    assert two_versions.resolve(METRO, at("2025-12-31T23:59:59+08:00")) is None
    assert two_versions.resolve(METRO, at("2025-12-31T16:00:00+00:00")) is not None  # = 2026-01-01 00:00 +08:00


def test_the_order_versions_arrive_in_does_not_matter() -> None:
    cache = FactorCache()
    cache.add(StoredSet(2, _v2()))
    cache.add(StoredSet(1, shipped_set()))
    assert _version(cache, METRO, at("2026-06-01T00:00:00+08:00")) == "2026.1"
    assert _version(cache, METRO, at("2026-08-01T00:00:00+08:00")) == "2026.2"


def test_adding_a_version_twice_keeps_one_copy() -> None:
    cache = _cache(shipped_set())
    cache.add(StoredSet(1, _v2()))  # same id: already cached, ignored
    assert [s.id for s in cache.versions] == [1]
    assert _version(cache, METRO, at("2026-08-01T00:00:00+08:00")) == "2026.1"
    stored = cache.get(1)
    assert stored is not None
    assert stored.factor_set.version == "2026.1"
    assert cache.get(2) is None


def test_a_version_stops_applying_at_its_valid_to() -> None:
    cache = _cache(_v1(valid_to=at("2026-05-01T00:00:00+08:00")), _v2())
    assert _version(cache, METRO, at("2026-04-30T23:59:59+08:00")) == "2026.1"
    assert _version(cache, METRO, at("2026-05-01T00:00:00+08:00")) is None  # valid_to is exclusive
    assert _version(cache, METRO, at("2026-06-15T00:00:00+08:00")) is None  # the gap before 2026.2
    assert _version(cache, METRO, at("2026-07-01T00:00:00+08:00")) == "2026.2"


def test_a_closed_version_alone_applies_to_nothing_after_it() -> None:
    cache = _cache(_v1(valid_to=at("2026-05-01T00:00:00+08:00")))
    assert _version(cache, BUS, at("2026-02-01T00:00:00+08:00")) == "2026.1"
    assert _version(cache, BUS, at("2027-01-01T00:00:00+08:00")) is None


def test_a_behaviour_valid_from_overrides_the_sets() -> None:
    document = shipped_document()
    document["version"] = "2026.2"
    document["valid_from"] = at(V2_FROM)
    document["behaviour"]["metro_ride"].update(
        baseline_g_per_unit="111.0", reduction_g_per_unit="50.0", valid_from=at("2026-09-01T00:00:00+08:00")
    )
    cache = _cache(shipped_set(), factor_set_from(document))

    august = at("2026-08-01T00:00:00+08:00")
    assert _version(cache, BUS, august) == "2026.2"
    assert _version(cache, METRO, august) == "2026.1"  # 2026.2's metro figure is not in force yet
    assert _version(cache, METRO, at("2026-08-31T23:59:59+08:00")) == "2026.1"
    assert _version(cache, METRO, at("2026-09-01T00:00:00+08:00")) == "2026.2"


def test_a_behaviour_valid_to_ends_that_factor_only() -> None:
    document = shipped_document()
    document["behaviour"]["walking"]["valid_to"] = at("2026-03-01T00:00:00+08:00")
    cache = _cache(factor_set_from(document))

    march = at("2026-03-01T00:00:00+08:00")
    assert _version(cache, WALKING, at("2026-02-28T23:59:59+08:00")) == "2026.1"
    assert _version(cache, WALKING, march) is None
    assert _version(cache, METRO, march) == "2026.1"


@pytest.mark.parametrize("behaviour", list(BehaviourType))
def test_every_behaviour_type_resolves_in_the_shipped_set(behaviour: BehaviourType) -> None:
    cache = _cache(shipped_set())
    resolved = cache.resolve(behaviour, at(V1_FROM))
    assert resolved is not None
    assert resolved.factor == shipped_set().behaviour[behaviour]
