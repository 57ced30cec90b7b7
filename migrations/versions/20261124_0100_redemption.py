"""Enterprises' side of the credit economy: onboarding, rewards, vouchers, retirement certificates, and
the lots that tell which issued grams sit where.

- accounts_enterprise gains its registration details and review; an enterprise opens its ledger account
  when it is created, as a resident does;
- ledger_lot_move: every transfer that moves credits after issuance (redemption, refund, retirement,
  expiry, reversal) records which issuance lots it moved and how many grams of each. An account's
  holding of a lot is the lot's amount if the lot was issued to it, plus the grams moved in, less the
  grams moved out; the database refuses a move that would overdraw a holding. That is how a certificate
  names the behaviours and factor versions behind its grams, how expiry takes the oldest credits a
  resident still holds and never credits already spent, and why the same grams can never back two
  certificates;
- the retired account can never be debited and no lot ever leaves it (CHECKs on its id);
- redemption_reward, redemption_voucher and redemption_certificate (append-only);
- ledger_expiry_state: how far the expiry job has looked.

Revision ID: 0004_redemption
Revises: 0003_leaderboards
Create Date: 2026-11-24 01:00:00
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from service.db import execute_script

revision: str = "0004_redemption"
down_revision: str | None = "0003_leaderboards"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HERE = Path(__file__).with_suffix("")

# The functions are in upgrade/ beside this file: the trigger functions ledger_open_enterprise_account()
# and ledger_lot_move_check(), ledger_lot_holdings() and ledger_expire(). The triggers, the enterprises'
# accounts and the retired account's constraints are below.
ENTERPRISE_ACCOUNT = """
CREATE TRIGGER accounts_enterprise_ledger_account AFTER INSERT ON accounts_enterprise
    FOR EACH ROW EXECUTE FUNCTION ledger_open_enterprise_account();

INSERT INTO ledger_account (kind, enterprise_id)
SELECT 'enterprise', e.id FROM accounts_enterprise e
 WHERE NOT EXISTS (SELECT 1 FROM ledger_account a WHERE a.enterprise_id = e.id);

CREATE TRIGGER ledger_lot_move_append_only BEFORE UPDATE OR DELETE ON ledger_lot_move
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_lot_move_no_truncate BEFORE TRUNCATE ON ledger_lot_move
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER redemption_certificate_append_only BEFORE UPDATE OR DELETE ON redemption_certificate
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER redemption_certificate_no_truncate BEFORE TRUNCATE ON redemption_certificate
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""

LOT_MOVES = """
CREATE TRIGGER ledger_lot_move_within_holding AFTER INSERT ON ledger_lot_move
    FOR EACH ROW EXECUTE FUNCTION ledger_lot_move_check();

-- Retired credits never move again: the retired account is never debited and no lot leaves it.
DO $$
DECLARE
    v_retired bigint;
BEGIN
    SELECT id INTO STRICT v_retired FROM ledger_account WHERE code = 'retired';
    EXECUTE format('ALTER TABLE ledger_transfer ADD CONSTRAINT ck_ledger_transfer_retired_final'
                   ' CHECK (debit_account_id <> %s)', v_retired);
    EXECUTE format('ALTER TABLE ledger_lot_move ADD CONSTRAINT ck_ledger_lot_move_retired_final'
                   ' CHECK (from_account_id <> %s)', v_retired);
END $$;
"""

DROP_FUNCTIONS = """
DROP FUNCTION ledger_expire(bigint[], timestamptz, integer, bigint, text);
ALTER TABLE ledger_transfer DROP CONSTRAINT ck_ledger_transfer_retired_final;
DROP TRIGGER ledger_lot_move_within_holding ON ledger_lot_move;
DROP FUNCTION ledger_lot_move_check();
DROP FUNCTION ledger_lot_holdings(bigint);
DROP TRIGGER redemption_certificate_no_truncate ON redemption_certificate;
DROP TRIGGER redemption_certificate_append_only ON redemption_certificate;
DROP TRIGGER ledger_lot_move_no_truncate ON ledger_lot_move;
DROP TRIGGER ledger_lot_move_append_only ON ledger_lot_move;
DROP TRIGGER accounts_enterprise_ledger_account ON accounts_enterprise;
DROP FUNCTION ledger_open_enterprise_account();
"""

_NOW = sa.text("now()")


def _apply(step: str, *functions: str) -> None:
    """Run this revision's frozen copy of each function's text, <step>/<function>.sql beside this file."""
    for name in functions:
        execute_script(op.get_bind(), (HERE / step / f"{name}.sql").read_text(encoding="utf-8"))


def upgrade() -> None:
    op.add_column("accounts_enterprise", sa.Column("credit_code", sa.Text(), nullable=True))
    op.add_column("accounts_enterprise", sa.Column("contact_name", sa.Text(), nullable=True))
    op.add_column("accounts_enterprise", sa.Column("contact_phone", sa.Text(), nullable=True))
    op.add_column("accounts_enterprise", sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("accounts_enterprise", sa.Column("reviewed_by", sa.Text(), nullable=True))
    op.add_column("accounts_enterprise", sa.Column("review_reason", sa.Text(), nullable=True))
    op.create_unique_constraint(op.f("uq_accounts_enterprise_credit_code"), "accounts_enterprise", ["credit_code"])
    op.create_check_constraint(
        op.f("ck_accounts_enterprise_credit_code_format"),
        "accounts_enterprise",
        "credit_code ~ '^[0-9A-Z]{18}$'",
    )
    op.create_check_constraint(
        op.f("ck_ledger_transfer_refund_linked"),
        "ledger_transfer",
        "kind <> 'refund' OR reverses_transfer_id IS NOT NULL",
    )

    op.create_table(
        "ledger_lot_move",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("transfer_id", sa.BigInteger(), nullable=False),
        sa.Column("lot_id", sa.BigInteger(), nullable=False),
        sa.Column("from_account_id", sa.BigInteger(), nullable=False),
        sa.Column("to_account_id", sa.BigInteger(), nullable=False),
        sa.Column("grams", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("grams > 0", name=op.f("ck_ledger_lot_move_positive")),
        sa.CheckConstraint("from_account_id <> to_account_id", name=op.f("ck_ledger_lot_move_two_accounts")),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["ledger_transfer.id"], name=op.f("fk_ledger_lot_move_lot_id_ledger_transfer")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["ledger_transfer.id"], name=op.f("fk_ledger_lot_move_transfer_id_ledger_transfer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_lot_move")),
    )
    op.create_index("ix_ledger_lot_move_lot_id", "ledger_lot_move", ["lot_id"])
    op.create_index("ix_ledger_lot_move_transfer_id", "ledger_lot_move", ["transfer_id"])
    op.create_index("ix_ledger_lot_move_from_account_id_lot_id", "ledger_lot_move", ["from_account_id", "lot_id"])
    op.create_index("ix_ledger_lot_move_to_account_id_lot_id", "ledger_lot_move", ["to_account_id", "lot_id"])

    op.create_table(
        "ledger_expiry_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_through", sa.BigInteger(), nullable=False),
        sa.Column("move_through", sa.BigInteger(), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_ledger_expiry_state_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_expiry_state")),
    )
    op.execute("INSERT INTO ledger_expiry_state (id, lot_through, move_through) VALUES (1, 0, 0)")

    op.create_table(
        "redemption_reward",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("enterprise_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("price_g", sa.BigInteger(), nullable=False),
        sa.Column("stock_total", sa.Integer(), nullable=False),
        sa.Column("stock_left", sa.Integer(), nullable=False),
        sa.Column("per_resident_limit", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voucher_valid_days", sa.Integer(), nullable=False),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.CheckConstraint(
            "category IN ('food_drink', 'transport', 'retail', 'culture', 'services', 'other')",
            name=op.f("ck_redemption_reward_category"),
        ),
        sa.CheckConstraint("status IN ('active', 'withdrawn')", name=op.f("ck_redemption_reward_status")),
        sa.CheckConstraint("price_g > 0", name=op.f("ck_redemption_reward_price_positive")),
        sa.CheckConstraint(
            "stock_left >= 0 AND stock_left <= stock_total", name=op.f("ck_redemption_reward_stock_in_range")
        ),
        sa.CheckConstraint("per_resident_limit >= 1", name=op.f("ck_redemption_reward_limit_positive")),
        sa.CheckConstraint("valid_until > valid_from", name=op.f("ck_redemption_reward_window")),
        sa.CheckConstraint(
            "voucher_valid_days BETWEEN 1 AND 366", name=op.f("ck_redemption_reward_voucher_valid_days")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["accounts_enterprise.id"],
            name=op.f("fk_redemption_reward_enterprise_id_accounts_enterprise"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemption_reward")),
    )
    op.create_index("ix_redemption_reward_enterprise_id", "redemption_reward", ["enterprise_id", "id"])
    op.create_index(
        "ix_redemption_reward_browse",
        "redemption_reward",
        ["category", "id"],
        postgresql_where=sa.text("status = 'active'"),
    )

    op.create_table(
        "redemption_voucher",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("reward_id", sa.BigInteger(), nullable=False),
        sa.Column("enterprise_id", sa.BigInteger(), nullable=False),
        sa.Column("resident_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("price_g", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), server_default="issued", nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.Text(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("redemption_transfer_id", sa.BigInteger(), nullable=False),
        sa.Column("refund_transfer_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "status IN ('issued', 'used', 'cancelled', 'expired')", name=op.f("ck_redemption_voucher_status")
        ),
        sa.CheckConstraint(
            "(status = 'used') = (used_at IS NOT NULL)"
            " AND (status = 'cancelled') = (cancelled_at IS NOT NULL AND refund_transfer_id IS NOT NULL)",
            name=op.f("ck_redemption_voucher_status_stamped"),
        ),
        sa.CheckConstraint("expires_at > issued_at", name=op.f("ck_redemption_voucher_expires_after_issue")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["accounts_enterprise.id"],
            name=op.f("fk_redemption_voucher_enterprise_id_accounts_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["redemption_transfer_id"],
            ["ledger_transfer.id"],
            name=op.f("fk_redemption_voucher_redemption_transfer_id_ledger_transfer"),
        ),
        sa.ForeignKeyConstraint(
            ["refund_transfer_id"],
            ["ledger_transfer.id"],
            name=op.f("fk_redemption_voucher_refund_transfer_id_ledger_transfer"),
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["accounts_resident.id"], name=op.f("fk_redemption_voucher_resident_id_accounts_resident")
        ),
        sa.ForeignKeyConstraint(
            ["reward_id"], ["redemption_reward.id"], name=op.f("fk_redemption_voucher_reward_id_redemption_reward")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemption_voucher")),
        sa.UniqueConstraint("code", name=op.f("uq_redemption_voucher_code")),
        sa.UniqueConstraint("redemption_transfer_id", name=op.f("uq_redemption_voucher_redemption_transfer_id")),
        sa.UniqueConstraint("refund_transfer_id", name=op.f("uq_redemption_voucher_refund_transfer_id")),
        sa.UniqueConstraint("resident_id", "client_id", name=op.f("uq_redemption_voucher_resident_id_client_id")),
    )
    op.create_index("ix_redemption_voucher_resident_id_id", "redemption_voucher", ["resident_id", "id"])
    op.create_index("ix_redemption_voucher_reward_id_resident_id", "redemption_voucher", ["reward_id", "resident_id"])
    op.create_index(
        "ix_redemption_voucher_outstanding",
        "redemption_voucher",
        ["enterprise_id", "expires_at"],
        postgresql_where=sa.text("status = 'issued'"),
    )

    op.create_table(
        "redemption_certificate",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("enterprise_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("amount_g", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("beneficiary", sa.Text(), nullable=True),
        sa.Column("retirement_transfer_id", sa.BigInteger(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.CheckConstraint("amount_g > 0", name=op.f("ck_redemption_certificate_amount_positive")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["accounts_enterprise.id"],
            name=op.f("fk_redemption_certificate_enterprise_id_accounts_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["retirement_transfer_id"],
            ["ledger_transfer.id"],
            name=op.f("fk_redemption_certificate_retirement_transfer_id_ledger_transfer"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemption_certificate")),
        sa.UniqueConstraint("number", name=op.f("uq_redemption_certificate_number")),
        sa.UniqueConstraint("retirement_transfer_id", name=op.f("uq_redemption_certificate_retirement_transfer_id")),
        sa.UniqueConstraint(
            "enterprise_id", "client_id", name=op.f("uq_redemption_certificate_enterprise_id_client_id")
        ),
    )
    _apply("upgrade", "ledger_open_enterprise_account")
    execute_script(op.get_bind(), ENTERPRISE_ACCOUNT)
    _apply("upgrade", "ledger_lot_holdings", "ledger_lot_move_check")
    execute_script(op.get_bind(), LOT_MOVES)
    _apply("upgrade", "ledger_expire")


def downgrade() -> None:
    execute_script(op.get_bind(), DROP_FUNCTIONS)
    op.drop_table("redemption_certificate")
    op.drop_index("ix_redemption_voucher_outstanding", table_name="redemption_voucher")
    op.drop_index("ix_redemption_voucher_reward_id_resident_id", table_name="redemption_voucher")
    op.drop_index("ix_redemption_voucher_resident_id_id", table_name="redemption_voucher")
    op.drop_table("redemption_voucher")
    op.drop_index("ix_redemption_reward_browse", table_name="redemption_reward")
    op.drop_index("ix_redemption_reward_enterprise_id", table_name="redemption_reward")
    op.drop_table("redemption_reward")
    op.drop_table("ledger_expiry_state")
    op.drop_index("ix_ledger_lot_move_to_account_id_lot_id", table_name="ledger_lot_move")
    op.drop_index("ix_ledger_lot_move_from_account_id_lot_id", table_name="ledger_lot_move")
    op.drop_index("ix_ledger_lot_move_transfer_id", table_name="ledger_lot_move")
    op.drop_index("ix_ledger_lot_move_lot_id", table_name="ledger_lot_move")
    op.drop_table("ledger_lot_move")
    op.drop_constraint(op.f("ck_ledger_transfer_refund_linked"), "ledger_transfer", type_="check")
    op.drop_constraint(op.f("ck_accounts_enterprise_credit_code_format"), "accounts_enterprise", type_="check")
    op.drop_constraint(op.f("uq_accounts_enterprise_credit_code"), "accounts_enterprise", type_="unique")
    for column in ("review_reason", "reviewed_by", "reviewed_at", "contact_phone", "contact_name", "credit_code"):
        op.drop_column("accounts_enterprise", column)
