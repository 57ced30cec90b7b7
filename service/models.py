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
from service.kit.ratelimit import rate_limit_bucket

__all__ = [
    "Community",
    "Enterprise",
    "Organisation",
    "Partner",
    "PartnerKey",
    "PartnerSignatureSeen",
    "RefreshToken",
    "Resident",
    "User",
    "rate_limit_bucket",
]
