"""Stored functions read top to bottom: each is created again from its current file, with its comments.

Every stored function of ours has one current file, service/<domain>/sql/<name>.sql, that says what the
function is for, who calls it and the invariants it keeps, with a comment at each step of its body.
This revision brings the functions whose stored text differs from their file to that text. Only
comments and layout inside their bodies change: signatures, return types, volatility, settings
(ingest_record_batch() keeps plan_cache_mode = force_generic_plan and enable_seqscan = off) and every
statement are as revision 0019 left them, so no function behaves differently. The other functions'
comments lie outside their bodies, which the database does not store: they are left alone.

The upgrade applies frozen copies of the current files as they stand at this revision (upgrade/); the
downgrade restores revision 0019's texts (downgrade/). CREATE OR REPLACE keeps each function's oid,
owner and grants and the triggers that call it; each session plans a replaced function afresh on its
next call.

Revision ID: 0020_sql_functions_read_whole
Revises: 0019_trip_check_in_index
Create Date: 2026-12-06 00:00:00
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

from service.db import execute_script

revision: str = "0020_sql_functions_read_whole"
down_revision: str | None = "0019_trip_check_in_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HERE = Path(__file__).with_suffix("")

# The functions whose stored text, as revision 0019 left it, differs from their current file.
FUNCTIONS = (
    "kit_rate_limit_take",
    "ingest_lock_budget",
    "ingest_allowed_credit",
    "ledger_post_issuance",
    "ingest_record_batch",
    "ingest_review",
    "ledger_lot_holdings",
    "ledger_lot_move_check",
    "ledger_expire",
    "leaderboard_ranks",
)


def _apply(step: str, *functions: str) -> None:
    """Run this revision's frozen copy of each function's text, <step>/<function>.sql beside this file."""
    for name in functions:
        execute_script(op.get_bind(), (HERE / step / f"{name}.sql").read_text(encoding="utf-8"))


def upgrade() -> None:
    _apply("upgrade", *FUNCTIONS)


def downgrade() -> None:
    _apply("downgrade", *FUNCTIONS)
