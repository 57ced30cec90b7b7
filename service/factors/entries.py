"""A version's figures as flat entries (one per type, category or hydrogen source), and the difference
between two sets of entries: what a draft would change against the factors in force."""

from __future__ import annotations

from collections.abc import Iterable

from service.factors.model import BehaviourType, FactorSet
from service.factors.schemas import EntryChange, FactorDiffRow, FactorEntry

Key = tuple[BehaviourType, str | None]

_COMPARED = (
    "unit",
    "baseline_g_per_unit",
    "project_g_per_unit",
    "reduction_g_per_unit",
    "source",
    "valid_from",
    "valid_to",
    "daily_cap_g",
    "yearly_cap_g",
    "weights",
)


def entries(factor_set: FactorSet, behaviours: Iterable[BehaviourType] | None = None) -> list[FactorEntry]:
    """Every figure of the set, for the given behaviour types (all by default), in type order."""
    found = []
    for behaviour in behaviours if behaviours is not None else list(BehaviourType):
        factor = factor_set.behaviour[behaviour]
        start, end = factor_set.validity(behaviour)
        if factor.hydrogen is not None:
            parameters: list[str | None] = list(factor.hydrogen.source_g_per_kg_h2)
        elif factor.categories is not None:
            parameters = list(factor.categories)
        else:
            parameters = [None]
        weights = {
            "partner": str(factor.trust.partner),
            "evidence": str(factor.trust.evidence),
            "self": str(factor.trust.self_),
        }
        for parameter in parameters:
            if factor.hydrogen is not None:
                emission = factor.emission(hydrogen_source=parameter)  # type: ignore[arg-type]
            else:
                emission = factor.emission(category=parameter)
            found.append(
                FactorEntry(
                    behaviour=behaviour,
                    parameter=parameter,
                    unit=factor.unit.value,
                    baseline_g_per_unit=emission.baseline_g_per_unit,
                    project_g_per_unit=emission.project_g_per_unit,
                    reduction_g_per_unit=emission.reduction_g_per_unit,
                    source=factor.source,
                    valid_from=start,
                    valid_to=end,
                    daily_cap_g=factor.caps.daily_g,
                    yearly_cap_g=factor.caps.yearly_g,
                    weights=weights,
                )
            )
    return found


def diff(before: list[FactorEntry], after: list[FactorEntry]) -> list[FactorDiffRow]:
    """Row by row, in the order of the types; a figure only one side has is added or removed. Decimals
    compare by value: "46.8" and "46.80" are the same figure."""
    old: dict[Key, FactorEntry] = {(e.behaviour, e.parameter): e for e in before}
    new: dict[Key, FactorEntry] = {(e.behaviour, e.parameter): e for e in after}
    keys = list(new) + [key for key in old if key not in new]
    order = {behaviour: i for i, behaviour in enumerate(BehaviourType)}
    keys.sort(key=lambda key: order[key[0]])
    rows = []
    for key in keys:
        was, now = old.get(key), new.get(key)
        if was is None or now is None:
            change, fields = (EntryChange.added if was is None else EntryChange.removed), []
        else:
            fields = [name for name in _COMPARED if getattr(was, name) != getattr(now, name)]
            change = EntryChange.changed if fields else EntryChange.unchanged
        rows.append(
            FactorDiffRow(
                behaviour=key[0], parameter=key[1], change=change, changed_fields=fields, before=was, after=now
            )
        )
    return rows
