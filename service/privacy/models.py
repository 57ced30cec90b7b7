from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Identity, Integer, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base


class RetentionRun(Base):
    """One pass of the retention schedule: when it ran, the schedule it applied (days per kind) and how many
    rows of each kind it removed or coarsened. Written by the pass itself, as the system."""

    __tablename__ = "privacy_retention_run"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    schedule: Mapped[dict[str, Any]] = mapped_column(JSONB)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB)


class RetentionState(Base):
    """Behaviours up to `behaviour_through` (by id) have had their evidence and times coarsened: the pass
    reads on from there in id order, which is the order they were recorded in."""

    __tablename__ = "privacy_retention_state"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    behaviour_through: Mapped[int] = mapped_column(BigInteger)
