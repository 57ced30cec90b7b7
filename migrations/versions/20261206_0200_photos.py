"""Residents' photos.

Revision ID: 0022_photos
Revises: 0021_sites
Create Date: 2026-12-06 00:00:00
"""

from collections.abc import Sequence

revision: str = "0022_photos"
down_revision: str | None = "0021_sites"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
