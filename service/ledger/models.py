from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, Index, Integer, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base

# Issuance is spread over slot accounts so that no single row is touched by every credit.
ISSUANCE_SLOTS = 16
SYSTEM_ACCOUNTS = (*(f"issuance:{i}" for i in range(ISSUANCE_SLOTS)), "redeemed", "retired", "expired")


class LedgerAccount(Base):
    """Resident and enterprise accounts keep a balance, updated in the same transaction as their entries;
    system accounts (issuance slots, redeemed, retired, expired) keep none: theirs is the sum of entries."""

    __tablename__ = "ledger_account"
    __table_args__ = (
        CheckConstraint("kind IN ('resident', 'enterprise', 'system')", name="kind"),
        CheckConstraint(
            "(kind = 'resident') = (resident_id IS NOT NULL) AND (kind = 'enterprise') = (enterprise_id IS NOT NULL)"
            " AND (kind = 'system') = (code IS NOT NULL)",
            name="one_owner",
        ),
        CheckConstraint("kind = 'system' OR balance >= 0", name="never_negative"),
        CheckConstraint("kind <> 'system' OR balance = 0", name="system_balance_derived"),
        # every credit updates its account's balance: room on each page keeps those updates HOT
        {"postgresql_with": {"fillfactor": 80}},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("accounts_resident.id"), unique=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("accounts_enterprise.id"), unique=True)
    code: Mapped[str | None] = mapped_column(Text, unique=True)
    balance: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# No foreign keys to ledger_account or factor_version from transfers and entries: a foreign-key check
# locks the parent row FOR KEY SHARE, and an issuance slot or a factor version that every credit refers
# to would become the very hot row the design removes. The recording function writes only ids it has
# just read under lock, and the migration creates no path that writes others.


class LedgerTransfer(Base):
    """A positive amount moved from one account to another. Append-only."""

    __tablename__ = "ledger_transfer"
    __table_args__ = (
        CheckConstraint("amount > 0", name="positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
        CheckConstraint(
            "kind IN ('issuance', 'reversal', 'redemption', 'refund', 'retirement', 'expiry', 'transfer')",
            name="kind",
        ),
        CheckConstraint(
            "kind <> 'issuance' OR (behaviour_id IS NOT NULL AND factor_version_id IS NOT NULL)",
            name="issuance_traceable",
        ),
        CheckConstraint(
            "kind <> 'reversal' OR (reverses_transfer_id IS NOT NULL AND reason IS NOT NULL)", name="reversal_linked"
        ),
        Index("ix_ledger_transfer_behaviour_id", "behaviour_id"),
        # a month of transfers for the monthly report: created_at follows the order rows are written in
        Index("ix_ledger_transfer_created_at", "created_at", postgresql_using="brin"),
        # Only reversals and refunds name one: only their rows are indexed.
        Index(
            "uq_ledger_transfer_reverses_transfer_id",
            "reverses_transfer_id",
            unique=True,
            postgresql_where=text("reverses_transfer_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    debit_account_id: Mapped[int] = mapped_column(BigInteger)
    credit_account_id: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    behaviour_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_behaviour.id"))
    factor_version_id: Mapped[int | None] = mapped_column(BigInteger)
    reverses_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfer.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LedgerEntry(Base):
    """One side of a transfer: the signed amount on one account. Append-only."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="nonzero"),
        Index("ix_ledger_entry_account_id_id", "account_id", "id"),
        Index("ix_ledger_entry_transfer_id", "transfer_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("ledger_transfer.id"))
    account_id: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LotMove(Base):
    """Grams of one issuance lot moved by a transfer after issuance (redemption, refund, retirement,
    expiry, reversal). An account's holding of a lot is the lot's amount if it was issued to the account,
    plus the grams moved in, less the grams moved out; a trigger refuses a move that would overdraw it.
    Append-only."""

    __tablename__ = "ledger_lot_move"
    __table_args__ = (
        CheckConstraint("grams > 0", name="positive"),
        CheckConstraint("from_account_id <> to_account_id", name="two_accounts"),
        Index("ix_ledger_lot_move_lot_id", "lot_id"),
        Index("ix_ledger_lot_move_transfer_id", "transfer_id"),
        Index("ix_ledger_lot_move_from_account_id_lot_id", "from_account_id", "lot_id"),
        Index("ix_ledger_lot_move_to_account_id_lot_id", "to_account_id", "lot_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("ledger_transfer.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("ledger_transfer.id"))
    from_account_id: Mapped[int] = mapped_column(BigInteger)
    to_account_id: Mapped[int] = mapped_column(BigInteger)
    grams: Mapped[int] = mapped_column(BigInteger)


class ExpiryState(Base):
    """How far the expiry job has looked: issuance lots and lot moves up to these ids."""

    __tablename__ = "ledger_expiry_state"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_through: Mapped[int] = mapped_column(BigInteger)
    move_through: Mapped[int] = mapped_column(BigInteger)
    ran_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
