"""Factors, ledger and ingest: factor versions, the double-entry ledger, behaviours, caps, the hot path.

The SQL that guards the ledger, its functions in upgrade/ beside this file (one file each, the text this
revision runs) and its triggers below:
- append-only triggers on ledger_transfer and ledger_entry (UPDATE, DELETE and TRUNCATE refused), and
  factor_version immutability;
- a ledger account opened for every resident by trigger; the system accounts seeded;
- kit_rate_limit_take(): the GCRA rate-limit step, shared by Python callers and ingest_record_batch();
- ingest_record_batch(): the hot path. One call records one behaviour or a partner batch: idempotency,
  trip de-duplication, caps, the issuance transfer with its two entries and the resident's balance, all
  in the caller's transaction, with row locks taken in one global order (budget slot, then resident id)
  so that concurrent batches cannot deadlock.

Revision ID: 0002_factors_ledger_ingest
Revises: 0001_accounts
Create Date: 2026-11-23 20:49:51
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from service.db import execute_script

revision: str = "0002_factors_ledger_ingest"
down_revision: str | None = "0001_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HERE = Path(__file__).with_suffix("")

SYSTEM_ACCOUNTS = (*(f"issuance:{i}" for i in range(16)), "redeemed", "retired", "expired")

APPEND_ONLY = """
CREATE TRIGGER ledger_transfer_append_only BEFORE UPDATE OR DELETE ON ledger_transfer
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_transfer_no_truncate BEFORE TRUNCATE ON ledger_transfer
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON ledger_entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER factor_version_immutable BEFORE UPDATE OR DELETE ON factor_version
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER factor_version_no_truncate BEFORE TRUNCATE ON factor_version
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""

DROP_APPEND_ONLY = """
DROP TRIGGER factor_version_no_truncate ON factor_version;
DROP TRIGGER factor_version_immutable ON factor_version;
DROP TRIGGER ledger_entry_no_truncate ON ledger_entry;
DROP TRIGGER ledger_entry_append_only ON ledger_entry;
DROP TRIGGER ledger_transfer_no_truncate ON ledger_transfer;
DROP TRIGGER ledger_transfer_append_only ON ledger_transfer;
DROP FUNCTION ledger_refuse_change();
"""

RESIDENT_ACCOUNT = """
CREATE TRIGGER accounts_resident_ledger_account AFTER INSERT ON accounts_resident
    FOR EACH ROW EXECUTE FUNCTION ledger_open_resident_account();

INSERT INTO ledger_account (kind, resident_id) SELECT 'resident', id FROM accounts_resident;
"""

DROP_RESIDENT_ACCOUNT = """
DROP TRIGGER accounts_resident_ledger_account ON accounts_resident;
DROP FUNCTION ledger_open_resident_account();
"""

DROP_RATE_LIMIT_TAKE = "DROP FUNCTION kit_rate_limit_take(text, interval, interval);"

# Steps shared by recording and by review approval, so that caps and posting exist once.
CREDIT_STEPS = ("ingest_lock_budget", "ingest_allowed_credit", "ledger_post_issuance")

DROP_CREDIT_STEPS = """
DROP FUNCTION ledger_post_issuance(bigint, bigint, bigint, bigint, bigint, bigint, text, date, date, integer);
DROP FUNCTION ingest_allowed_credit(bigint, text, date, bigint, bigint, bigint, bigint);
DROP FUNCTION ingest_lock_budget(date, integer, bigint);
"""

# ingest_record_batch(): each element of p_records (jsonb array) is one behaviour, prepared by service.ingest:
#   ord, resident_id | resident_public_id, client_id | external_id, behaviour_type, category, trip_group,
#   quantity, reported_quantity, reported_unit, unit, occurred_at, ended_at, local_date, evidence, tier,
#   pending, factor_version_id, reduction_g_per_unit, weight, exact_g, grams, remainder_g, daily_cap_g,
#   yearly_cap_g, content_sha256 (hex)
# Outcomes: recorded (see status); replay (the key exists, in the ledger or earlier in this batch: its
# result and content hash); duplicate_trip (a resident's report overlapping a trip already recorded:
# nothing stored); unknown_resident; rate_limited; key_race (a concurrent transaction stored the key
# first: the caller reads it back).
#
# Set-based, so that a batch costs a few statements whatever its size:
# 1. lock, in one global order, this batch's budget slots (sorted) and then its residents' accounts
#    (sorted by id); every later statement takes a fresh snapshot that sees all that committed before;
# 2. one statement decides each record (key seen? trip already recorded?), applies the caps with
#    running sums — credit = min(grams, day left, year left, budget left) in record order, the same
#    rule as service.factors.conversion.apply_caps — and writes behaviours, transfers, entries,
#    balances, cap usage and budget use.
DROP_RECORD_BATCH = (
    "DROP FUNCTION ingest_record_batch(jsonb, text, bigint, bigint[], date, bigint, text, interval, interval);"
)

# ingest_review(): an operator's decision on a report held for review. Approval credits it now, under the
# caps of the day it happened, through the same steps as recording.
DROP_REVIEW = "DROP FUNCTION ingest_review(bigint, boolean, text, text, bigint[], date, bigint);"


def _apply(step: str, *functions: str) -> None:
    """Run this revision's frozen copy of each function's text, <step>/<function>.sql beside this file."""
    for name in functions:
        execute_script(op.get_bind(), (HERE / step / f"{name}.sql").read_text(encoding="utf-8"))


def upgrade() -> None:
    op.create_table(
        "factor_version",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("set_code", sa.Text(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_by", sa.Text(), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("content", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("content_sha256", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_factor_version")),
        sa.UniqueConstraint("set_code", "version", name=op.f("uq_factor_version_set_code_version")),
    )
    op.create_table(
        "ingest_budget_slot",
        sa.Column("budget_date", sa.Date(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("used_g", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("budget_date", "slot", name=op.f("pk_ingest_budget_slot")),
    )
    op.create_table(
        "ingest_cap_usage",
        sa.Column("resident_id", sa.BigInteger(), nullable=False),
        sa.Column("behaviour_type", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("credited_g", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("period IN ('day', 'year')", name=op.f("ck_ingest_cap_usage_period")),
        sa.PrimaryKeyConstraint(
            "resident_id", "behaviour_type", "period", "period_start", name=op.f("pk_ingest_cap_usage")
        ),
    )
    op.create_table(
        "ingest_behaviour",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("resident_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("partner_id", sa.BigInteger(), nullable=True),
        sa.Column("client_id", sa.UUID(), nullable=True),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("behaviour_type", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("trip_group", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Numeric(), nullable=False),
        sa.Column("reported_quantity", sa.Numeric(), nullable=False),
        sa.Column("reported_unit", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("tier", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("factor_version_id", sa.BigInteger(), nullable=False),
        sa.Column("reduction_g_per_unit", sa.Numeric(), nullable=False),
        sa.Column("weight", sa.Numeric(), nullable=False),
        sa.Column("exact_g", sa.Numeric(), nullable=False),
        sa.Column("grams", sa.BigInteger(), nullable=False),
        sa.Column("remainder_g", sa.Numeric(), nullable=False),
        sa.Column("credited_g", sa.BigInteger(), nullable=False),
        sa.Column("capped_g", sa.BigInteger(), nullable=False),
        sa.Column("cap_reason", sa.Text(), nullable=True),
        sa.Column("balance_after", sa.BigInteger(), nullable=True),
        sa.Column("duplicate_of_id", sa.BigInteger(), nullable=True),
        sa.Column("content_sha256", sa.LargeBinary(), nullable=False),
        sa.Column("reviewed_by", sa.Text(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(source = 'resident') = (client_id IS NOT NULL) AND (source = 'partner') = (partner_id IS NOT NULL AND external_id IS NOT NULL)",
            name=op.f("ck_ingest_behaviour_idempotency_key"),
        ),
        sa.CheckConstraint("source IN ('resident', 'partner')", name=op.f("ck_ingest_behaviour_source")),
        sa.CheckConstraint(
            "status IN ('credited', 'capped', 'pending_review', 'rejected', 'duplicate', 'superseded')",
            name=op.f("ck_ingest_behaviour_status"),
        ),
        sa.CheckConstraint("tier IN ('partner', 'evidence', 'self')", name=op.f("ck_ingest_behaviour_tier")),
        sa.CheckConstraint(
            "credited_g >= 0 AND capped_g >= 0 AND credited_g + capped_g <= grams",
            name=op.f("ck_ingest_behaviour_amounts"),
        ),
        sa.CheckConstraint("ended_at >= occurred_at", name=op.f("ck_ingest_behaviour_interval")),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["ingest_behaviour.id"],
            name=op.f("fk_ingest_behaviour_duplicate_of_id_ingest_behaviour"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["accounts_partner.id"], name=op.f("fk_ingest_behaviour_partner_id_accounts_partner")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["accounts_resident.id"], name=op.f("fk_ingest_behaviour_resident_id_accounts_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_behaviour")),
        sa.UniqueConstraint("partner_id", "external_id", name=op.f("uq_ingest_behaviour_partner_id_external_id")),
        sa.UniqueConstraint("resident_id", "client_id", name=op.f("uq_ingest_behaviour_resident_id_client_id")),
    )
    op.create_index(
        "ix_ingest_behaviour_pending",
        "ingest_behaviour",
        ["id"],
        unique=False,
        postgresql_where="status = 'pending_review'",
    )
    op.create_index("ix_ingest_behaviour_resident_id_id", "ingest_behaviour", ["resident_id", "id"], unique=False)
    op.create_index(
        "ix_ingest_behaviour_trip", "ingest_behaviour", ["resident_id", "trip_group", "occurred_at"], unique=False
    )
    op.create_table(
        "ledger_account",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("resident_id", sa.BigInteger(), nullable=True),
        sa.Column("enterprise_id", sa.BigInteger(), nullable=True),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("balance", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(kind = 'resident') = (resident_id IS NOT NULL) AND (kind = 'enterprise') = (enterprise_id IS NOT NULL) AND (kind = 'system') = (code IS NOT NULL)",
            name=op.f("ck_ledger_account_one_owner"),
        ),
        sa.CheckConstraint("kind <> 'system' OR balance = 0", name=op.f("ck_ledger_account_system_balance_derived")),
        sa.CheckConstraint("kind = 'system' OR balance >= 0", name=op.f("ck_ledger_account_never_negative")),
        sa.CheckConstraint("kind IN ('resident', 'enterprise', 'system')", name=op.f("ck_ledger_account_kind")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["accounts_enterprise.id"],
            name=op.f("fk_ledger_account_enterprise_id_accounts_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["accounts_resident.id"], name=op.f("fk_ledger_account_resident_id_accounts_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_account")),
        sa.UniqueConstraint("code", name=op.f("uq_ledger_account_code")),
        sa.UniqueConstraint("enterprise_id", name=op.f("uq_ledger_account_enterprise_id")),
        sa.UniqueConstraint("resident_id", name=op.f("uq_ledger_account_resident_id")),
    )
    op.create_table(
        "ledger_transfer",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("debit_account_id", sa.BigInteger(), nullable=False),
        sa.Column("credit_account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("behaviour_id", sa.BigInteger(), nullable=True),
        sa.Column("factor_version_id", sa.BigInteger(), nullable=True),
        sa.Column("reverses_transfer_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "kind <> 'issuance' OR (behaviour_id IS NOT NULL AND factor_version_id IS NOT NULL)",
            name=op.f("ck_ledger_transfer_issuance_traceable"),
        ),
        sa.CheckConstraint(
            "kind <> 'reversal' OR (reverses_transfer_id IS NOT NULL AND reason IS NOT NULL)",
            name=op.f("ck_ledger_transfer_reversal_linked"),
        ),
        sa.CheckConstraint(
            "kind IN ('issuance', 'reversal', 'redemption', 'refund', 'retirement', 'expiry', 'transfer')",
            name=op.f("ck_ledger_transfer_kind"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_ledger_transfer_positive")),
        sa.CheckConstraint("debit_account_id <> credit_account_id", name=op.f("ck_ledger_transfer_two_accounts")),
        sa.ForeignKeyConstraint(
            ["behaviour_id"], ["ingest_behaviour.id"], name=op.f("fk_ledger_transfer_behaviour_id_ingest_behaviour")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_transfer_id"],
            ["ledger_transfer.id"],
            name=op.f("fk_ledger_transfer_reverses_transfer_id_ledger_transfer"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transfer")),
        sa.UniqueConstraint("reverses_transfer_id", name=op.f("uq_ledger_transfer_reverses_transfer_id")),
    )
    op.create_index("ix_ledger_transfer_behaviour_id", "ledger_transfer", ["behaviour_id"], unique=False)
    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("transfer_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_ledger_entry_nonzero")),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["ledger_transfer.id"], name=op.f("fk_ledger_entry_transfer_id_ledger_transfer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entry")),
    )
    op.create_index("ix_ledger_entry_account_id_id", "ledger_entry", ["account_id", "id"], unique=False)
    op.create_index("ix_ledger_entry_transfer_id", "ledger_entry", ["transfer_id"], unique=False)

    _apply("upgrade", "ledger_refuse_change")
    execute_script(op.get_bind(), APPEND_ONLY)
    _apply("upgrade", "ledger_open_resident_account")
    execute_script(op.get_bind(), RESIDENT_ACCOUNT)
    _apply("upgrade", "kit_rate_limit_take", *CREDIT_STEPS, "ingest_record_batch", "ingest_review")
    accounts = sa.table("ledger_account", sa.column("kind"), sa.column("code"))
    op.bulk_insert(accounts, [{"kind": "system", "code": code} for code in SYSTEM_ACCOUNTS])


def downgrade() -> None:
    execute_script(op.get_bind(), DROP_REVIEW)
    execute_script(op.get_bind(), DROP_RECORD_BATCH)
    execute_script(op.get_bind(), DROP_CREDIT_STEPS)
    execute_script(op.get_bind(), DROP_RATE_LIMIT_TAKE)
    execute_script(op.get_bind(), DROP_RESIDENT_ACCOUNT)
    execute_script(op.get_bind(), DROP_APPEND_ONLY)
    op.drop_index("ix_ledger_entry_transfer_id", table_name="ledger_entry")
    op.drop_index("ix_ledger_entry_account_id_id", table_name="ledger_entry")
    op.drop_table("ledger_entry")
    op.drop_index("ix_ledger_transfer_behaviour_id", table_name="ledger_transfer")
    op.drop_table("ledger_transfer")
    op.drop_table("ledger_account")
    op.drop_index("ix_ingest_behaviour_trip", table_name="ingest_behaviour")
    op.drop_index("ix_ingest_behaviour_resident_id_id", table_name="ingest_behaviour")
    op.drop_index(
        "ix_ingest_behaviour_pending", table_name="ingest_behaviour", postgresql_where="status = 'pending_review'"
    )
    op.drop_table("ingest_behaviour")
    op.drop_table("ingest_cap_usage")
    op.drop_table("ingest_budget_slot")
    op.drop_table("factor_version")
