"""Rate limits shared by every worker, kept in PostgreSQL with the generic cell rate algorithm (GCRA).

Each bucket is one row holding its theoretical arrival time (TAT). A request is allowed when
`max(tat, now) + interval - burst <= now`; it then advances the TAT by one interval. The step is the SQL
function kit_rate_limit_take() (service/kit/sql/), which answers 0 or the seconds to wait; the recording
function uses it inside its own transaction. The table is UNLOGGED: buckets are worth nothing after a
crash. `take()` runs on its own connection and commits at once, so a request that fails still counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Column, DateTime, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db import Base, KeyText
from service.errors import RateLimited

rate_limit_bucket = Table(
    "kit_rate_limit_bucket",
    Base.metadata,
    Column("bucket_key", KeyText, primary_key=True),
    Column("tat", DateTime(timezone=True), nullable=False),
    prefixes=["UNLOGGED"],
    # every limited request updates its key's row: room on each page keeps those updates HOT
    postgresql_with={"fillfactor": 80},
)

TAKE_SQL = text("SELECT kit_rate_limit_take(:key, CAST(:interval AS interval), CAST(:burst AS interval))")


def resident_write_key(resident_id: int) -> str:
    """The bucket every write of one resident takes from: profile changes and recordings alike."""
    return f"resident-write:{resident_id}"


PRUNE_SQL = text("DELETE FROM kit_rate_limit_bucket WHERE tat < clock_timestamp() - interval '1 minute'")


@dataclass(frozen=True, slots=True)
class Limit:
    """`count` requests per `period`, all of which may come at once."""

    count: int
    period: timedelta = timedelta(minutes=1)

    @property
    def interval(self) -> timedelta:
        return self.period / self.count


async def take(engine: AsyncEngine, key: str, limit: Limit) -> None:
    """Spend one request from `key`'s bucket, or raise `RateLimited` with the wait in whole seconds."""
    params = {"key": key, "interval": limit.interval, "burst": limit.period}
    async with engine.connect() as connection:
        wait = float((await connection.execute(TAKE_SQL, params)).scalar_one())
        await connection.commit()
    if wait > 0:
        raise RateLimited(retry_after_s=max(1, math.ceil(wait)))


async def prune(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(PRUNE_SQL)
