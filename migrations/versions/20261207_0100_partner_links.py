"""Partners reach residents through links the residents consent to.

- consent_link: a resident's account at one partner, with the consent given (text version, locale, its
  SHA-256, where) and the partner-scoped pseudonym by which the partner names the resident;
- consent_link_code: the one-time codes a resident carries to a partner's app (their hashes only);
- consent_event: each consent granted or revoked, append-only, sealed into the Merkle log beside the
  ledger's entries: ledger_seal_leaf takes a consent event as a leaf (consent_event_id), and
  ledger_seal_state keeps the last consent event sealed.

ingest_record_batch() reads a partner's record's resident from its pseudonym (resident_pseudonym) in
place of the resident's public id, and refuses a pseudonym no link holds (unknown_pseudonym), another
partner's (pseudonym_elsewhere) or one whose link was revoked (link_revoked). The upgrade applies a frozen
copy of its current file (upgrade/); the downgrade restores the text revision 0023 left (downgrade/).
A partner's record's content hash covers its pseudonym now: a record stored before this revision and
sent again answers DUPLICATE_CONFLICT, and is credited no second time.

Revision ID: 0033_partner_links
Revises: 0032_dashboard_tally
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

from service.db import execute_script

revision: str = "0033_partner_links"
down_revision: str | None = "0032_dashboard_tally"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HERE = Path(__file__).with_suffix("")

METHODS = "method IN ('wechat_mini_program', 'h5')"
APPEND_ONLY = """
CREATE TRIGGER consent_event_append_only BEFORE UPDATE OR DELETE ON consent_event
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER consent_event_no_truncate BEFORE TRUNCATE ON consent_event
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""


def _apply(step: str) -> None:
    execute_script(op.get_bind(), (HERE / step / "ingest_record_batch.sql").read_text(encoding="utf-8"))


def upgrade() -> None:
    op.create_table(
        "consent_link",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("public_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("resident_id", sa.BigInteger(), nullable=False),
        sa.Column("partner_id", sa.BigInteger(), nullable=False),
        sa.Column("pseudonym", sa.Text(), nullable=True),
        sa.Column("text_version", sa.Text(), nullable=False),
        sa.Column("locale", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.LargeBinary(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("agreed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Text(), nullable=True),
        sa.CheckConstraint(METHODS, name=op.f("ck_consent_link_method")),
        sa.CheckConstraint("revoked_by IN ('resident', 'erasure')", name=op.f("ck_consent_link_revoked_by")),
        sa.CheckConstraint("(revoked_at IS NULL) = (revoked_by IS NULL)", name=op.f("ck_consent_link_revoked_by_whom")),
        sa.CheckConstraint(
            "revoked_at IS NOT NULL OR pseudonym IS NOT NULL", name=op.f("ck_consent_link_in_force_has_pseudonym")
        ),
        sa.CheckConstraint("octet_length(text_sha256) = 32", name=op.f("ck_consent_link_text_sha256")),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["accounts_partner.id"], name=op.f("fk_consent_link_partner_id_accounts_partner")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["accounts_resident.id"], name=op.f("fk_consent_link_resident_id_accounts_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_link")),
        sa.UniqueConstraint("public_id", name=op.f("uq_consent_link_public_id")),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_consent_link_pseudonym")),
    )
    op.create_index(
        "uq_consent_link_in_force",
        "consent_link",
        ["resident_id", "partner_id"],
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_index(
        "ix_consent_link_resident_id_partner_id", "consent_link", ["resident_id", "partner_id", "granted_at"]
    )
    op.create_index("ix_consent_link_partner_id_id", "consent_link", ["partner_id", "id"])
    op.create_table(
        "consent_link_code",
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("resident_id", sa.BigInteger(), nullable=False),
        sa.Column("partner_id", sa.BigInteger(), nullable=False),
        sa.Column("text_version", sa.Text(), nullable=False),
        sa.Column("locale", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.LargeBinary(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("agreed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("link_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(METHODS, name=op.f("ck_consent_link_code_method")),
        sa.CheckConstraint("octet_length(text_sha256) = 32", name=op.f("ck_consent_link_code_text_sha256")),
        sa.ForeignKeyConstraint(
            ["link_id"], ["consent_link.id"], name=op.f("fk_consent_link_code_link_id_consent_link")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["accounts_partner.id"], name=op.f("fk_consent_link_code_partner_id_accounts_partner")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["accounts_resident.id"],
            name=op.f("fk_consent_link_code_resident_id_accounts_resident"),
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_consent_link_code")),
    )
    op.create_index("ix_consent_link_code_resident_id", "consent_link_code", ["resident_id"])
    op.create_index("ix_consent_link_code_expires_at", "consent_link_code", ["expires_at"])
    op.create_table(
        "consent_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("link_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("partner_id", sa.BigInteger(), nullable=False),
        sa.Column("text_version", sa.Text(), nullable=False),
        sa.Column("locale", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.LargeBinary(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('granted', 'revoked')", name=op.f("ck_consent_event_kind")),
        sa.CheckConstraint(METHODS, name=op.f("ck_consent_event_method")),
        sa.ForeignKeyConstraint(["link_id"], ["consent_link.id"], name=op.f("fk_consent_event_link_id_consent_link")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_event")),
    )
    op.create_index("ix_consent_event_link_id", "consent_event", ["link_id"])
    execute_script(op.get_bind(), APPEND_ONLY)

    op.alter_column("ledger_seal_leaf", "entry_id", nullable=True)
    op.add_column("ledger_seal_leaf", sa.Column("consent_event_id", sa.BigInteger(), nullable=True))
    op.create_unique_constraint(op.f("uq_ledger_seal_leaf_consent_event_id"), "ledger_seal_leaf", ["consent_event_id"])
    op.create_check_constraint(
        op.f("ck_ledger_seal_leaf_one_item"), "ledger_seal_leaf", "num_nonnulls(entry_id, consent_event_id) = 1"
    )
    op.add_column(
        "ledger_seal_state",
        sa.Column("sealed_consent_event_id", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    _apply("upgrade")


def downgrade() -> None:
    _apply("downgrade")
    op.drop_column("ledger_seal_state", "sealed_consent_event_id")
    # Consent leaves cannot stay in a log that knows only entries: a downgrade with consent sealed fails
    # here rather than leave leaves that name nothing.
    op.drop_constraint(op.f("ck_ledger_seal_leaf_one_item"), "ledger_seal_leaf", type_="check")
    op.drop_constraint(op.f("uq_ledger_seal_leaf_consent_event_id"), "ledger_seal_leaf", type_="unique")
    op.drop_column("ledger_seal_leaf", "consent_event_id")
    op.alter_column("ledger_seal_leaf", "entry_id", nullable=False)
    op.drop_table("consent_event")
    op.drop_index("ix_consent_link_code_expires_at", table_name="consent_link_code")
    op.drop_index("ix_consent_link_code_resident_id", table_name="consent_link_code")
    op.drop_table("consent_link_code")
    op.drop_index("ix_consent_link_partner_id_id", table_name="consent_link")
    op.drop_index("ix_consent_link_resident_id_partner_id", table_name="consent_link")
    op.drop_index("uq_consent_link_in_force", table_name="consent_link")
    op.drop_table("consent_link")
