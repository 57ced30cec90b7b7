"""Room on each page for the rows every credit updates: account balances, cap usage, rate-limit keys.

Every credited record updates its resident's balance in ledger_account, its day and year rows in
ingest_cap_usage, and (for a resident's own report) its write-limit row in kit_rate_limit_bucket. None
of those updates changes an indexed column, so each can be HOT, with no new index entry, but only if the
new row version fits on the page of the old one. Filled to the brim, as rows are inserted, a page has no
room, and the update goes to another page with a new entry in every index: four for an account. With a
fifth of each page left free, the page keeps room for the new version and pruning makes room again for
the next.

The setting applies to the pages written from now on; pages already full fill their room as vacuum
frees it.

Revision ID: 0015_room_for_hot_updates
Revises: 0014_keys_compared_bytewise
Create Date: 2026-11-25 01:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015_room_for_hot_updates"
down_revision: str | None = "0014_keys_compared_bytewise"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("ledger_account", "ingest_cap_usage", "kit_rate_limit_bucket")


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} SET (fillfactor = 80)")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
