"""Keys the hot paths search compare byte by byte (COLLATE "C").

Under the database's locale every comparison of a text key inside an index search is a call of
strcoll(); under "C" it is a memcmp. The leaderboard's keys lead with two text codes (period and
category) and every rolled-up score moves entries in three indexes keyed by them. Recording searches
text keys too: each resident's cap usage (behaviour type, period), its rate-limit bucket, a partner's
record id and a trip's group. (The figures are in docs/decisions/0003-the-recording-path.md.)

The values are codes and identifiers, so no answer changes: equality is bytewise under either
collation, and nothing is sorted by them for display. Changing a column's collation keeps the table's
rows in place and rebuilds the indexes that hold the column, holding the table locked meanwhile.

Revision ID: 0014_keys_compared_bytewise
Revises: 0013_recording_gathered
Create Date: 2026-11-25 00:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_keys_compared_bytewise"
down_revision: str | None = "0013_recording_gathered"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = {
    "leaderboard_score": ("period", "category"),
    "leaderboard_tally": ("period", "category", "scope"),
    "leaderboard_tally_fine": ("period", "category", "scope"),
    "leaderboard_group_score": ("period", "category", "scope"),
    "leaderboard_group_size": ("scope",),
    "ingest_cap_usage": ("behaviour_type", "period"),
    "ingest_behaviour": ("trip_group", "external_id"),
    "kit_rate_limit_bucket": ("bucket_key",),
}


def _collate(collation: str) -> None:
    for table, columns in KEYS.items():
        changes = ", ".join(f"ALTER COLUMN {column} TYPE text COLLATE {collation}" for column in columns)
        op.execute(f"ALTER TABLE {table} {changes}")


def upgrade() -> None:
    _collate('"C"')


def downgrade() -> None:
    _collate('"default"')
