"""Voucher codes kept as a keyed hash and a sealed copy.

`redemption_voucher.code` held each code in the clear. It becomes `code_hash` (HMAC-SHA256, the code is
found by it) and `code_sealed` (AES-GCM, shown to the resident), both under keys derived from the
configured secret (service/redemption/codes.py). Stored codes are converted in place, so the migration
needs that secret: the caller's (`tanpuhui migrate`, the service's start) or else TANPUHUI_SECRET_KEY as the
service reads it. A database migrated under one secret finds no code under another.

Revision ID: 0026_voucher_code_hash
Revises: 0025_access_revocations
Create Date: 2026-12-06 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from service.config import Settings
from service.redemption.codes import VoucherCodes

revision: str = "0026_voucher_code_hash"
down_revision: str | None = "0025_access_revocations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "redemption_voucher"


def _codes() -> VoucherCodes:
    secret = context.config.attributes.get("secret_key") or Settings().secret_key.get_secret_value()
    return VoucherCodes(str(secret))


def upgrade() -> None:
    op.add_column(TABLE, sa.Column("code_hash", sa.LargeBinary(), nullable=True))
    op.add_column(TABLE, sa.Column("code_sealed", sa.LargeBinary(), nullable=True))
    bind = op.get_bind()
    stored = bind.execute(sa.text("SELECT id, code FROM redemption_voucher ORDER BY id")).all()
    if stored:
        codes = _codes()
        kept = [dict(zip(("code_hash", "code_sealed"), codes.keep(row.code), strict=True), id=row.id) for row in stored]
        bind.execute(
            sa.text("UPDATE redemption_voucher SET code_hash = :code_hash, code_sealed = :code_sealed WHERE id = :id"),
            kept,
        )
    op.alter_column(TABLE, "code_hash", nullable=False)
    op.alter_column(TABLE, "code_sealed", nullable=False)
    op.create_unique_constraint(op.f("uq_redemption_voucher_code_hash"), TABLE, ["code_hash"])
    op.drop_constraint(op.f("uq_redemption_voucher_code"), TABLE, type_="unique")
    op.drop_column(TABLE, "code")


def downgrade() -> None:
    op.add_column(TABLE, sa.Column("code", sa.Text(), nullable=True))
    bind = op.get_bind()
    stored = bind.execute(sa.text("SELECT id, code_hash, code_sealed FROM redemption_voucher ORDER BY id")).all()
    if stored:
        codes = _codes()
        plain = [{"id": row.id, "code": codes.open(row.code_sealed, row.code_hash)} for row in stored]
        bind.execute(sa.text("UPDATE redemption_voucher SET code = :code WHERE id = :id"), plain)
    op.alter_column(TABLE, "code", nullable=False)
    op.create_unique_constraint(op.f("uq_redemption_voucher_code"), TABLE, ["code"])
    op.drop_constraint(op.f("uq_redemption_voucher_code_hash"), TABLE, type_="unique")
    op.drop_column(TABLE, "code_sealed")
    op.drop_column(TABLE, "code_hash")
