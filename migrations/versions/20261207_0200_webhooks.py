"""Webhooks: partners' and enterprises' endpoints, the events emitted to them, the outbox of deliveries
and every attempt.

- webhooks_endpoint: one owner (a partner or an enterprise), the event types, the sealed secret and the
  one a rotation replaced, with when it stops signing;
- webhooks_event: the exact body every attempt sends and its webhook-id;
- webhooks_delivery: one per event and endpoint, pending until delivered or failed; the dispatcher's
  lease; due ones found through a partial index on next_attempt_at;
- webhooks_attempt: when, how long, and the status or the error.

Revision ID: 0034_webhooks
Revises: 0033_partner_links
Create Date: 2026-12-07 02:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0034_webhooks"
down_revision: str | None = "0033_partner_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ONE_OWNER = "(partner_id IS NULL) <> (enterprise_id IS NULL)"


def _owner_columns(table: str) -> list[Any]:
    return [
        sa.Column("partner_id", sa.BigInteger(), nullable=True),
        sa.Column("enterprise_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(_ONE_OWNER, name=op.f(f"ck_{table}_one_owner")),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["accounts_partner.id"], name=op.f(f"fk_{table}_partner_id_accounts_partner")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["accounts_enterprise.id"], name=op.f(f"fk_{table}_enterprise_id_accounts_enterprise")
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "webhooks_endpoint",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        *_owner_columns("webhooks_endpoint"),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("event_types", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("previous_secret_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("cardinality(event_types) > 0", name=op.f("ck_webhooks_endpoint_some_events")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks_endpoint")),
    )
    op.create_index("ix_webhooks_endpoint_partner_id_id", "webhooks_endpoint", ["partner_id", "id"])
    op.create_index("ix_webhooks_endpoint_enterprise_id_id", "webhooks_endpoint", ["enterprise_id", "id"])
    op.create_table(
        "webhooks_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("public_id", sa.Text(), nullable=False),
        *_owner_columns("webhooks_event"),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks_event")),
        sa.UniqueConstraint("public_id", name=op.f("uq_webhooks_event_public_id")),
    )
    op.create_table(
        "webhooks_delivery",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("endpoint_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("lease_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name=op.f("ck_webhooks_delivery_status")),
        sa.CheckConstraint(
            "(status = 'delivered') = (delivered_at IS NOT NULL)", name=op.f("ck_webhooks_delivery_delivered")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_webhooks_delivery_attempts")),
        sa.ForeignKeyConstraint(
            ["event_id"], ["webhooks_event.id"], name=op.f("fk_webhooks_delivery_event_id_webhooks_event")
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhooks_endpoint.id"],
            name=op.f("fk_webhooks_delivery_endpoint_id_webhooks_endpoint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks_delivery")),
        sa.UniqueConstraint("event_id", "endpoint_id", name=op.f("uq_webhooks_delivery_event_id_endpoint_id")),
    )
    op.create_index(
        "ix_webhooks_delivery_due",
        "webhooks_delivery",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_webhooks_delivery_endpoint_id_id", "webhooks_delivery", ["endpoint_id", "id"])
    op.create_table(
        "webhooks_attempt",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.CheckConstraint("(status_code IS NULL) <> (error IS NULL)", name=op.f("ck_webhooks_attempt_outcome")),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhooks_delivery.id"],
            name=op.f("fk_webhooks_attempt_delivery_id_webhooks_delivery"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks_attempt")),
    )
    op.create_index("ix_webhooks_attempt_delivery_id_id", "webhooks_attempt", ["delivery_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhooks_attempt_delivery_id_id", table_name="webhooks_attempt")
    op.drop_table("webhooks_attempt")
    op.drop_index("ix_webhooks_delivery_endpoint_id_id", table_name="webhooks_delivery")
    op.drop_index("ix_webhooks_delivery_due", table_name="webhooks_delivery")
    op.drop_table("webhooks_delivery")
    op.drop_table("webhooks_event")
    op.drop_index("ix_webhooks_endpoint_enterprise_id_id", table_name="webhooks_endpoint")
    op.drop_index("ix_webhooks_endpoint_partner_id_id", table_name="webhooks_endpoint")
    op.drop_table("webhooks_endpoint")
