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
from service.consent.models import ConsentEvent, Link, LinkCode
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
from service.webhooks.models import Attempt as WebhookAttempt
from service.webhooks.models import Delivery as WebhookDelivery
from service.webhooks.models import Endpoint as WebhookEndpoint
from service.webhooks.models import Event as WebhookEvent

__all__ = [
    "AccessRevocation",
    "AdminAction",
    "Behaviour",
    "BudgetSlot",
    "CapUsage",
    "Certificate",
    "Checkpoint",
    "Community",
    "ConsentEvent",
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
    "Link",
    "LinkCode",
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
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "leaderboard_tables",
    "rate_limit_bucket",
]
