"""Every published factor version, held in memory so that recording never reads factors from the database.

Each process looks for new versions every couple of seconds (tasks.py); a publish in this process
refreshes at once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker

from service.factors import repository
from service.factors.model import BehaviourFactor, BehaviourType, FactorSet

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoredSet:
    id: int
    factor_set: FactorSet


@dataclass(frozen=True, slots=True)
class ResolvedFactor:
    version_id: int
    set_code: str
    version: str
    behaviour: BehaviourType
    factor: BehaviourFactor


class FactorCache:
    def __init__(self) -> None:
        self._sets: list[StoredSet] = []
        # One ResolvedFactor per (version, behaviour), made on first use: the versions never change.
        self._resolved: dict[tuple[int, BehaviourType], ResolvedFactor] = {}
        self._last_id = 0
        self._lock = asyncio.Lock()

    @property
    def versions(self) -> list[StoredSet]:
        return list(self._sets)

    def add(self, stored: StoredSet) -> None:
        if all(s.id != stored.id for s in self._sets):
            fs = stored.factor_set
            self._sets.append(stored)
            self._sets.sort(key=lambda s: (s.factor_set.valid_from, s.id))
            self._last_id = max(self._last_id, stored.id)
            logger.info("factor version cached", extra={"set": fs.set, "version": fs.version})

    def resolve(self, behaviour: BehaviourType, at: datetime) -> ResolvedFactor | None:
        """The latest-starting version whose factor for `behaviour` is in force at `at`."""
        for stored in reversed(self._sets):
            start, end = stored.factor_set.validity(behaviour)
            if start <= at and (end is None or at < end):
                resolved = self._resolved.get((stored.id, behaviour))
                if resolved is None:
                    fs = stored.factor_set
                    resolved = ResolvedFactor(stored.id, fs.set, fs.version, behaviour, fs.behaviour[behaviour])
                    self._resolved[stored.id, behaviour] = resolved
                return resolved
        return None

    def get(self, version_id: int) -> StoredSet | None:
        return next((s for s in self._sets if s.id == version_id), None)

    async def refresh(self, sessionmaker: async_sessionmaker) -> None:  # type: ignore[type-arg]
        async with self._lock, sessionmaker() as session:
            for row in await repository.versions_after(session, self._last_id):
                self.add(StoredSet(row.id, FactorSet.model_validate(row.content)))

    async def refresh_if_newer(self, sessionmaker: async_sessionmaker) -> None:  # type: ignore[type-arg]
        """Refresh when a version newer than the newest cached is stored (one indexed max(id) query)."""
        async with sessionmaker() as session:
            newest = await repository.latest_id(session)
        if newest > self._last_id:
            await self.refresh(sessionmaker)
