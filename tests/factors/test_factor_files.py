"""The factor-file format: the shipped file, the refusals of `service.parse`, and `tanpuhui factors load`."""

from __future__ import annotations

import asyncio
import os
import sys
import tomllib
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from service.factors.errors import FactorFileInvalid
from service.factors.model import BehaviourType, FactorSet, HydrogenSource
from service.factors.service import parse
from tests.factors import ROOT, SHIPPED, at, shipped_document, shipped_set, shipped_text, toml_dumps

Document = dict[str, Any]


def test_the_toml_writer_round_trips_the_shipped_file() -> None:
    document = shipped_document()
    assert tomllib.loads(toml_dumps(document)) == document


# The shipped file.


def test_shipped_file_parses() -> None:
    factor_set = parse(shipped_text())
    assert (factor_set.set, factor_set.version) == ("tianjin", "2026.1")
    assert factor_set.valid_from == at("2026-01-01T00:00:00+08:00")
    assert factor_set.valid_to is None


@pytest.mark.parametrize("behaviour", list(BehaviourType))
def test_every_behaviour_type_carries_provenance_caps_bounds_and_trust(behaviour: BehaviourType) -> None:
    factor_set = shipped_set()
    assert behaviour in factor_set.behaviour
    factor = factor_set.behaviour[behaviour]
    assert factor.methodology.strip()
    assert factor.source.strip()
    assert 1990 <= factor.source_year <= factor_set.published_on.year
    assert factor.source_region.strip()
    assert factor.conservativeness.strip()
    assert 1 <= factor.claim_window_days <= 90
    assert 0 < factor.caps.daily_g <= factor.caps.yearly_g
    assert 0 < factor.bounds.min_quantity <= factor.bounds.max_quantity
    for weight in (factor.trust.partner, factor.trust.evidence, factor.trust.self_):
        assert weight == "review" or Decimal(0) < weight <= 1
    start, end = factor_set.validity(behaviour)
    assert start.tzinfo is not None
    assert end is None or end > start


@pytest.mark.parametrize("behaviour", list(BehaviourType))
def test_every_reduction_is_baseline_minus_project(behaviour: BehaviourType) -> None:
    factor = shipped_set().behaviour[behaviour]
    if factor.categories is not None:
        emissions = [factor.emission(category=name) for name in factor.categories]
    else:
        emissions = [factor.emission()]
    for emission in emissions:
        assert emission.reduction_g_per_unit == emission.baseline_g_per_unit - emission.project_g_per_unit
        assert emission.reduction_g_per_unit >= 0


@pytest.mark.parametrize(
    "behaviour",
    [b for b in BehaviourType if shipped_set().behaviour[b].baseline_g_per_unit is not None],
)
def test_flat_factors_state_reduction_as_baseline_minus_project(behaviour: BehaviourType) -> None:
    factor = shipped_set().behaviour[behaviour]
    assert factor.baseline_g_per_unit is not None
    assert factor.project_g_per_unit is not None
    assert factor.reduction_g_per_unit == factor.baseline_g_per_unit - factor.project_g_per_unit


def test_the_shipped_factor_figures() -> None:
    behaviour = shipped_set().behaviour
    assert behaviour[BehaviourType.metro_ride].reduction_g_per_unit == Decimal("46.8")
    assert behaviour[BehaviourType.bus_ride].reduction_g_per_unit == Decimal("26.9")
    assert behaviour[BehaviourType.shared_bike].reduction_g_per_unit == Decimal("93.3")
    assert behaviour[BehaviourType.walking].reduction_g_per_unit == Decimal("0.02")
    assert behaviour[BehaviourType.walking].caps.daily_g == 296  # the Ant Forest ceiling


def test_hydrogen_bus_on_natural_gas_hydrogen_earns_24_5_g_per_pkm() -> None:
    factor = shipped_set().behaviour[BehaviourType.hydrogen_bus_ride]
    assert factor.hydrogen is not None
    assert factor.hydrogen.supplier_source is HydrogenSource.natural_gas
    emission = factor.emission()
    expected = Decimal(1370) / 20 - Decimal(8) / 100 * Decimal(11000) / 20
    assert expected == Decimal("24.5")
    assert emission.reduction_g_per_unit == expected
    assert emission.baseline_g_per_unit == Decimal("68.5")
    assert emission.project_g_per_unit == Decimal(44)
    assert factor.emission(hydrogen_source=HydrogenSource.natural_gas) == emission


def test_hydrogen_bus_on_coal_hydrogen_earns_nothing_never_a_negative_credit() -> None:
    factor = shipped_set().behaviour[BehaviourType.hydrogen_bus_ride]
    emission = factor.emission(hydrogen_source=HydrogenSource.coal)
    # 8 kg/100 km × 26,000 g/kg ÷ 20 passengers = 104 g/pkm, above the diesel baseline of 68.5.
    assert emission.reduction_g_per_unit == 0
    assert emission.project_g_per_unit == emission.baseline_g_per_unit == Decimal("68.5")


def test_hydrogen_bus_on_renewable_hydrogen_earns_a_positive_credit() -> None:
    factor = shipped_set().behaviour[BehaviourType.hydrogen_bus_ride]
    emission = factor.emission(hydrogen_source=HydrogenSource.renewable)
    assert emission.reduction_g_per_unit == Decimal("56.5")
    assert emission.reduction_g_per_unit > factor.emission().reduction_g_per_unit


def test_by_product_hydrogen_is_counted_as_natural_gas() -> None:
    factor = shipped_set().behaviour[BehaviourType.hydrogen_bus_ride]
    by_product = factor.emission(hydrogen_source=HydrogenSource.by_product)
    assert by_product == factor.emission(hydrogen_source=HydrogenSource.natural_gas)


def test_waste_sorting_has_the_four_categories() -> None:
    factor = shipped_set().behaviour[BehaviourType.waste_sorting]
    assert factor.categories is not None
    assert {"recyclables", "kitchen_waste", "hazardous", "residual"} <= set(factor.categories)
    assert factor.emission(category="residual").reduction_g_per_unit == 0
    assert factor.emission(category="recyclables").reduction_g_per_unit == Decimal(201)
    with pytest.raises(KeyError):
        factor.emission(category="batteries")
    with pytest.raises(KeyError):
        factor.emission()


@pytest.mark.parametrize("behaviour", [BehaviourType.hydrogen_bus_ride, BehaviourType.waste_sorting])
def test_figures_from_secondary_sources_or_our_own_allocation_are_flagged_unverified(behaviour: BehaviourType) -> None:
    factor = shipped_set().behaviour[behaviour]
    assert factor.verified is False


def test_a_published_set_survives_the_json_round_trip_the_cache_reads_it_through() -> None:
    factor_set = shipped_set()
    content = factor_set.model_dump(mode="json", by_alias=True)
    assert FactorSet.model_validate(content) == factor_set


# Refusals. Each variant edits one thing in the shipped file.


def _set(path: str, value: Any) -> Callable[[Document], None]:
    *parents, last = path.split(".")

    def edit(document: Document) -> None:
        node = document
        for name in parents:
            node = node[name]
        node[last] = value

    return edit


def _delete(path: str) -> Callable[[Document], None]:
    *parents, last = path.split(".")

    def edit(document: Document) -> None:
        node = document
        for name in parents:
            node = node[name]
        del node[last]

    return edit


def _edits(*edits: Callable[[Document], None]) -> Callable[[Document], None]:
    def edit(document: Document) -> None:
        for one in edits:
            one(document)

    return edit


def _refused(edit: Callable[[Document], None]) -> FactorFileInvalid:
    document = shipped_document()
    edit(document)
    with pytest.raises(FactorFileInvalid) as caught:
        parse(toml_dumps(document))
    return caught.value


REFUSALS: list[Any] = [
    pytest.param(
        _set("behaviour.metro_ride.reduction_g_per_unit", "50"),
        "behaviour.metro_ride",
        "must equal",
        id="reduction-not-baseline-minus-project",
    ),
    pytest.param(
        _set("behaviour.waste_sorting.categories.recyclables.reduction_g_per_unit", "300"),
        "behaviour.waste_sorting.categories.recyclables",
        "must equal",
        id="category-reduction-not-baseline-minus-project",
    ),
    pytest.param(_delete("behaviour.walking"), "", "no factor for: walking", id="missing-behaviour-type"),
    pytest.param(
        _set("behaviour.metro_ride.colour", "red"), "behaviour.metro_ride.colour", "", id="unknown-behaviour-key"
    ),
    pytest.param(_set("publisher", "someone"), "publisher", "", id="unknown-top-level-key"),
    pytest.param(
        _set("behaviour.metro_ride.caps.weekly_g", 5000), "behaviour.metro_ride.caps.weekly_g", "", id="unknown-cap"
    ),
    pytest.param(_set("behaviour.tram_ride", {}), "behaviour.tram_ride.[key]", "", id="unknown-behaviour-type"),
    pytest.param(
        _edits(
            _set("behaviour.metro_ride.baseline_g_per_unit", "-1"),
            _set("behaviour.metro_ride.reduction_g_per_unit", "-62"),
        ),
        "behaviour.metro_ride.baseline_g_per_unit",
        "greater than or equal to 0",
        id="negative-baseline",
    ),
    pytest.param(
        _set("behaviour.metro_ride.bounds.min_quantity", "100"),
        "behaviour.metro_ride.bounds",
        "min_quantity",
        id="min-above-max-quantity",
    ),
    pytest.param(
        _set("behaviour.metro_ride.caps.daily_g", 300_001),
        "behaviour.metro_ride.caps",
        "daily_g",
        id="daily-cap-above-yearly",
    ),
    pytest.param(_set("valid_from", datetime(2026, 1, 1)), "valid_from", "offset", id="set-valid-from-naive"),
    pytest.param(_set("valid_from", "2026-01-01T00:00:00"), "valid_from", "offset", id="set-valid-from-naive-as-text"),
    pytest.param(
        _set("behaviour.metro_ride.valid_from", datetime(2026, 3, 1)),
        "behaviour.metro_ride",
        "offset",
        id="behaviour-valid-from-naive",
    ),
    pytest.param(
        _set("valid_to", at("2025-12-31T00:00:00+08:00")), "", "valid_to must come after", id="valid-to-before-from"
    ),
    pytest.param(
        _set("behaviour.metro_ride.trust.evidence", "1.5"),
        "behaviour.metro_ride.trust.evidence",
        "less than or equal to 1",
        id="trust-weight-above-one",
    ),
    pytest.param(
        _set("behaviour.walking.trust.self", "0"),
        "behaviour.walking.trust.self",
        "greater than 0",
        id="trust-weight-zero",
    ),
    pytest.param(
        _edits(
            _set("behaviour.hydrogen_bus_ride.baseline_g_per_unit", "68.5"),
            _set("behaviour.hydrogen_bus_ride.project_g_per_unit", "44"),
            _set("behaviour.hydrogen_bus_ride.reduction_g_per_unit", "24.5"),
        ),
        "behaviour.hydrogen_bus_ride",
        "exactly one",
        id="flat-figures-and-hydrogen",
    ),
    pytest.param(
        _set("behaviour.walking.categories", shipped_document()["behaviour"]["waste_sorting"]["categories"]),
        "behaviour.walking",
        "exactly one",
        id="flat-figures-and-categories",
    ),
    pytest.param(
        _delete("behaviour.metro_ride.project_g_per_unit"),
        "behaviour.metro_ride",
        "exactly one",
        id="flat-figures-incomplete",
    ),
    pytest.param(
        _delete("behaviour.hydrogen_bus_ride.hydrogen.source_g_per_kg_h2.natural_gas"),
        "behaviour.hydrogen_bus_ride.hydrogen",
        "no figure for natural_gas",
        id="hydrogen-supplier-without-a-figure",
    ),
    pytest.param(
        _set("behaviour.walking.unit_conversions", {"steps": "1"}),
        "behaviour.walking",
        "to itself",
        id="unit-converted-to-itself",
    ),
]


@pytest.mark.parametrize(("edit", "field", "message"), REFUSALS)
def test_invalid_factor_file_is_refused_with_the_field_named(
    edit: Callable[[Document], None], field: str, message: str
) -> None:
    refused = _refused(edit)
    assert refused.code == "FACTOR_FILE_INVALID"
    assert refused.status == 422
    assert refused.errors, "the problems are listed"
    assert all(set(problem) == {"field", "in", "code", "message"} for problem in refused.errors)
    assert all(problem["in"] == "file" for problem in refused.errors)
    # A union's branches add their own last part: trust.evidence.decimal, trust.evidence.literal['review'].
    matching = [p for p in refused.errors if p["field"] == field or p["field"].startswith(f"{field}.")]
    assert matching, refused.errors
    assert any(message in problem["message"] for problem in matching), matching


def test_every_problem_in_a_file_is_listed() -> None:
    refused = _refused(
        _edits(
            _set("behaviour.metro_ride.caps.daily_g", 300_001),
            _set("behaviour.bus_ride.bounds.min_quantity", "100"),
        )
    )
    assert {problem["field"] for problem in refused.errors} == {
        "behaviour.metro_ride.caps",
        "behaviour.bus_ride.bounds",
    }
    assert refused.detail_en == "2 problem(s) in the factor file."


def test_text_that_is_not_toml_is_refused() -> None:
    broken = shipped_text().replace('version = "2026.1"', "version = 2026.1.x", 1)
    with pytest.raises(FactorFileInvalid, match="Not valid TOML") as caught:
        parse(broken)
    assert caught.value.code == "FACTOR_FILE_INVALID"


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(FactorFileInvalid) as caught:
        parse("")
    assert {problem["field"] for problem in caught.value.errors} >= {"format", "set", "version", "behaviour"}


# `tanpuhui factors load`, run as a user would run it, against a fresh database of its own.

TANPUHUI = Path(sys.executable).with_name("tanpuhui")


async def _tanpuhui(database_url: str, *args: str) -> tuple[int, str, str]:
    environment = {**os.environ, "TANPUHUI_DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        str(TANPUHUI),
        *args,
        cwd=ROOT,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def _stored_versions(database_url: str) -> list[tuple[int, str, str, str]]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT id, set_code, version, source_text FROM factor_version ORDER BY id")
            )
            return [(row.id, row.set_code, row.version, row.source_text) for row in rows]
    finally:
        await engine.dispose()


@pytest.mark.slow
async def test_cli_publishes_the_shipped_file_once(database_url: str) -> None:
    relative = str(SHIPPED.relative_to(ROOT))
    assert relative == "emission_factors/tianjin-2026.1.toml"

    code, out, err = await _tanpuhui(database_url, "factors", "load", relative)
    assert code == 0, err
    stored = await _stored_versions(database_url)
    assert len(stored) == 1
    version_id, set_code, version, source_text = stored[0]
    assert (set_code, version, source_text) == ("tianjin", "2026.1", shipped_text())
    assert out.strip() == f"tianjin 2026.1: published (version id {version_id})"

    code, out, err = await _tanpuhui(database_url, "factors", "load", relative)
    assert code == 0, err
    assert out.strip() == f"tianjin 2026.1: already published, unchanged (version id {version_id})"
    assert await _stored_versions(database_url) == stored


@pytest.mark.slow
async def test_cli_refuses_other_content_under_a_published_version(database_url: str, tmp_path: Path) -> None:
    code, _, err = await _tanpuhui(database_url, "factors", "load", str(SHIPPED))
    assert code == 0, err
    stored = await _stored_versions(database_url)

    document = shipped_document()
    document["behaviour"]["metro_ride"].update(baseline_g_per_unit="111", reduction_g_per_unit="50")
    changed = tmp_path / "tianjin-2026.1-changed.toml"
    changed.write_text(toml_dumps(document), encoding="utf-8")
    code, out, err = await _tanpuhui(database_url, "factors", "load", str(changed))
    assert code != 0
    assert "published" not in out
    assert "exists with other content" in err
    assert await _stored_versions(database_url) == stored


@pytest.mark.slow
async def test_cli_refuses_an_invalid_file_lists_its_problems_and_stores_nothing(
    database_url: str, tmp_path: Path
) -> None:
    document = shipped_document()
    document["behaviour"]["metro_ride"]["caps"]["daily_g"] = 300_001
    document["behaviour"]["bus_ride"]["reduction_g_per_unit"] = "50"
    invalid = tmp_path / "tianjin-2026.9.toml"
    invalid.write_text(toml_dumps(document), encoding="utf-8")

    code, out, err = await _tanpuhui(database_url, "factors", "load", str(invalid))
    assert code != 0
    assert "published" not in out
    assert "behaviour.metro_ride.caps" in err
    assert "daily_g must not exceed yearly_g" in err
    assert "behaviour.bus_ride" in err
    assert "must equal" in err
    assert await _stored_versions(database_url) == []
    # A refusal is a message to the operator, not a crash.
    assert "Traceback" not in err, err


@pytest.mark.slow
async def test_cli_refuses_a_file_that_is_not_toml(database_url: str, tmp_path: Path) -> None:
    invalid = tmp_path / "broken.toml"
    invalid.write_text("format = 1\nset = \n", encoding="utf-8")
    code, out, err = await _tanpuhui(database_url, "factors", "load", str(invalid))
    assert code != 0
    assert "published" not in out
    assert "Not valid TOML" in err
    assert await _stored_versions(database_url) == []
    assert "Traceback" not in err, err


@pytest.mark.parametrize(
    ("changes", "set_valid_to"),
    [
        pytest.param({"valid_to": "2025-06-01T00:00:00+08:00"}, None, id="ends-before-it-starts"),
        pytest.param({"valid_from": "2025-10-01T00:00:00+08:00"}, None, id="starts-before-the-set"),
        pytest.param({"valid_to": "2027-06-01T00:00:00+08:00"}, "2027-01-01T00:00:00+08:00", id="ends-after-the-set"),
    ],
)
def test_a_behaviours_own_validity_must_lie_within_the_sets(changes: dict[str, str], set_valid_to: str | None) -> None:
    # emission_factors/README.md: a behaviour's valid_from/valid_to only narrow the set's validity. Otherwise
    # the version would credit moments it is not in force for, or never apply to that behaviour at all.
    # Fails today: FactorSet checks the order of its own dates but not a behaviour's.
    document = shipped_document()
    if set_valid_to is not None:
        document["valid_to"] = at(set_valid_to)
    document["behaviour"]["metro_ride"].update({key: at(value) for key, value in changes.items()})
    with pytest.raises(FactorFileInvalid) as caught:
        parse(toml_dumps(document))
    assert any("valid_" in problem["message"] for problem in caught.value.errors), caught.value.errors
