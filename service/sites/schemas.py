"""The registry's API shapes: registering and changing sites, their keys, and the private key shown once."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, WithJsonSchema

from service.factors.model import SiteKind
from service.kit.schemas import ID_MAX, InputSchema, Schema, json_number, refuse_null
from service.sites import keypairs
from service.sites.models import MAX_KEY_NUMBER, MAX_WINDOW_MINUTES, UINT32_MAX


def _public_key(text: str) -> str:
    keypairs.decode(text)
    return text


PublicKeyText = Annotated[str, AfterValidator(_public_key)]

# The pair of the test vector in mobile_api_docs/*/site-codes.md (seed 0x00..0x1f): published, no site's key.
_PUBLIC_KEY = "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"
_PRIVATE_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
_KEY_EXAMPLE: dict[str, Any] = {
    "key_number": 1,
    "public_key": _PUBLIC_KEY,
    "created_at": "2026-12-01T09:30:00Z",
    "retired_at": None,
    "revoked_at": None,
    "revoke_reason": None,
}
_SITE_EXAMPLE: dict[str, Any] = {
    "id": 1042,
    "code": "necc-hall-n1",
    "name_zh": "国家会展中心（天津）N1 馆入口",
    "name_en": "NECC (Tianjin) Hall N1 entrance",
    "kind": "venue_gate",
    "latitude": 38.953211,
    "longitude": 117.417062,
    "owner_partner_id": None,
    "valid_from": "2026-12-01T00:00:00Z",
    "valid_to": None,
    "window_minutes": 1,
    "created_at": "2026-12-01T09:30:00Z",
    "updated_at": "2026-12-01T09:30:00Z",
}
_DETAIL_EXAMPLE: dict[str, Any] = {**_SITE_EXAMPLE, "keys": [_KEY_EXAMPLE]}

_CODE = Field(
    pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$",
    description="The operator's readable code: lower case letters, digits, `-` and `_`, unique.",
    examples=["necc-hall-n1"],
)
_LATITUDE_DESCRIPTION = "WGS-84 latitude in degrees, −90 to 90, up to six decimal places."
_LONGITUDE_DESCRIPTION = "WGS-84 longitude in degrees, −180 to 180, up to six decimal places."
_OWNER_DESCRIPTION = "The id of the data partner that runs the site (GET /v1/admin/partners); null: the platform."
_VALID_FROM_DESCRIPTION = "From when the site's codes count."
_VALID_TO_DESCRIPTION = "Until when they count; null: open-ended."
_WINDOW_DESCRIPTION = f"How long each code the site shows is valid, in minutes, 1–{MAX_WINDOW_MINUTES}."
_PUBLIC_KEY_DESCRIPTION = (
    "The site's own Ed25519 public key, 32 bytes in base64url, when the site made its key pair itself; "
    "omit it and the service makes the pair and answers the private key once."
)

Latitude = Annotated[
    Decimal,
    BeforeValidator(json_number),
    Field(ge=-90, le=90, decimal_places=6),
    WithJsonSchema({"type": "number", "minimum": -90, "maximum": 90}),
]
Longitude = Annotated[
    Decimal,
    BeforeValidator(json_number),
    Field(ge=-180, le=180, decimal_places=6),
    WithJsonSchema({"type": "number", "minimum": -180, "maximum": 180}),
]
WindowMinutes = Annotated[int, Field(ge=1, le=MAX_WINDOW_MINUTES)]
PartnerId = Annotated[int, Field(ge=1, le=ID_MAX)]


class SiteCreate(InputSchema):
    code: str = _CODE
    name_zh: str = Field(
        min_length=1, max_length=100, description="Name in Chinese.", examples=[_SITE_EXAMPLE["name_zh"]]
    )
    name_en: str = Field(
        min_length=1, max_length=100, description="Name in English.", examples=[_SITE_EXAMPLE["name_en"]]
    )
    kind: SiteKind = Field(description="What the site is.", examples=["venue_gate"])
    latitude: Latitude = Field(description=_LATITUDE_DESCRIPTION, examples=[38.953211])
    longitude: Longitude = Field(description=_LONGITUDE_DESCRIPTION, examples=[117.417062])
    owner_partner_id: PartnerId | None = Field(default=None, description=_OWNER_DESCRIPTION, examples=[None, 3])
    valid_from: AwareDatetime = Field(description=_VALID_FROM_DESCRIPTION, examples=["2026-12-01T08:00:00+08:00"])
    valid_to: AwareDatetime | None = Field(default=None, description=_VALID_TO_DESCRIPTION, examples=[None])
    window_minutes: WindowMinutes = Field(default=1, description=_WINDOW_DESCRIPTION, examples=[1])
    public_key: PublicKeyText | None = Field(default=None, description=_PUBLIC_KEY_DESCRIPTION, examples=[None])


class SiteUpdate(InputSchema):
    """What a site's record may change; a field left out stays as it is. Kind and position never change:
    a site that moves or becomes something else is a new site (end this one's validity)."""

    name_zh: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Name in Chinese.",
        examples=["国家会展中心（天津）N1 馆东入口"],
    )
    name_en: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Name in English.",
        examples=["NECC (Tianjin) Hall N1 east entrance"],
    )
    owner_partner_id: PartnerId | None = Field(default=None, description=_OWNER_DESCRIPTION, examples=[3])
    valid_from: AwareDatetime | None = Field(
        default=None, description=_VALID_FROM_DESCRIPTION, examples=["2026-12-01T08:00:00+08:00"]
    )
    valid_to: AwareDatetime | None = Field(
        default=None, description=_VALID_TO_DESCRIPTION, examples=["2027-06-30T00:00:00+08:00"]
    )
    window_minutes: WindowMinutes | None = Field(default=None, description=_WINDOW_DESCRIPTION, examples=[2])

    # null means something only for the owner (the platform) and valid_to (no end)
    _not_null = refuse_null("name_zh", "name_en", "valid_from", "window_minutes")


class SiteKeyCreate(InputSchema):
    public_key: PublicKeyText | None = Field(default=None, description=_PUBLIC_KEY_DESCRIPTION, examples=[None])


class SiteKeyRevoke(InputSchema):
    reason: str = Field(
        min_length=1, max_length=500, description="Why, for the audit log.", examples=["kiosk stolen from the hall"]
    )


class SiteKeyRead(Schema):
    key_number: int = Field(
        description=f"The key's number at its site, 1–{MAX_KEY_NUMBER}, in issue order.", examples=[1]
    )
    public_key: str = Field(description="The Ed25519 public key, 32 bytes in base64url.", examples=[_PUBLIC_KEY])
    created_at: datetime = Field(description="When it was issued.", examples=["2026-12-01T09:30:00Z"])
    retired_at: datetime | None = Field(
        description="When the next key replaced it: codes whose window starts later are refused.", examples=[None]
    )
    revoked_at: datetime | None = Field(description="When it was revoked: all its codes are refused.", examples=[None])
    revoke_reason: str | None = Field(description="Why it was revoked.", examples=[None])


class SiteRead(Schema):
    id: int = Field(description=f"The site's id, 1–{UINT32_MAX}: what its codes carry.", examples=[1042])
    code: str = Field(description="The operator's readable code.", examples=[_SITE_EXAMPLE["code"]])
    name_zh: str = Field(description="Name in Chinese.", examples=[_SITE_EXAMPLE["name_zh"]])
    name_en: str = Field(description="Name in English.", examples=[_SITE_EXAMPLE["name_en"]])
    kind: SiteKind = Field(description="What the site is.", examples=["venue_gate"])
    latitude: float = Field(description="WGS-84 latitude in degrees.", examples=[38.953211])
    longitude: float = Field(description="WGS-84 longitude in degrees.", examples=[117.417062])
    owner_partner_id: int | None = Field(
        description="The data partner that runs it; null: the platform.", examples=[None]
    )
    valid_from: datetime = Field(description=_VALID_FROM_DESCRIPTION, examples=["2026-12-01T00:00:00Z"])
    valid_to: datetime | None = Field(description=_VALID_TO_DESCRIPTION, examples=[None])
    window_minutes: int = Field(description=_WINDOW_DESCRIPTION, examples=[1])
    created_at: datetime = Field(description="When it was registered.", examples=["2026-12-01T09:30:00Z"])
    updated_at: datetime = Field(description="When its record last changed.", examples=["2026-12-01T09:30:00Z"])


class SiteDetail(SiteRead):
    keys: list[SiteKeyRead] = Field(description="Every key it was issued, by number.", examples=[[_KEY_EXAMPLE]])


class SitePage(Schema):
    items: list[SiteRead] = Field(description="By id.", examples=[[_SITE_EXAMPLE]])
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last.", examples=["eyJwIjogMTA0Mn0", None]
    )


class SiteKeyIssued(Schema):
    site: SiteDetail = Field(description="The site, with every key.", examples=[_DETAIL_EXAMPLE])
    key_number: int = Field(description="The number of the key just issued.", examples=[1])
    private_key: str | None = Field(
        description=(
            "The new key's private seed, 32 bytes in base64url, shown only in this reply and never stored: load "
            "it into the site's signer now. Null when the request brought its own public key."
        ),
        examples=[_PRIVATE_KEY],
    )
