"""Every table, imported in one place so that Alembic sees the whole schema."""

from service.accounts.models import (
    Community,
    Enterprise,
    Organisation,
    Partner,
    PartnerKey,
    PartnerSignatureSeen,
    RefreshToken,
    Resident,
    User,
)
from service.factors.models import FactorVersion
from service.ingest.models import Behaviour, BudgetSlot, CapUsage
from service.kit.ratelimit import rate_limit_bucket
from service.leaderboard import tables as leaderboard_tables
from service.ledger.models import LedgerAccount, LedgerEntry, LedgerTransfer

__all__ = [
    "Behaviour",
    "BudgetSlot",
    "CapUsage",
    "Community",
    "Enterprise",
    "FactorVersion",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransfer",
    "Organisation",
    "Partner",
    "PartnerKey",
    "PartnerSignatureSeen",
    "RefreshToken",
    "Resident",
    "User",
    "leaderboard_tables",
    "rate_limit_bucket",
]
