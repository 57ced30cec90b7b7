"""Residents' photos.

One row per upload; the bytes themselves are kept outside the database, once per content, under their
SHA-256 (service/photos/storage.py), which is why the hash is indexed but not unique.

Revision ID: 0022_photos
Revises: 0021_sites
Create Date: 2026-12-06 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0022_photos"
down_revision: str | None = "0021_sites"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "photos_photo",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "public_id", postgresql.UUID(as_uuid=True), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column("resident_id", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.LargeBinary(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "content_type IN ('image/jpeg', 'image/png', 'image/webp')", name=op.f("ck_photos_photo_content_type")
        ),
        sa.CheckConstraint("octet_length(sha256) = 32", name=op.f("ck_photos_photo_sha256_length")),
        sa.CheckConstraint("size_bytes > 0 AND width > 0 AND height > 0", name=op.f("ck_photos_photo_positive_sizes")),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["accounts_resident.id"], name=op.f("fk_photos_photo_resident_id_accounts_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photos_photo")),
        sa.UniqueConstraint("public_id", name=op.f("uq_photos_photo_public_id")),
    )
    op.create_index("ix_photos_photo_resident_id", "photos_photo", ["resident_id"])
    op.create_index("ix_photos_photo_sha256", "photos_photo", ["sha256"])
    op.create_index("ix_photos_photo_created_at", "photos_photo", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_photos_photo_created_at", table_name="photos_photo")
    op.drop_index("ix_photos_photo_sha256", table_name="photos_photo")
    op.drop_index("ix_photos_photo_resident_id", table_name="photos_photo")
    op.drop_table("photos_photo")
