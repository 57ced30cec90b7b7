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

The function is written out whole, as revision 0009 left it with `SET enable_seqscan = off` beside its
plan_cache_mode setting (upgrade/), and restored without it on downgrade (downgrade/): the same stored
function as ALTER FUNCTION … SET enable_seqscan = off and … RESET enable_seqscan would leave.

Revision ID: 0012_recording_index_plans
Revises: 0011_leaderboard_score_keys
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

from service.db import execute_script

revision: str = "0012_recording_index_plans"
down_revision: str | None = "0011_leaderboard_score_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HERE = Path(__file__).with_suffix("")


def _apply(step: str, *functions: str) -> None:
    """Run this revision's frozen copy of each function's text, <step>/<function>.sql beside this file."""
    for name in functions:
        execute_script(op.get_bind(), (HERE / step / f"{name}.sql").read_text(encoding="utf-8"))


def upgrade() -> None:
    _apply("upgrade", "ingest_record_batch")


def downgrade() -> None:
    _apply("downgrade", "ingest_record_batch")
