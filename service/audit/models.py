"""The sealed log's tables: leaves, stored subtrees and signed checkpoints (append-only), and the sealer's mark."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base


class SealLeaf(Base):
    """Leaf `idx` of the Merkle log is this ledger entry or this consent event. Append-only."""

    __tablename__ = "ledger_seal_leaf"
    __table_args__ = (CheckConstraint("num_nonnulls(entry_id, consent_event_id) = 1", name="one_item"),)

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    consent_event_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)


class SealNode(Base):
    """The hash of the perfect subtree covering leaves idx·2^level … (idx+1)·2^level − 1: every leaf
    (level 0) and the subtrees of merkle.STORED_FROM levels or more. Append-only."""

    __tablename__ = "ledger_seal_node"
    __table_args__ = (CheckConstraint("octet_length(hash) = 32", name="sha256"),)

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class Checkpoint(Base):
    """A signed statement of the log's size and root. `signed_at` is the exact text signed. Append-only."""

    __tablename__ = "ledger_checkpoint"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    signed_at: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(Text)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SealState(Base):
    __tablename__ = "ledger_seal_state"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sealed_entry_id: Mapped[int] = mapped_column(BigInteger)
    sealed_consent_event_id: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    tree_size: Mapped[int] = mapped_column(BigInteger)


class DayTally(Base):
    """Net credits and credited behaviours per local day, community (0: none) and behaviour type, rolled up
    from the ledger's issuances and reversals by the dashboard's roll-up (service/audit/tally.py)."""

    __tablename__ = "audit_day_tally"

    local_date: Mapped[date] = mapped_column(Date, primary_key=True)
    community_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    behaviour_type: Mapped[str] = mapped_column(Text, primary_key=True)
    credited_g: Mapped[int] = mapped_column(BigInteger)
    behaviours: Mapped[int] = mapped_column(BigInteger)


class DayActivity(Base):
    """Each resident credited on a local day for a behaviour type, with their community then (0: none):
    active residents over any range are the distinct residents of its rows."""

    __tablename__ = "audit_day_activity"
    __table_args__ = (
        # one community's figures: its rows by day, the resident in the index itself
        Index("ix_audit_day_activity_community", "community_id", "local_date", "resident_id", "behaviour_type"),
    )

    local_date: Mapped[date] = mapped_column(Date, primary_key=True)
    resident_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    behaviour_type: Mapped[str] = mapped_column(Text, primary_key=True)
    community_id: Mapped[int] = mapped_column(BigInteger)


class TallyState(Base):
    """The transfer id up to which the dashboard's tallies hold every issuance and reversal."""

    __tablename__ = "audit_tally_state"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rolled_transfer_id: Mapped[int] = mapped_column(BigInteger)
    rolled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
