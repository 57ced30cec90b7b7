"""Accounts: residents, communities, organisations, enterprise and admin users, partners, tokens.

Seeds Jinnan's towns and streets, the Haihe Education Park and the National Convention and Exhibition
Center area as communities, and two university campuses as organisations.

Revision ID: 0001_accounts
Revises:
Create Date: 2026-11-23 20:37:44
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_accounts"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts_community",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name_zh", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('town', 'street', 'area')", name=op.f("ck_accounts_community_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts_community")),
        sa.UniqueConstraint("code", name=op.f("uq_accounts_community_code")),
    )
    op.create_table(
        "accounts_enterprise",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'suspended')",
            name=op.f("ck_accounts_enterprise_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts_enterprise")),
        sa.UniqueConstraint("name", name=op.f("uq_accounts_enterprise_name")),
    )
    op.create_table(
        "accounts_partner",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("code ~ '^[a-z0-9][a-z0-9_-]{1,31}$'", name=op.f("ck_accounts_partner_code_format")),
        sa.CheckConstraint(
            "kind IN ('transit_card', 'hydrogen_bus', 'bike_share', 'recycling_station', 'exhibition_gate')",
            name=op.f("ck_accounts_partner_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts_partner")),
        sa.UniqueConstraint("code", name=op.f("uq_accounts_partner_code")),
    )
    op.create_table(
        "accounts_refresh_token",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("family_id", sa.UUID(), nullable=False),
        sa.Column("subject_kind", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("subject_kind IN ('resident', 'user')", name=op.f("ck_accounts_refresh_token_subject_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts_refresh_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_accounts_refresh_token_token_hash")),
    )
    op.create_index("ix_accounts_refresh_token_family_id", "accounts_refresh_token", ["family_id"], unique=False)
    op.create_index(
        "ix_accounts_refresh_token_subject",
        "accounts_refresh_token",
        ["subject_kind", "subject_id"],
        unique=False,
    )
    op.create_table(
        "kit_rate_limit_bucket",
        sa.Column("bucket_key", sa.Text(), nullable=False),
        sa.Column("tat", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bucket_key", name=op.f("pk_kit_rate_limit_bucket")),
        prefixes=["UNLOGGED"],
    )
    op.create_table(
        "accounts_organisation",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name_zh", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("community_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('school', 'enterprise', 'public_institution')",
            name=op.f("ck_accounts_organisation_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["accounts_community.id"],
            name=op.f("fk_accounts_organisation_community_id_accounts_community"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts_organisation")),
        sa.UniqueConstraint("code", name=op.f("uq_accounts_organisation_code")),
    )
    op.create_table(
        "accounts_partner_key",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("partner_id", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["accounts_partner.id"],
            name=op.f("fk_accounts_partner_key_partner_id_accounts_partner"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts_partner_key")),
        sa.UniqueConstraint("key_id", name=op.f("uq_accounts_partner_key_key_id")),
    )
    op.create_index(op.f("ix_accounts_partner_key_partner_id"), "accounts_partner_key", ["partner_id"], unique=False)
    op.create_table(
        "accounts_user",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("enterprise_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(role = 'enterprise') = (enterprise_id IS NOT NULL)",
            name=op.f("ck_accounts_user_enterprise_user_has_enterprise"),
        ),
        sa.CheckConstraint(
            "role IN ('enterprise', 'admin-auditor', 'admin-operator', 'admin-super')",
            name=op.f("ck_accounts_user_role"),
        ),
        sa.CheckConstraint("username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'", name=op.f("ck_accounts_user_username_format")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["accounts_enterprise.id"],
            name=op.f("fk_accounts_user_enterprise_id_accounts_enterprise"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts_user")),
        sa.UniqueConstraint("username", name=op.f("uq_accounts_user_username")),
    )
    op.create_table(
        "accounts_partner_signature_seen",
        sa.Column("partner_key_id", sa.BigInteger(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_key_id"],
            ["accounts_partner_key.id"],
            name=op.f("fk_accounts_partner_signature_seen_partner_key_id_accounts_partner_key"),
        ),
        sa.PrimaryKeyConstraint("partner_key_id", "signature", name=op.f("pk_accounts_partner_signature_seen")),
    )
    op.create_index(
        "ix_accounts_partner_signature_seen_seen_at",
        "accounts_partner_signature_seen",
        ["seen_at"],
        unique=False,
    )
    op.create_table(
        "accounts_resident",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("public_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("pseudonym", sa.Text(), nullable=False),
        sa.Column("openid", sa.Text(), nullable=True),
        sa.Column("unionid", sa.Text(), nullable=True),
        sa.Column("nickname", sa.Text(), nullable=True),
        sa.Column("community_id", sa.BigInteger(), nullable=True),
        sa.Column("organisation_id", sa.BigInteger(), nullable=True),
        sa.Column("leaderboard_visible", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("char_length(nickname) BETWEEN 1 AND 32", name=op.f("ck_accounts_resident_nickname_length")),
        sa.CheckConstraint(
            "deleted_at IS NULL OR (openid IS NULL AND unionid IS NULL AND nickname IS NULL)",
            name=op.f("ck_accounts_resident_deleted_has_no_personal_data"),
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["accounts_community.id"],
            name=op.f("fk_accounts_resident_community_id_accounts_community"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["accounts_organisation.id"],
            name=op.f("fk_accounts_resident_organisation_id_accounts_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts_resident")),
        sa.UniqueConstraint("openid", name=op.f("uq_accounts_resident_openid")),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_accounts_resident_pseudonym")),
        sa.UniqueConstraint("public_id", name=op.f("uq_accounts_resident_public_id")),
    )
    _seed()


COMMUNITIES = [
    ("xianshuigu", "咸水沽镇", "Xianshuigu Town", "town"),
    ("gegu", "葛沽镇", "Gegu Town", "town"),
    ("xiaozhan", "小站镇", "Xiaozhan Town", "town"),
    ("shuanggang", "双港镇", "Shuanggang Town", "town"),
    ("xinzhuang", "辛庄镇", "Xinzhuang Town", "town"),
    ("shuangqiaohe", "双桥河镇", "Shuangqiaohe Town", "town"),
    ("balitai", "八里台镇", "Balitai Town", "town"),
    ("beizhakou", "北闸口镇", "Beizhakou Town", "town"),
    ("shuangxin", "双新街道", "Shuangxin Street", "street"),
    ("shuanglin", "双林街道", "Shuanglin Street", "street"),
    ("haihe-education-park", "海河教育园区", "Haihe Education Park", "area"),
    (
        "necc-area",
        "国家会展中心（天津）片区",
        "National Convention and Exhibition Center (Tianjin) Area",
        "area",
    ),
]

ORGANISATIONS = [
    (
        "nankai-jinnan",
        "南开大学津南校区",
        "Nankai University, Jinnan Campus",
        "school",
        "haihe-education-park",
    ),
    (
        "tju-peiyang-park",
        "天津大学北洋园校区",
        "Tianjin University, Peiyang Park Campus",
        "school",
        "haihe-education-park",
    ),
    (
        "necc-tianjin",
        "国家会展中心（天津）",
        "National Convention and Exhibition Center (Tianjin)",
        "enterprise",
        "necc-area",
    ),
]


def _seed() -> None:
    community = sa.table(
        "accounts_community", sa.column("code"), sa.column("name_zh"), sa.column("name_en"), sa.column("kind")
    )
    op.bulk_insert(
        community,
        [dict(zip(("code", "name_zh", "name_en", "kind"), row, strict=True)) for row in COMMUNITIES],
    )
    for code, name_zh, name_en, kind, community_code in ORGANISATIONS:
        op.execute(
            sa.text(
                "INSERT INTO accounts_organisation (code, name_zh, name_en, kind, community_id) "
                "SELECT :code, :name_zh, :name_en, :kind, id FROM accounts_community WHERE code = :community"
            ).bindparams(code=code, name_zh=name_zh, name_en=name_en, kind=kind, community=community_code)
        )


def downgrade() -> None:
    op.drop_table("accounts_resident")
    op.drop_index("ix_accounts_partner_signature_seen_seen_at", table_name="accounts_partner_signature_seen")
    op.drop_table("accounts_partner_signature_seen")
    op.drop_table("accounts_user")
    op.drop_index(op.f("ix_accounts_partner_key_partner_id"), table_name="accounts_partner_key")
    op.drop_table("accounts_partner_key")
    op.drop_table("accounts_organisation")
    op.drop_table("kit_rate_limit_bucket")
    op.drop_index("ix_accounts_refresh_token_subject", table_name="accounts_refresh_token")
    op.drop_index("ix_accounts_refresh_token_family_id", table_name="accounts_refresh_token")
    op.drop_table("accounts_refresh_token")
    op.drop_table("accounts_partner")
    op.drop_table("accounts_enterprise")
    op.drop_table("accounts_community")
