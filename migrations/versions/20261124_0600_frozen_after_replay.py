"""A frozen resident's retry of a behaviour recorded before answers the original result.

Revision 0008 refused a frozen resident's records before looking at their keys, so a retry of one
recorded before the freeze (a lost reply, say) answered 403 ACCOUNT_FROZEN, and a partner re-sending a
record it had delivered got `rejected` instead of `duplicate`. Here `ingest_record_batch()` looks at the
key first: only records never seen before are refused for a frozen account. The function is written out
whole in upgrade/ beside this file.

Revision ID: 0009_frozen_after_replay
Revises: 0008_fraud_review
Create Date: 2026-11-24 06:00:00
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

from service.db import execute_script

revision: str = "0009_frozen_after_replay"
down_revision: str | None = "0008_fraud_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# ingest_record_batch() as this revision writes it (upgrade/) and as revision 0008 wrote it (downgrade/).
HERE = Path(__file__).with_suffix("")


def _apply(step: str, *functions: str) -> None:
    """Run this revision's frozen copy of each function's text, <step>/<function>.sql beside this file."""
    for name in functions:
        execute_script(op.get_bind(), (HERE / step / f"{name}.sql").read_text(encoding="utf-8"))


def upgrade() -> None:
    _apply("upgrade", "ingest_record_batch")


def downgrade() -> None:
    _apply("downgrade", "ingest_record_batch")
