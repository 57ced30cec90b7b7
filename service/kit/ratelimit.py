"""Rate limits shared by every worker, kept in PostgreSQL with the generic cell rate algorithm (GCRA).

Each bucket is one row holding its theoretical arrival time (TAT). A request is allowed when
`max(tat, now) + interval - burst <= now`; it then advances the TAT by one interval. Allowing costs one
statement; only a refusal reads the row again, to say how long to wait. The table is UNLOGGED: buckets
are worth nothing after a crash. The statement runs on its own connection and commits at once, so a
request that fails still counts against its limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Column, DateTime, Table, Text, text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db import Base
from service.errors import RateLimited

rate_limit_bucket = Table(
    "kit_rate_limit_bucket",
    Base.metadata,
    Column("bucket_key", Text, primary_key=True),
    Column("tat", DateTime(timezone=True), nullable=False),
    prefixes=["UNLOGGED"],
)

TAKE_SQL = text(
    """
    INSERT INTO kit_rate_limit_bucket AS b (bucket_key, tat)
    VALUES (:key, clock_timestamp() + CAST(:interval AS interval))
    ON CONFLICT (bucket_key) DO UPDATE
       SET tat = GREATEST(b.tat, clock_timestamp()) + CAST(:interval AS interval)
     WHERE GREATEST(b.tat, clock_timestamp()) + CAST(:interval AS interval) - CAST(:burst AS interval)
           <= clock_timestamp()
    RETURNING tat
    """
)

WAIT_SQL = text(
    """
    SELECT EXTRACT(EPOCH FROM GREATEST(tat, clock_timestamp()) + CAST(:interval AS interval)
                              - CAST(:burst AS interval) - clock_timestamp())
      FROM kit_rate_limit_bucket WHERE bucket_key = :key
    """
)

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
        allowed = (await connection.execute(TAKE_SQL, params)).first()
        if allowed is None:
            wait = (await connection.execute(WAIT_SQL, params)).scalar_one_or_none()
        await connection.commit()
    if allowed is None:
        raise RateLimited(retry_after_s=max(1, math.ceil(float(wait or 1))))


async def prune(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(PRUNE_SQL)
