"""The unique keys that most rows leave empty index only the rows that have one.

A behaviour is keyed by its resident's client id when a resident reported it and by its partner's
record id when a partner sent it; a transfer names the transfer it compensates only when it is a
reversal or a refund. Each of the three unique constraints held an entry for every row all the same,
the empty key (NULL) included: every partner record wrote one into the residents' key, keyed by its
resident and so at a random place of that index, every resident's report one into the partners' key,
and every issuance one into the reversals' key. NULLs never conflict, so the entries checked nothing.

As unique indexes over the rows whose key is set, the same keys are enforced and found as before (a
lookup by key implies it is set, so the planner uses them), and recording writes one index entry less
per behaviour and one less per transfer.

ON CONFLICT with a column list must now name the index's condition to pick it as its arbiter
(service.ledger.repository.insert_transfer does). Building an index reads its table, which is locked
against writes meanwhile.

Revision ID: 0017_keys_only_where_set
Revises: 0016_leaderboard_enum_keys
Create Date: 2026-11-25 03:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017_keys_only_where_set"
down_revision: str | None = "0016_leaderboard_enum_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name: (table, columns, the column that is empty on most rows)
KEYS = {
    "uq_ingest_behaviour_resident_id_client_id": ("ingest_behaviour", "resident_id, client_id", "client_id"),
    "uq_ingest_behaviour_partner_id_external_id": ("ingest_behaviour", "partner_id, external_id", "external_id"),
    "uq_ledger_transfer_reverses_transfer_id": ("ledger_transfer", "reverses_transfer_id", "reverses_transfer_id"),
}


def upgrade() -> None:
    for name, (table, columns, key) in KEYS.items():
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        op.execute(f"CREATE UNIQUE INDEX {name} ON {table} ({columns}) WHERE {key} IS NOT NULL")


def downgrade() -> None:
    for name, (table, columns, _) in KEYS.items():
        op.execute(f"DROP INDEX {name}")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE ({columns})")
