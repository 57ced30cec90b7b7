"""The leaderboard tables, as Core tables: only the roll-up and the board reads in this package touch
them, in SQL (repository/)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Enum,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    text,
)

from service.db import Base
from service.leaderboard.boards import Category, Period, Scope

_BOARD = ("period", "period_start", "category")


def _codes(enum: type[StrEnum], name: str) -> Enum:
    """A code column as its PostgreSQL enum type: four bytes, so every key column of the leaderboard's
    indexes has a fixed width. A new member needs ALTER TYPE … ADD VALUE in a migration."""
    return Enum(enum, name=name, values_callable=lambda members: [m.value for m in members], create_type=False)


PERIOD = _codes(Period, "leaderboard_period")
CATEGORY = _codes(Category, "leaderboard_category")
SCOPE = _codes(Scope, "leaderboard_scope")


def _board_columns(*, primary_key: bool = True) -> list[Column[object]]:
    return [
        Column("period", PERIOD, primary_key=primary_key, nullable=False),
        Column("period_start", Date, primary_key=primary_key, nullable=False),
        Column("category", CATEGORY, primary_key=primary_key, nullable=False),
    ]


# Keyed by resident first: a resident's rows sit together, and profile moves find them by the key's
# prefix.
score = Table(
    "leaderboard_score",
    Base.metadata,
    *_board_columns(primary_key=False),
    Column("resident_id", BigInteger, nullable=False),
    Column("community_id", BigInteger),
    Column("organisation_id", BigInteger),
    Column("visible", Boolean, nullable=False),
    Column("grams", BigInteger, nullable=False),
    PrimaryKeyConstraint("resident_id", *_BOARD),
)
Index(
    "ix_leaderboard_score_district",
    *(score.c[name] for name in _BOARD),
    score.c.grams.desc(),
    score.c.resident_id,
    postgresql_where=text("visible AND grams > 0"),
)
Index(
    "ix_leaderboard_score_community",
    *(score.c[name] for name in _BOARD),
    score.c.community_id,
    score.c.grams.desc(),
    score.c.resident_id,
    postgresql_where=text("visible AND grams > 0 AND community_id IS NOT NULL"),
)
Index(
    "ix_leaderboard_score_organisation",
    *(score.c[name] for name in _BOARD),
    score.c.organisation_id,
    score.c.grams.desc(),
    score.c.resident_id,
    postgresql_where=text("visible AND grams > 0 AND organisation_id IS NOT NULL"),
)

# The tallies' updates change only `residents`: room on each page keeps them HOT.
tally = Table(
    "leaderboard_tally",
    Base.metadata,
    *_board_columns(),
    Column("scope", SCOPE, primary_key=True),
    Column("scope_id", BigInteger, primary_key=True),
    Column("bucket", Integer, primary_key=True),
    Column("residents", BigInteger, nullable=False),
    postgresql_with={"fillfactor": 80},
)

# Residents at each exact gram value of a board, beside the tally by bucket.
tally_fine = Table(
    "leaderboard_tally_fine",
    Base.metadata,
    *_board_columns(),
    Column("scope", SCOPE, primary_key=True),
    Column("scope_id", BigInteger, primary_key=True),
    Column("grams", BigInteger, primary_key=True),
    Column("residents", BigInteger, nullable=False),
    postgresql_with={"fillfactor": 80},
)

group_score = Table(
    "leaderboard_group_score",
    Base.metadata,
    *_board_columns(),
    Column("scope", SCOPE, primary_key=True),
    Column("scope_id", BigInteger, primary_key=True),
    Column("grams", BigInteger, nullable=False),
    CheckConstraint("scope IN ('community', 'organisation')", name="scope"),
)

group_size = Table(
    "leaderboard_group_size",
    Base.metadata,
    Column("scope", SCOPE, primary_key=True),
    Column("scope_id", BigInteger, primary_key=True),
    Column("residents", BigInteger, nullable=False),
)

resident_change = Table(
    "leaderboard_resident_change",
    Base.metadata,
    Column("resident_id", BigInteger, primary_key=True, autoincrement=False),
)

state = Table(
    "leaderboard_state",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("rolled_entry_id", BigInteger, nullable=False),
    Column("rolled_at", DateTime(timezone=True), nullable=False),
    Column("sizes_at", DateTime(timezone=True)),
    CheckConstraint("id = 1", name="one_row"),
)
