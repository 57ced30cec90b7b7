"""Every table, imported in one place so that Alembic sees the whole schema."""

from service.accounts.models import (
    AccessRevocation,
    AdminAction,
    Community,
    Device,
    Enterprise,
    Organisation,
    Partner,
    PartnerKey,
    PartnerSignatureSeen,
    RefreshToken,
    Resident,
    StaffSession,
    StaffSignin,
    User,
    UserRecoveryCode,
    UserSigninAddress,
    UserTotp,
)
from service.audit.models import Checkpoint, SealLeaf, SealNode, SealState
from service.factors.models import FactorDraft, FactorVersion
from service.ingest.models import (
    Behaviour,
    BudgetSlot,
    CapUsage,
    EvidenceClaim,
    EvidenceRefusal,
    Flag,
    FlagState,
)
from service.kit.ratelimit import rate_limit_bucket
from service.leaderboard import tables as leaderboard_tables
from service.ledger.models import ExpiryState, LedgerAccount, LedgerEntry, LedgerTransfer, LotMove
from service.photos.models import Photo, RewardImage
from service.privacy.models import RetentionRun, RetentionState
from service.redemption.models import Certificate, Reward, Voucher
from service.sites.models import RegistryVersion, Site, SiteKey

__all__ = [
    "AccessRevocation",
    "AdminAction",
    "Behaviour",
    "BudgetSlot",
    "CapUsage",
    "Certificate",
    "Checkpoint",
    "Community",
    "Device",
    "Enterprise",
    "EvidenceClaim",
    "EvidenceRefusal",
    "ExpiryState",
    "FactorDraft",
    "FactorVersion",
    "Flag",
    "FlagState",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransfer",
    "LotMove",
    "Organisation",
    "Partner",
    "PartnerKey",
    "PartnerSignatureSeen",
    "Photo",
    "RefreshToken",
    "RegistryVersion",
    "Resident",
    "RetentionRun",
    "RetentionState",
    "Reward",
    "RewardImage",
    "SealLeaf",
    "SealNode",
    "SealState",
    "Site",
    "SiteKey",
    "StaffSession",
    "StaffSignin",
    "User",
    "UserRecoveryCode",
    "UserSigninAddress",
    "UserTotp",
    "Voucher",
    "leaderboard_tables",
    "rate_limit_bucket",
]
