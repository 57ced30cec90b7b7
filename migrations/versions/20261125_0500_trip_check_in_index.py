"""The trip check rejects a resident's non-overlapping behaviours in the index, not on the table.

The check that one trip is credited once reads a resident's behaviours of the day before the new one
through (resident_id, occurred_at, id) and, until now, fetched each from the table to compare its end
with the new one's start. A resident with many rides that day cost a table page per ride for every new
record.

The index gains ended_at as its last key column. Its order is unchanged (id is unique), so the history
and the fraud scan read it as before; the trip check's condition on ended_at is now tested on each index
entry, and the table is read only for a behaviour that does overlap. The index is larger by the width
of a timestamp per entry.

Building the index reads the table, which is locked against writes meanwhile.

Revision ID: 0019_trip_check_in_index
Revises: 0018_one_resident_time_index
Create Date: 2026-11-25 05:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019_trip_check_in_index"
down_revision: str | None = "0018_one_resident_time_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_ingest_behaviour_resident_id_occurred_at"


def _replace(columns: str) -> None:
    op.execute(f"CREATE INDEX {NAME}_next ON ingest_behaviour ({columns})")
    op.execute(f"DROP INDEX {NAME}")
    op.execute(f"ALTER INDEX {NAME}_next RENAME TO {NAME}")


def upgrade() -> None:
    _replace("resident_id, occurred_at, id, ended_at")


def downgrade() -> None:
    _replace("resident_id, occurred_at, id")
