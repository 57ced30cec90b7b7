"""Fraud review: frozen residents, devices seen at sign-in, and flags for operators.

- accounts_resident.frozen_at / frozen_reason: a frozen resident records and redeems nothing; the
  recording function (redefined here) answers such records with the outcome `frozen`; balances stay;
- accounts_device: which residents signed in from which device (an id the app keeps in its storage);
- ingest_flag: something for an operator to look at — implausible speed, a burst of records, the same trip
  from two sources, many residents on one device — raised by a background scan, one flag per subject;
- ingest_flag_state: how far the scan has looked.

Revision ID: 0008_fraud_review
Revises: 0007_admin_actions
Create Date: 2026-11-24 05:00:00
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from service.db import execute_script

revision: str = "0008_fraud_review"
down_revision: str | None = "0007_admin_actions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# ingest_record_batch() as this revision writes it, answering `frozen` (upgrade/), and as revision 0002
# wrote it (downgrade/).
HERE = Path(__file__).with_suffix("")


def _apply(step: str, *functions: str) -> None:
    """Run this revision's frozen copy of each function's text, <step>/<function>.sql beside this file."""
    for name in functions:
        execute_script(op.get_bind(), (HERE / step / f"{name}.sql").read_text(encoding="utf-8"))


def upgrade() -> None:
    op.add_column("accounts_resident", sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("accounts_resident", sa.Column("frozen_reason", sa.Text(), nullable=True))
    op.create_table(
        "accounts_device",
        sa.Column("device_id", sa.Text(), nullable=False),
        sa.Column("resident_id", sa.BigInteger(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["accounts_resident.id"], name=op.f("fk_accounts_device_resident_id_accounts_resident")
        ),
        sa.PrimaryKeyConstraint("device_id", "resident_id", name=op.f("pk_accounts_device")),
    )
    op.create_index("ix_accounts_device_last_seen", "accounts_device", ["last_seen"])
    op.create_table(
        "ingest_flag",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("resident_id", sa.BigInteger(), nullable=True),
        sa.Column("behaviour_id", sa.BigInteger(), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("resolution_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('implausible_speed', 'burst', 'two_sources', 'shared_device')", name=op.f("ck_ingest_flag_kind")
        ),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('confirmed', 'dismissed')", name=op.f("ck_ingest_flag_resolution")
        ),
        sa.CheckConstraint("(resolution IS NULL) = (resolved_at IS NULL)", name=op.f("ck_ingest_flag_resolved")),
        sa.ForeignKeyConstraint(
            ["behaviour_id"], ["ingest_behaviour.id"], name=op.f("fk_ingest_flag_behaviour_id_ingest_behaviour")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["accounts_resident.id"], name=op.f("fk_ingest_flag_resident_id_accounts_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_flag")),
        sa.UniqueConstraint("kind", "subject", name=op.f("uq_ingest_flag_kind_subject")),
    )
    op.create_index("ix_ingest_flag_open", "ingest_flag", ["id"], postgresql_where=sa.text("resolution IS NULL"))
    op.create_table(
        "ingest_flag_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("behaviour_through", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_ingest_flag_state_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_flag_state")),
    )
    op.execute("INSERT INTO ingest_flag_state (id, behaviour_through) VALUES (1, 0)")
    _apply("upgrade", "ingest_record_batch")


def downgrade() -> None:
    _apply("downgrade", "ingest_record_batch")
    op.drop_table("ingest_flag_state")
    op.drop_index("ix_ingest_flag_open", table_name="ingest_flag")
    op.drop_table("ingest_flag")
    op.drop_index("ix_accounts_device_last_seen", table_name="accounts_device")
    op.drop_table("accounts_device")
    op.drop_column("accounts_resident", "frozen_reason")
    op.drop_column("accounts_resident", "frozen_at")
