"""Rewards' pictures uploaded by enterprises.

`photos_reward_image` holds one row per upload; the bytes go to the photo store, once per content, under
their SHA-256 (service/photos/storage.py), which is why the hash is indexed but not unique. A reward names
either an uploaded picture (`image_id`) or an https address (`image_url`), never both. An enterprise lists
its vouchers newest first, by the index on (enterprise_id, id).

Revision ID: 0031_enterprise_console
Revises: 0030_admin_reads
Create Date: 2026-12-06 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0031_enterprise_console"
down_revision: str | None = "0030_admin_reads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "photos_reward_image",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "public_id", postgresql.UUID(as_uuid=True), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column("enterprise_id", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.LargeBinary(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "content_type IN ('image/jpeg', 'image/png', 'image/webp')",
            name=op.f("ck_photos_reward_image_content_type"),
        ),
        sa.CheckConstraint("octet_length(sha256) = 32", name=op.f("ck_photos_reward_image_sha256_length")),
        sa.CheckConstraint(
            "size_bytes > 0 AND width > 0 AND height > 0", name=op.f("ck_photos_reward_image_positive_sizes")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["accounts_enterprise.id"],
            name=op.f("fk_photos_reward_image_enterprise_id_accounts_enterprise"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photos_reward_image")),
        sa.UniqueConstraint("public_id", name=op.f("uq_photos_reward_image_public_id")),
    )
    op.create_index("ix_photos_reward_image_enterprise_id", "photos_reward_image", ["enterprise_id"])
    op.create_index("ix_photos_reward_image_sha256", "photos_reward_image", ["sha256"])
    op.add_column("redemption_reward", sa.Column("image_id", postgresql.UUID(as_uuid=True), nullable=True))
    op.create_foreign_key(
        op.f("fk_redemption_reward_image_id_photos_reward_image"),
        "redemption_reward",
        "photos_reward_image",
        ["image_id"],
        ["public_id"],
    )
    op.create_check_constraint(
        op.f("ck_redemption_reward_one_image"), "redemption_reward", "image_id IS NULL OR image_url IS NULL"
    )
    op.create_index("ix_redemption_voucher_enterprise_id_id", "redemption_voucher", ["enterprise_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_redemption_voucher_enterprise_id_id", table_name="redemption_voucher")
    op.drop_constraint(op.f("ck_redemption_reward_one_image"), "redemption_reward", type_="check")
    op.drop_constraint(
        op.f("fk_redemption_reward_image_id_photos_reward_image"), "redemption_reward", type_="foreignkey"
    )
    op.drop_column("redemption_reward", "image_id")
    op.drop_index("ix_photos_reward_image_sha256", table_name="photos_reward_image")
    op.drop_index("ix_photos_reward_image_enterprise_id", table_name="photos_reward_image")
    op.drop_table("photos_reward_image")
