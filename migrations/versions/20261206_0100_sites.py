"""Registered sites and their signing keys.

Revision ID: 0021_sites
Revises: 0020_sql_functions_read_whole
Create Date: 2026-12-06 00:00:00
"""

from collections.abc import Sequence

revision: str = "0021_sites"
down_revision: str | None = "0020_sql_functions_read_whole"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
