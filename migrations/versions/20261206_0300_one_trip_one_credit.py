"""One trip, one credit, whoever reports it; one piece of evidence, one report.

ingest_record_batch() checks a record against every recorded trip of its resident, from any source, and
against the earlier records of the same call; it stores the claims a report's evidence makes (its site
codes, its photo) in ingest_evidence_claim and refuses a report naming a claim already stored
(evidence_reused); and it answers each credited record's issuance transfer (transfer_id, a new output
column: the function is dropped and created again, as CREATE OR REPLACE cannot change a result type).

The upgrade applies a frozen copy of the function's current file (upgrade/); the downgrade drops the table
and restores the text revision 0020 left (downgrade/).

ingest_evidence_refusal keeps each report whose evidence was refused (the check it failed), once per
report however often it is sent again, which the fraud scan counts: the flag kind refused_evidence.

Revision ID: 0023_one_trip_one_credit
Revises: 0022_photos
Create Date: 2026-12-06 03:00:00
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

from service.db import execute_script

revision: str = "0023_one_trip_one_credit"
down_revision: str | None = "0022_photos"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HERE = Path(__file__).with_suffix("")

KINDS = ("implausible_speed", "burst", "two_sources", "shared_device")
SIGNATURE = "ingest_record_batch(jsonb, text, bigint, bigint[], date, bigint, text, interval, interval)"


def _apply(step: str) -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
    execute_script(op.get_bind(), (HERE / step / "ingest_record_batch.sql").read_text(encoding="utf-8"))


def upgrade() -> None:
    # A claim is a digest no second report may name: a site code as one resident used it, a photo's
    # content. behaviour_id names the record that made it; no foreign key, as ingest_behaviour rows are
    # never deleted and the check would cost every recording call a lookup per claim.
    op.create_table(
        "ingest_evidence_claim",
        sa.Column("claim", sa.LargeBinary(), nullable=False),
        sa.Column("behaviour_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("claim", name=op.f("pk_ingest_evidence_claim")),
    )
    _apply("upgrade")
    op.create_table(
        "ingest_evidence_refusal",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("resident_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("refused_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["accounts_resident.id"],
            name=op.f("fk_ingest_evidence_refusal_resident_id_accounts_resident"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_evidence_refusal")),
        sa.UniqueConstraint("resident_id", "client_id", name=op.f("uq_ingest_evidence_refusal_resident_id_client_id")),
    )
    op.create_index("ix_ingest_evidence_refusal_refused_at", "ingest_evidence_refusal", ["refused_at"])
    _flag_kinds(*KINDS, "refused_evidence")


def downgrade() -> None:
    op.execute("DELETE FROM ingest_flag WHERE kind = 'refused_evidence'")
    _flag_kinds(*KINDS)
    op.drop_table("ingest_evidence_refusal")
    _apply("downgrade")
    op.drop_table("ingest_evidence_claim")


def _flag_kinds(*kinds: str) -> None:
    op.drop_constraint(op.f("ck_ingest_flag_kind"), "ingest_flag", type_="check")
    op.create_check_constraint(op.f("ck_ingest_flag_kind"), "ingest_flag", f"kind IN ({', '.join(map(repr, kinds))})")
