"""Recording: one call of ingest_record_batch() can carry several residents' reports, each rate limited
under its own key.

The service gathers the reports that arrive while a call is running into the next call (at most one
per resident in a call, see service/ledger/posting.py). Each keeps its resident's write limit: when the call
names no single key (p_rate_key NULL) but gives the limit (p_rate_interval), every record with a
`rate_key` takes one step of that key's limit, in record order; a record over its limit is answered
`rate_limited` with its wait, and the others are recorded as if it had not been sent. A call with
p_rate_key keeps the old meaning (the whole call is one request of that key).

The function is written out whole (upgrade/), as revision 0009 left it with the per-record limits and
their `rate_limited` rows added, and keeps the setting revision 0012 gave it (enable_seqscan = off), which
CREATE OR REPLACE would otherwise drop. The downgrade restores revision 0012's text, setting included (downgrade/).

Revision ID: 0013_recording_gathered
Revises: 0012_recording_index_plans
Create Date: 2026-11-24 10:00:00
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

from service.db import execute_script

revision: str = "0013_recording_gathered"
down_revision: str | None = "0012_recording_index_plans"
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
