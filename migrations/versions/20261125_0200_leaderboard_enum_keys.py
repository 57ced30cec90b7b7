"""The leaderboard's codes become enum types: every key column of its tables has a fixed width.

A board is keyed by its period, start date and category, and a tally also by its scope. As text, the
codes have a variable width: an index search reads every column after the first text one by walking the
index tuple from its start (PostgreSQL caches a column's offset only while every column before it has a
fixed width), and compares each code through the text comparison. As enums they are four bytes each,
compared as numbers. A roll-up pass moves three index entries for each of ten scores a credited event
touches, so it pays for every such comparison many times.

The values are the codes the API names (service/leaderboard/boards.py): a new period, category or scope
needs ALTER TYPE … ADD VALUE in its own migration. SQL that names a code as a literal beside a column
still works; text from elsewhere needs a cast (`'day'::leaderboard_period`). leaderboard_rank() and
leaderboard_ranks() now take the enums. Changing a column's type rewrites its table and indexes, holding
the table locked meanwhile.

Revision ID: 0016_leaderboard_enum_keys
Revises: 0015_room_for_hot_updates
Create Date: 2026-11-25 02:00:00
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

from service.db import execute_script

revision: str = "0016_leaderboard_enum_keys"
down_revision: str | None = "0015_room_for_hot_updates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# leaderboard_ranks() and leaderboard_rank() taking the enums (upgrade/), and as revision 0010 wrote them,
# taking text (downgrade/): only their signatures differ.
HERE = Path(__file__).with_suffix("")

TYPES = {
    "period": ("leaderboard_period", ("day", "week", "month", "year", "all")),
    "category": ("leaderboard_category", ("all", "green_travel", "waste_sorting", "low_carbon_visit")),
    "scope": ("leaderboard_scope", ("district", "community", "organisation")),
}

# The leaderboard's code columns: those revision 0014 made text COLLATE "C", which the downgrade restores.
KEYS = {
    "leaderboard_score": ("period", "category"),
    "leaderboard_tally": ("period", "category", "scope"),
    "leaderboard_tally_fine": ("period", "category", "scope"),
    "leaderboard_group_score": ("period", "category", "scope"),
    "leaderboard_group_size": ("scope",),
}

_GROUP_SCOPE_CHECK = "ck_leaderboard_group_score_scope"

_RANK_ARGUMENTS = "{period}, date, {category}, {scope}, bigint, bigint"


def _apply(step: str, *functions: str) -> None:
    """Run this revision's frozen copy of each function's text, <step>/<function>.sql beside this file."""
    for name in functions:
        execute_script(op.get_bind(), (HERE / step / f"{name}.sql").read_text(encoding="utf-8"))


def _drop_ranks(**types: str) -> None:
    arguments = _RANK_ARGUMENTS.format(**types)
    op.execute(f"DROP FUNCTION leaderboard_rank({arguments})")
    op.execute(f"DROP FUNCTION leaderboard_ranks({arguments})")


def _retype(type_of: dict[str, str]) -> None:
    """Every key column to the type `type_of` gives for its code."""
    op.execute(f"ALTER TABLE leaderboard_group_score DROP CONSTRAINT {_GROUP_SCOPE_CHECK}")
    for table, columns in KEYS.items():
        changes = ", ".join(
            f"ALTER COLUMN {column} TYPE {type_of[column]} USING {column}::text::{type_of[column]}"
            for column in columns
        )
        op.execute(f"ALTER TABLE {table} {changes}")
    op.execute(
        f"ALTER TABLE leaderboard_group_score ADD CONSTRAINT {_GROUP_SCOPE_CHECK}"
        " CHECK (scope IN ('community', 'organisation'))"
    )


def upgrade() -> None:
    for name, values in TYPES.values():
        op.execute(f"CREATE TYPE {name} AS ENUM ({', '.join(repr(value) for value in values)})")
    _drop_ranks(period="text", category="text", scope="text")
    _retype({column: name for column, (name, _) in TYPES.items()})
    _apply("upgrade", "leaderboard_ranks", "leaderboard_rank")


def downgrade() -> None:
    _drop_ranks(**{column: name for column, (name, _) in TYPES.items()})
    _retype(dict.fromkeys(TYPES, 'text COLLATE "C"'))
    for name, _ in TYPES.values():
        op.execute(f"DROP TYPE {name}")
    _apply("downgrade", "leaderboard_ranks", "leaderboard_rank")
