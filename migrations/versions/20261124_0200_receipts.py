"""Receipts: the append-only Merkle log of ledger entries and its signed checkpoints.

- ledger_seal_leaf: leaf i of the log is this ledger entry (sealed in entry-id order, after commit);
- ledger_seal_node: the hash of every perfect subtree the log has completed, leaves at level 0 (RFC 6962
  leaf and node hashing), from which any root and proof is computed;
- ledger_checkpoint: tree size, root hash, time and Ed25519 signature, one per sealing step;
- ledger_seal_state: the entry id up to which everything is sealed.

All four refuse UPDATE, DELETE and TRUNCATE, as the ledger does.

Revision ID: 0005_receipts
Revises: 0004_redemption
Create Date: 2026-11-24 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.db import execute_script

revision: str = "0005_receipts"
down_revision: str | None = "0004_redemption"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("ledger_seal_leaf", "ledger_seal_node", "ledger_checkpoint")

TRIGGERS = "\n".join(
    f"""
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""
    for table in TABLES
)


def upgrade() -> None:
    op.create_table(
        "ledger_seal_leaf",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_ledger_seal_leaf")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_ledger_seal_leaf_entry_id")),
    )
    op.create_table(
        "ledger_seal_node",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("octet_length(hash) = 32", name=op.f("ck_ledger_seal_node_sha256")),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_ledger_seal_node")),
    )
    op.create_table(
        "ledger_checkpoint",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("signed_at", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_ledger_checkpoint")),
    )
    op.create_table(
        "ledger_seal_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sealed_entry_id", sa.BigInteger(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_ledger_seal_state_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_seal_state")),
    )
    op.execute("INSERT INTO ledger_seal_state (id, sealed_entry_id, tree_size) VALUES (1, 0, 0)")
    execute_script(op.get_bind(), TRIGGERS)


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.drop_table("ledger_seal_state")
    op.drop_table("ledger_checkpoint")
    op.drop_table("ledger_seal_node")
    op.drop_table("ledger_seal_leaf")
