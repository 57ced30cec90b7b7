"""Recording: every lookup of ingest_record_batch() stays an index probe, whatever the statistics say.

The function plans its statements once per session (plan_cache_mode = force_generic_plan), and a
session keeps that plan until the statistics of its tables change. A session that first recorded
while the ledger was young (a new deployment, or the first minute after autovacuum analysed the tables
nearly empty) planned each per-record lookup — the earlier record of a key, the overlapping trip, the
cap usage — as a scan of the whole table, the cheapest plan for an empty one. As the tables grew every
record of a batch scanned them whole: a new deployment's first partner batches ran past the statement
timeout until autovacuum analysed the tables again.

The function's every table access is by key, and each has an index; with sequential scans disabled for
its statements the planner takes the index at any size. Nothing else in the session changes: the
setting holds inside the function only. A later revision that writes the function out again (CREATE OR
REPLACE sets its settings anew) must keep it.

Revision ID: 0012_recording_index_plans
Revises: 0011_leaderboard_score_keys
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_recording_index_plans"
down_revision: str | None = "0011_leaderboard_score_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORD_BATCH = "ingest_record_batch(jsonb, text, bigint, bigint[], date, bigint, text, interval, interval)"


def upgrade() -> None:
    op.execute(f"ALTER FUNCTION {RECORD_BATCH} SET enable_seqscan = off")


def downgrade() -> None:
    op.execute(f"ALTER FUNCTION {RECORD_BATCH} RESET enable_seqscan")
