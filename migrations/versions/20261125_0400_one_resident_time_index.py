"""A resident's behaviours are found through one index, by resident and when they happened.

Two indexes led with the resident: (resident_id, trip_group, occurred_at) for the check that one trip is
credited once, and (resident_id, id) for the resident's history and the fraud scan's bursts. Every
behaviour wrote an entry into each, at its resident's place, which on a long ledger is a page of its
own: with 20,000 residents recording and 5 million ledger entries present, these pages no longer fit
the server's buffers, and each index cost a page read and a page written out per behaviour, and after
a checkpoint a full page image in the WAL.

One index, (resident_id, occurred_at, id), serves all three. The trip check reads the resident's
behaviours of the day before the trip (it filters the trip group on those few rows); the history pages
by when the behaviours happened, most recent first; the fraud scan looks for bursts around each new
behaviour's time.

Building the index reads the table, which is locked against writes meanwhile.

Revision ID: 0018_one_resident_time_index
Revises: 0017_keys_only_where_set
Create Date: 2026-11-25 04:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018_one_resident_time_index"
down_revision: str | None = "0017_keys_only_where_set"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name: columns, of the two indexes this one replaces
REPLACED = {
    "ix_ingest_behaviour_trip": "resident_id, trip_group, occurred_at",
    "ix_ingest_behaviour_resident_id_id": "resident_id, id",
}


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_ingest_behaviour_resident_id_occurred_at ON ingest_behaviour (resident_id, occurred_at, id)"
    )
    for name in REPLACED:
        op.execute(f"DROP INDEX {name}")


def downgrade() -> None:
    for name, columns in REPLACED.items():
        op.execute(f"CREATE INDEX {name} ON ingest_behaviour ({columns})")
    op.execute("DROP INDEX ix_ingest_behaviour_resident_id_occurred_at")
