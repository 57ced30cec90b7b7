"""What a factor draft would have issued: the credited behaviours of the last 30 local days (Asia/Shanghai,
today included), converted again under the draft by the one conversion function and compared with what they
computed to and what was credited.

The behaviours are grouped in SQL by what their credit depends on (type, category, tier, the version and
reduction they used, quantity); each group is converted once and counted as many times as it has
behaviours, so the work follows the number of distinct groups, not of behaviours. The caps are not
applied again: they depend on each resident's other credits of the day and year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from service.audit.repository import whatif as repository
from service.audit.whatif_schemas import WhatIfByType, WhatIfFigures, WhatIfRead
from service.db import ReadSession
from service.factors import drafts
from service.factors.cache import FactorCache
from service.factors.conversion import convert
from service.factors.model import BehaviourFactor, BehaviourType, FactorSet, HydrogenSource
from service.kit.clock import SHANGHAI, local_date

DAYS = 30
# A behaviour is stored after it happened, give or take the clocks of the devices and partners that report it.
_STORED_SLACK = timedelta(days=1)


@dataclass
class _Sum:
    behaviours: int = 0
    issued_g: int = 0
    before_g: int = 0
    after_g: int = 0
    unmatched: int = 0

    def figures(self) -> WhatIfFigures:
        return WhatIfFigures(
            behaviours=self.behaviours,
            issued_g=self.issued_g,
            before_g=self.before_g,
            after_g=self.after_g,
            difference_g=self.after_g - self.before_g,
            unmatched=self.unmatched,
        )


def _hydrogen_source(used: BehaviourFactor | None, reduction: Decimal) -> HydrogenSource | None:
    """The hydrogen source a behaviour was credited for, read back from the reduction it used: the supplier's
    when that fits, else the first source of its version with that reduction."""
    if used is None or used.hydrogen is None:
        return None
    sources = [used.hydrogen.supplier_source, *used.hydrogen.source_g_per_kg_h2]
    return next((s for s in sources if used.emission(hydrogen_source=s).reduction_g_per_unit == reduction), None)


def _draft_factor(
    draft: FactorSet,
    cache: FactorCache,
    behaviour: str,
    category: str | None,
    tier: str,
    version_id: int,
    used: Decimal,
) -> tuple[Decimal, Decimal] | None:
    """The draft's reduction and weight for behaviours that used `used` g per unit of `version_id`; None when
    the draft has no figure for their category or hydrogen source."""
    kind = BehaviourType(behaviour)
    factor = draft.behaviour[kind]
    try:
        if factor.hydrogen is not None:
            stored = cache.get(version_id)
            source = _hydrogen_source(stored.factor_set.behaviour.get(kind) if stored is not None else None, used)
            reduction = factor.emission(hydrogen_source=source).reduction_g_per_unit
        else:
            reduction = factor.emission(category=category).reduction_g_per_unit
    except KeyError:
        return None
    return reduction, factor.weight(tier)[0]


async def what_if(session: ReadSession, *, cache: FactorCache, draft_id: int) -> WhatIfRead:
    """The draft's what-if over the last 30 local days."""
    draft, factor_set = await drafts.draft_set(session, draft_id=draft_id)
    now = datetime.now(UTC)
    end = local_date(now) + timedelta(days=1)
    start = end - timedelta(days=DAYS)
    window_start = datetime.combine(start, datetime.min.time(), SHANGHAI)
    first_id = await repository.first_id_created_since(session, window_start - _STORED_SLACK)
    rows = (
        [] if first_id is None else await repository.credited_groups(session, first_id=first_id, start=start, end=end)
    )
    total = _Sum()
    by_type: dict[str, _Sum] = {}
    # What the draft gives each kind of group: one lookup per (type, category, tier, version, reduction).
    factors: dict[tuple[str, str | None, str, int, Decimal], tuple[Decimal, Decimal] | None] = {}
    for row in rows:
        key = (row.behaviour_type, row.category, row.tier, row.factor_version_id, row.reduction_g_per_unit)
        if key not in factors:
            factors[key] = _draft_factor(factor_set, cache, *key)
        found = factors[key]
        if found is None:
            after, unmatched = 0, row.behaviours
        else:
            after, unmatched = convert(row.quantity, found[0], weight=found[1]).grams * row.behaviours, 0
        for figures in (total, by_type.setdefault(row.behaviour_type, _Sum())):
            figures.behaviours += row.behaviours
            figures.issued_g += row.issued_g
            figures.before_g += row.grams
            figures.after_g += after
            figures.unmatched += unmatched
    return WhatIfRead(
        draft_id=draft.draft_id,
        start_date=start,
        end_date=end - timedelta(days=1),
        caps_applied=False,
        groups=len(rows),
        total=total.figures(),
        by_type=[
            WhatIfByType(behaviour=behaviour, **by_type[behaviour].figures().model_dump())
            for behaviour in BehaviourType
            if behaviour in by_type
        ],
    )
