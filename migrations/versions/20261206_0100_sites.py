"""Registered sites and their signing keys.

- sites_site: stations, stops, docks, recycling stations and venue gates that show a signed, rotating
  code; the id is what the code carries, so it stays within uint32;
- sites_site_key: each site's Ed25519 public keys, numbered per site (one byte); at most one active key
  per site (a partial unique index), a retired key keeps its earlier codes, a revoked one keeps none;
- sites_registry: one row whose version every write to either table bumps (statement triggers calling
  sites_registry_changed(), from the frozen copy in upgrade/), so that each process's cache polls one row.

Revision ID: 0021_sites
Revises: 0020_sql_functions_read_whole
Create Date: 2026-12-06 00:00:00
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

from service.db import execute_script

revision: str = "0021_sites"
down_revision: str | None = "0020_sql_functions_read_whole"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HERE = Path(__file__).with_suffix("")

TRIGGERS = """
INSERT INTO sites_registry (id, version) VALUES (1, 0);
CREATE TRIGGER sites_site_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sites_site
    FOR EACH STATEMENT EXECUTE FUNCTION sites_registry_changed();
CREATE TRIGGER sites_site_key_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sites_site_key
    FOR EACH STATEMENT EXECUTE FUNCTION sites_registry_changed();
"""


def upgrade() -> None:
    op.create_table(
        "sites_site",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name_zh", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("latitude", sa.Numeric(9, 6), nullable=False),
        sa.Column("longitude", sa.Numeric(9, 6), nullable=False),
        sa.Column("owner_partner_id", sa.BigInteger(), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_minutes", sa.SmallInteger(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("id BETWEEN 1 AND 4294967295", name=op.f("ck_sites_site_id_fits_uint32")),
        sa.CheckConstraint("code ~ '^[a-z0-9][a-z0-9_-]{1,63}$'", name=op.f("ck_sites_site_code_format")),
        sa.CheckConstraint("char_length(name_zh) BETWEEN 1 AND 100", name=op.f("ck_sites_site_name_zh_length")),
        sa.CheckConstraint("char_length(name_en) BETWEEN 1 AND 100", name=op.f("ck_sites_site_name_en_length")),
        sa.CheckConstraint(
            "kind IN ('metro_station', 'bus_stop', 'hydrogen_bus_stop', 'bike_dock', 'recycling_station', 'venue_gate')",
            name=op.f("ck_sites_site_kind"),
        ),
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name=op.f("ck_sites_site_latitude_range")),
        sa.CheckConstraint("longitude BETWEEN -180 AND 180", name=op.f("ck_sites_site_longitude_range")),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name=op.f("ck_sites_site_validity")),
        sa.CheckConstraint("window_minutes BETWEEN 1 AND 10", name=op.f("ck_sites_site_window_minutes")),
        sa.ForeignKeyConstraint(
            ["owner_partner_id"], ["accounts_partner.id"], name=op.f("fk_sites_site_owner_partner_id_accounts_partner")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites_site")),
        sa.UniqueConstraint("code", name=op.f("uq_sites_site_code")),
    )
    op.create_index("ix_sites_site_kind_id", "sites_site", ["kind", "id"])
    op.create_index("ix_sites_site_owner_id", "sites_site", ["owner_partner_id", "id"])
    op.create_table(
        "sites_site_key",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("site_id", sa.BigInteger(), nullable=False),
        sa.Column("key_number", sa.SmallInteger(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("key_number BETWEEN 1 AND 255", name=op.f("ck_sites_site_key_key_number_range")),
        sa.CheckConstraint("octet_length(public_key) = 32", name=op.f("ck_sites_site_key_public_key_length")),
        sa.CheckConstraint(
            "(revoked_at IS NULL) = (revoke_reason IS NULL)", name=op.f("ck_sites_site_key_revoked_with_reason")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites_site.id"], name=op.f("fk_sites_site_key_site_id_sites_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites_site_key")),
        sa.UniqueConstraint("site_id", "key_number", name=op.f("uq_sites_site_key_site_id_key_number")),
    )
    op.create_index(
        "ix_sites_site_key_one_active",
        "sites_site_key",
        ["site_id"],
        unique=True,
        postgresql_where=sa.text("retired_at IS NULL AND revoked_at IS NULL"),
    )
    op.create_table(
        "sites_registry",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_sites_registry_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites_registry")),
    )
    execute_script(op.get_bind(), (HERE / "upgrade" / "sites_registry_changed.sql").read_text(encoding="utf-8"))
    execute_script(op.get_bind(), TRIGGERS)


def downgrade() -> None:
    op.execute("DROP TRIGGER sites_site_key_changed ON sites_site_key")
    op.execute("DROP TRIGGER sites_site_changed ON sites_site")
    op.execute("DROP FUNCTION sites_registry_changed()")
    op.drop_table("sites_registry")
    op.drop_index("ix_sites_site_key_one_active", table_name="sites_site_key")
    op.drop_table("sites_site_key")
    op.drop_index("ix_sites_site_owner_id", table_name="sites_site")
    op.drop_index("ix_sites_site_kind_id", table_name="sites_site")
    op.drop_table("sites_site")
