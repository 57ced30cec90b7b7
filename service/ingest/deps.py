"""What recording needs from the app, in one dependency: the hot path's endpoints resolve one node for it
rather than one each for the database, the factor and site caches and the worker's recorder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from service.db import Database
from service.errors import DatabaseUnavailable, answers
from service.factors.cache import FactorCache
from service.ledger.posting import Recorder
from service.sites.cache import SiteCache


@dataclass(frozen=True, slots=True)
class Recording:
    db: Database
    cache: FactorCache
    sites: SiteCache
    recorder: Recorder


@answers(DatabaseUnavailable)
async def get_recording(request: Request) -> Recording:
    state = request.app.state
    return Recording(state.db, state.factor_cache, state.site_cache, state.recorder)


RecordingDep = Annotated[Recording, Depends(get_recording)]
