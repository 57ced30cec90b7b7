"""The privacy domain's API shapes: the resident's data export, the retention schedule and its runs.

The export's parts are each domain's own read shapes, so a field means the same here as in the endpoint
that shows it one at a time (the mobile docs describe each, field by field)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from service.accounts.schemas import _RESIDENT_EXAMPLE, _SESSION_EXAMPLE, DeviceRead, ResidentRead, SessionRead
from service.consent.schemas import _LINK_EXAMPLE, LinkRead
from service.ingest.schemas import _BEHAVIOUR_EXAMPLE, BehaviourExportRead
from service.kit.schemas import Schema
from service.ledger.schemas import _ENTRY_EXAMPLE, AccountEntryRead, BalanceRead
from service.photos.schemas import PhotoRead
from service.redemption.schemas import _VOUCHER_EXAMPLE, VoucherRead

_DEVICE_EXAMPLE = {
    "device_id": "d7c0a0e2-6f1f-4f7e-9a51-3f0d6b1c2e44",
    "first_seen": "2026-11-23T08:15:00+08:00",
    "last_seen": "2026-11-24T07:42:10+08:00",
}
_PHOTO_EXAMPLE = {
    "photo_id": "0b6f3c1e-7d2a-4f8b-9e15-6a4c2d8b3f70",
    "sha256": "9f2c4e1a7b3d5f60812a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d",
    "content_type": "image/jpeg",
    "size_bytes": 482133,
    "width": 3024,
    "height": 4032,
    "created_at": "2026-12-06T01:20:00Z",
}
_SCHEDULE_EXAMPLE = {"evidence_days": 365, "device_days": 90, "refusal_days": 90, "session_days": 30, "photo_days": 180}
_COUNTS_EXAMPLE = {
    "deleted_accounts": 0,
    "behaviours_coarsened": 1204,
    "devices": 37,
    "evidence_refusals": 5,
    "flags_cleared": 2,
    "refresh_tokens": 410,
    "photos": 12,
    "photo_objects": 11,
}

_RUN_EXAMPLE = {
    "id": 812,
    "started_at": "2026-12-07T03:00:00Z",
    "finished_at": "2026-12-07T03:00:04Z",
    "schedule": _SCHEDULE_EXAMPLE,
    "counts": _COUNTS_EXAMPLE,
}


class RetentionScheduleRead(Schema):
    evidence_days: int = Field(
        description="Days a behaviour's evidence (site codes, photo reference) and exact start and end times are "
        "kept from when it was recorded; then the evidence goes and both times become the start of its local day. "
        "What a resolved fraud flag says is kept as long from its resolution.",
        examples=[365],
    )
    device_days: int = Field(description="Days a device is kept after the last sign-in from it.", examples=[90])
    refusal_days: int = Field(description="Days a refused piece of evidence is kept for the fraud scan.", examples=[90])
    session_days: int = Field(description="Days a sign-in's refresh tokens are kept after they expire.", examples=[30])
    photo_days: int = Field(description="Days a photo and its stored bytes are kept from upload.", examples=[180])


class ResidentExport(Schema):
    exported_at: datetime = Field(description="When this export was made.", examples=["2026-11-30T21:05:33+08:00"])
    profile: ResidentRead = Field(description="The resident's profile.", examples=[_RESIDENT_EXAMPLE])
    wechat_openid: str | None = Field(
        description="The WeChat openid the account is tied to; shown only to its owner.",
        examples=["FAKE-openid-for-docs-only"],
    )
    wechat_unionid: str | None = Field(
        description="The WeChat unionid, when WeChat gave one; shown only to its owner.", examples=[None]
    )
    sessions: list[SessionRead] = Field(description="Every sign-in of this account.", examples=[[_SESSION_EXAMPLE]])
    devices: list[DeviceRead] = Field(description="The devices signed in from.", examples=[[_DEVICE_EXAMPLE]])
    balance: BalanceRead = Field(
        description="The credit held now and ever credited.", examples=[{"balance_g": 12840, "credited_total_g": 15230}]
    )
    behaviours: list[BehaviourExportRead] = Field(
        description="Every behaviour recorded, most recent first, each with its calculation (factor version, "
        "quantity, exact grams, caps) as GET /v1/me/behaviours/{behaviour_id} shows it, and its evidence as kept.",
        examples=[[{**_BEHAVIOUR_EXAMPLE, "evidence": None}]],
    )
    vouchers: list[VoucherRead] = Field(description="Every voucher, newest first.", examples=[[_VOUCHER_EXAMPLE]])
    ledger_entries: list[AccountEntryRead] = Field(
        description="Every entry of the resident's credit account, newest first.", examples=[[_ENTRY_EXAMPLE]]
    )
    photos: list[PhotoRead] = Field(
        description="What is kept about each photo uploaded (not the picture itself).", examples=[[_PHOTO_EXAMPLE]]
    )
    links: list[LinkRead] = Field(
        description="Every account linked at a data partner, in force or revoked, with the consent behind it: "
        "the text's version, language and SHA-256, where and when it was agreed to, when the link came into "
        "force and when it ended.",
        examples=[[_LINK_EXAMPLE]],
    )
    retention: RetentionScheduleRead = Field(
        description="How long each kind of personal data is kept.", examples=[_SCHEDULE_EXAMPLE]
    )


class RetentionRunRead(Schema):
    id: int = Field(description="Run id.", examples=[812])
    started_at: datetime = Field(description="When the pass began.", examples=["2026-12-07T03:00:00Z"])
    finished_at: datetime = Field(description="When it had done all that was due.", examples=["2026-12-07T03:00:04Z"])
    schedule: RetentionScheduleRead = Field(description="The schedule it applied.", examples=[_SCHEDULE_EXAMPLE])
    counts: dict[str, int] = Field(
        description="Rows removed or coarsened, by kind: deleted_accounts (accounts marked deleted but not yet "
        "erased, erased by the pass), behaviours_coarsened, devices, evidence_refusals, flags_cleared, "
        "refresh_tokens, link_codes, photos, photo_objects (stored pictures deleted).",
        examples=[_COUNTS_EXAMPLE],
    )


class RetentionRunPage(Schema):
    items: list[RetentionRunRead] = Field(description="Newest first.", examples=[[_RUN_EXAMPLE]])
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last.", examples=["eyJwIjogODEyfQ"]
    )
