"""The audit domain's API shapes: receipts and checkpoints, the verification report, the admin action log,
transfer search and its filter, and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from service.kit.schemas import Schema


class TransferKind(StrEnum):
    issuance = "issuance"
    reversal = "reversal"
    redemption = "redemption"
    refund = "refund"
    retirement = "retirement"
    expiry = "expiry"


class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


class DashboardUnit(StrEnum):
    day = "day"
    month = "month"


@dataclass(frozen=True, slots=True)
class TransferFilter:
    """Which transfers a search or an export covers; a field left None does not narrow it."""

    account_id: int | None = None
    kind: str | None = None
    behaviour_type: str | None = None
    factor_version_id: int | None = None
    partner_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    # transfers into or out of an account of one community's residents (service/accounts/scope.py)
    community_id: int | None = None


# A worked example that checks out with service/audit/receipt_verifier.py: entry 6 is leaf 5 of a log of
# six entries, signed with the key below, and the log of four entries before it is consistent with it.
# The key is made up for the documentation; the platform's own is at /v1/transparency/key.
_EXAMPLE_PUBLIC_KEY = "CM2FyMLYylluK3dOCRVOufLnqhyWz2KWsb7ATlckJvI="
_EXAMPLE_KEY_ID = "808e535370fafc5a"
_EXAMPLE_CHECKPOINT_4: dict[str, Any] = {
    "tree_size": 4,
    "root_hash": "tv4YNQxugapEOskJMPK1rMWV84Vhp4tP3a3PkihnbOA=",
    "signed_at": "2026-11-24T00:20:07.002518Z",
    "key_id": _EXAMPLE_KEY_ID,
    "signature": "vkpR/mRrTAkVk1h/SGXhAvROa0Nj9NeLRk0eK68++/FU+GXiZC/Pv7B4X14pBAOrGZGiTNqNy1T8j/adOraRCg==",
}
_EXAMPLE_CHECKPOINT_6: dict[str, Any] = {
    "tree_size": 6,
    "root_hash": "T5T5f/+Q1PiEf+999FmU2khn+mWUEMhoe1jTky9vYPA=",
    "signed_at": "2026-11-24T00:31:01.093377Z",
    "key_id": _EXAMPLE_KEY_ID,
    "signature": "XXA2ozut32CccZkCKZSQtVkM9ZtGAYHOxvoPVP+7wO6NhE8vMVGCyFBCrV1IzePbDNa9tNS1IJ3yVE4L9k3kAQ==",
}
_EXAMPLE_ENTRY: dict[str, Any] = {
    "id": 6,
    "transfer_id": 3,
    "account_id": 27,
    "amount_g": 1350,
    "kind": "issuance",
    "debit_account_id": 4,
    "credit_account_id": 27,
    "transfer_amount_g": 1350,
    "behaviour_id": 3,
    "factor_version_id": 1,
    "reverses_transfer_id": None,
    "created_at": "2026-11-24T00:30:59.482113Z",
}
_EXAMPLE_CHECK: dict[str, Any] = {
    "name": "sealed log",
    "ok": True,
    "checked": 120345,
    "problems": [],
    "more_problems": 0,
}
_EXAMPLE_ACTION: dict[str, Any] = {
    "id": 418,
    "at": "2026-11-24T02:15:37.408122Z",
    "actor": "user:3",
    "role": "admin-operator",
    "action": "transfer.reverse",
    "target": "transfer:1042",
    "reason": "重复上报的地铁出行",
    "details": {"reversal": 1187},
    "request_id": "9f1c2b7e4d5a4e0f8a3b6c1d2e7f9a0b",
}
_EXAMPLE_TRANSFER: dict[str, Any] = {
    "id": 1042,
    "created_at": "2026-11-24T01:02:44.918305Z",
    "kind": "issuance",
    "debit_account_id": 4,
    "credit_account_id": 27,
    "amount_g": 1350,
    "behaviour_id": 988,
    "behaviour_type": "metro_ride",
    "partner_id": 2,
    "factor_version_id": 1,
    "reverses_transfer_id": None,
    "reason": None,
    "actor": None,
}
_EXAMPLE_TOTALS: dict[str, Any] = {
    "credited_g": 48_210_350,
    "co2e_t": "48.210350",
    "behaviours": 35_412,
    "active_residents": 6_208,
    "registered_residents": 9_731,
}
_EXAMPLE_PERIOD: dict[str, Any] = {
    "period_start": "2026-11-01",
    "credited_g": 48_210_350,
    "co2e_t": "48.210350",
    "behaviours": 35_412,
    "active_residents": 6_208,
}
_EXAMPLE_BEHAVIOUR: dict[str, Any] = {
    "behaviour_type": "metro_ride",
    "category": "green_travel",
    "plan_action": "transport",
    "credited_g": 31_877_200,
    "co2e_t": "31.877200",
    "behaviours": 21_950,
    "active_residents": 4_412,
}
_EXAMPLE_COMMUNITY: dict[str, Any] = {
    "community_id": 1,
    "name_zh": "咸水沽镇",
    "credited_g": 7_305_120,
    "co2e_t": "7.305120",
    "active_residents": 903,
}
_EXAMPLE_PLAN_ACTION: dict[str, Any] = {
    "code": "transport",
    "name_zh": "交通运输绿色低碳行动",
    "name_en": "Green, low-carbon transport action",
    "credited_g": 39_118_600,
    "co2e_t": "39.118600",
}


class CheckpointRead(Schema):
    tree_size: int = Field(description="How many entries the log holds.", examples=[120345])
    root_hash: str = Field(
        description="RFC 6962 root hash of the log, base64.", examples=["bv3kLp4UOfV/SfQC2LUU3g/WpK1pNQebrF/ciaTDGSk="]
    )
    signed_at: str = Field(description="UTC time, exactly as signed.", examples=["2026-11-24T00:31:02.114215Z"])
    key_id: str = Field(
        description="Which platform key signed it: the first 16 hex digits of the SHA-256 of its public key.",
        examples=[_EXAMPLE_KEY_ID],
    )
    signature: str = Field(
        description="Ed25519 signature of the checkpoint message, base64.",
        examples=["o5uUCa5+IHP1TX/nN/zlKOt8WA6ijt9cQq33Kd/uKv9NYX36Ls46l7oen6wl8oBS70nTG/48cL4U+XMln7mmBw=="],
    )


class ReceiptEntry(Schema):
    id: int = Field(description="Ledger entry id.", examples=[6])
    transfer_id: int = Field(description="The transfer it is one side of.", examples=[3])
    account_id: int = Field(description="The account it moves (yours).", examples=[27])
    amount_g: int = Field(description="Signed grams on that account.", examples=[1350, -2000])
    kind: str = Field(
        description="issuance, reversal, redemption, refund, retirement or expiry.", examples=["issuance"]
    )
    debit_account_id: int = Field(description="Where the transfer's grams came from.", examples=[4])
    credit_account_id: int = Field(description="Where the transfer's grams went.", examples=[27])
    transfer_amount_g: int = Field(description="The transfer's grams, always positive.", examples=[1350])
    behaviour_id: int | None = Field(
        description="The behaviour an issuance or reversal is for; null for other kinds.", examples=[3, None]
    )
    factor_version_id: int | None = Field(
        description="The factor version an issuance was computed with; null for other kinds.", examples=[1, None]
    )
    reverses_transfer_id: int | None = Field(
        description="The transfer a reversal or refund compensates; null for other kinds.", examples=[None, 3]
    )
    created_at: str = Field(description="UTC time, exactly as hashed.", examples=["2026-11-24T00:30:59.482113Z"])


class InclusionRead(Schema):
    """A leaf's proof of inclusion under a signed checkpoint: what every receipt carries."""

    leaf_index: int = Field(description="Its position in the log, counting from 0.", examples=[5])
    leaf_hash: str = Field(
        description="SHA-256(0x00 ‖ leaf line), base64.", examples=["KrBYEF925Gb4HmYdZt3V+0hX6vd2aaGtsMC7uhYAdrc="]
    )
    inclusion_proof: list[str] = Field(
        description="RFC 6962 audit path from the leaf up, base64 hashes.",
        examples=[["KzM8wa6j1NL5YIcydeKFz3JU2mkQe+XxwgjW6MLmJa4=", "tv4YNQxugapEOskJMPK1rMWV84Vhp4tP3a3PkihnbOA="]],
    )
    checkpoint: CheckpointRead = Field(
        description="The signed checkpoint the proof leads to.", examples=[_EXAMPLE_CHECKPOINT_6]
    )
    public_key: str = Field(
        description="The platform's Ed25519 public key, base64 (also at /v1/transparency/key).",
        examples=[_EXAMPLE_PUBLIC_KEY],
    )


class ReceiptRead(InclusionRead):
    entry: ReceiptEntry = Field(
        description="The entry, with every field its leaf hash covers.", examples=[_EXAMPLE_ENTRY]
    )


class ConsistencyRead(Schema):
    first: CheckpointRead = Field(description="The earlier checkpoint.", examples=[_EXAMPLE_CHECKPOINT_4])
    second: CheckpointRead = Field(description="The later checkpoint.", examples=[_EXAMPLE_CHECKPOINT_6])
    proof: list[str] = Field(
        description="RFC 6962 consistency proof, base64 hashes.",
        examples=[["rumreFzBNJ/JUMRtQmWQRdcGQbyYdX/Af4c4jyquOp0="]],
    )


class PublicKeyRead(Schema):
    algorithm: str = Field(description="Always Ed25519.", examples=["Ed25519"])
    key_id: str = Field(description="Key id, as in checkpoints.", examples=[_EXAMPLE_KEY_ID])
    public_key: str = Field(description="Raw 32-byte public key, base64.", examples=[_EXAMPLE_PUBLIC_KEY])


class CheckRead(Schema):
    name: str = Field(description="balances, issuance or sealed log.", examples=["sealed log"])
    ok: bool = Field(description="True when nothing is wrong.", examples=[True])
    checked: int = Field(description="How many items (queries, behaviours, entries) were checked.", examples=[120345])
    problems: list[str] = Field(
        description="What is wrong, one line each (the first 50).",
        examples=[[], ["sealed entry 48213 (leaf 48212) was changed after sealing"]],
    )
    more_problems: int = Field(description="How many more problems there were.", examples=[0])


class VerifyRead(Schema):
    ok: bool = Field(description="True when every check passed.", examples=[True])
    checks: list[CheckRead] = Field(description="Each check's outcome.", examples=[[_EXAMPLE_CHECK]])


class VerifyLine(Schema):
    """One line of the streamed verification (`Accept: application/x-ndjson`)."""

    kind: Literal["progress", "result", "error"] = Field(
        description="progress: where the run is; result: the findings, last; error: the run stopped.",
        examples=["progress"],
    )
    phase: str | None = Field(
        default=None, description="The check running: balances, issuance or sealed log.", examples=["issuance"]
    )
    done: int | None = Field(default=None, description="Items of the check done so far.", examples=[40000])
    total: int | None = Field(default=None, description="Items of the check in all.", examples=[125000])
    message: str | None = Field(
        default=None, description="The step in words.", examples=["issuance: 40,000 behaviours recomputed"]
    )
    result: VerifyRead | None = Field(default=None, description="The findings, on the last line.", examples=[None])


class ActionRead(Schema):
    id: int = Field(description="Log position.", examples=[418])
    at: datetime = Field(description="When the action was done.", examples=["2026-11-24T02:15:37.408122Z"])
    actor: str = Field(description="`user:ID`, or `cli` for the command line.", examples=["user:3"])
    role: str = Field(
        description="The actor's role then; `operator-shell` for the command line.", examples=["admin-operator"]
    )
    action: str = Field(description="What was done.", examples=["transfer.reverse"])
    target: str = Field(description="What it was done to.", examples=["transfer:1042"])
    reason: str | None = Field(
        description="Why, when the action takes a reason; null otherwise.", examples=["重复上报的地铁出行", None]
    )
    details: dict[str, Any] = Field(description="The action's particulars.", examples=[{"reversal": 1187}])
    request_id: str | None = Field(
        description="The request that did it; null for the command line.",
        examples=["9f1c2b7e4d5a4e0f8a3b6c1d2e7f9a0b", None],
    )


class ActionPage(Schema):
    items: list[ActionRead] = Field(description="Newest first.", examples=[[_EXAMPLE_ACTION]])
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last.", examples=["eyJwIjogNDE4fQ", None]
    )


class TransferRow(Schema):
    id: int = Field(description="Transfer id.", examples=[1042])
    created_at: datetime = Field(description="When it was written.", examples=["2026-11-24T01:02:44.918305Z"])
    kind: str = Field(
        description="issuance, reversal, redemption, refund, retirement or expiry.", examples=["issuance"]
    )
    debit_account_id: int = Field(description="Account the grams left.", examples=[4])
    credit_account_id: int = Field(description="Account the grams went to.", examples=[27])
    amount_g: int = Field(description="Grams moved, always positive.", examples=[1350])
    behaviour_id: int | None = Field(
        description="The behaviour of an issuance, or of the issuance a reversal takes back.", examples=[988, None]
    )
    behaviour_type: str | None = Field(
        description="That behaviour's type; null when there is no behaviour.", examples=["metro_ride", None]
    )
    partner_id: int | None = Field(description="The data partner that reported it, if one did.", examples=[2, None])
    factor_version_id: int | None = Field(
        description="The factor version an issuance was computed with.", examples=[1, None]
    )
    reverses_transfer_id: int | None = Field(
        description="The transfer a reversal or refund compensates.", examples=[None, 1042]
    )
    reason: str | None = Field(
        description="Why, for a reversal, refund, retirement or expiry.", examples=[None, "voucher cancelled"]
    )
    actor: str | None = Field(
        description="Who caused it (`user:ID`, `resident:ID`, `enterprise:ID` or `expiry-job`); null for an issuance.",
        examples=[None, "user:3"],
    )


class TransferPage(Schema):
    items: list[TransferRow] = Field(description="Oldest first.", examples=[[_EXAMPLE_TRANSFER]])
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last.", examples=["eyJwIjogMTA0Mn0", None]
    )


class DashboardTotals(Schema):
    credited_g: int = Field(
        description="Credits issued, net of reversals: grams of CO₂e reduced.", examples=[48_210_350]
    )
    co2e_t: str = Field(description="The same in tonnes of CO₂e, as a decimal string.", examples=["48.210350"])
    behaviours: int = Field(description="Behaviours credited.", examples=[35_412])
    active_residents: int = Field(description="Residents credited at least once.", examples=[6_208])
    registered_residents: int = Field(description="Residents registered by the end of the range.", examples=[9_731])


class DashboardPeriod(Schema):
    period_start: date = Field(description="First day of the day or month.", examples=["2026-11-01"])
    credited_g: int = Field(description="Grams credited.", examples=[48_210_350])
    co2e_t: str = Field(description="Tonnes of CO₂e, as a decimal string.", examples=["48.210350"])
    behaviours: int = Field(description="Behaviours credited.", examples=[35_412])
    active_residents: int = Field(description="Residents credited.", examples=[6_208])


class DashboardBehaviour(Schema):
    behaviour_type: str = Field(description="Behaviour type.", examples=["metro_ride"])
    category: str = Field(description="Its leaderboard category.", examples=["green_travel"])
    plan_action: str = Field(description="The carbon-peaking plan action it counts towards.", examples=["transport"])
    credited_g: int = Field(description="Grams credited.", examples=[31_877_200])
    co2e_t: str = Field(description="Tonnes of CO₂e, as a decimal string.", examples=["31.877200"])
    behaviours: int = Field(description="Behaviours credited.", examples=[21_950])
    active_residents: int = Field(description="Residents credited.", examples=[4_412])


class DashboardCommunity(Schema):
    community_id: int | None = Field(
        description="Community; null for residents who have not chosen one.", examples=[1, None]
    )
    name_zh: str | None = Field(
        description="The community's name; null with no community.", examples=["咸水沽镇", None]
    )
    credited_g: int = Field(description="Grams credited.", examples=[7_305_120])
    co2e_t: str = Field(description="Tonnes of CO₂e, as a decimal string.", examples=["7.305120"])
    active_residents: int = Field(description="Residents credited.", examples=[903])


class DashboardPlanAction(Schema):
    code: str = Field(description="transport, circular_economy or all_people.", examples=["transport"])
    name_zh: str = Field(description="The action's name in the district's plan.", examples=["交通运输绿色低碳行动"])
    name_en: str = Field(description="The action's name in English.", examples=["Green, low-carbon transport action"])
    credited_g: int = Field(description="Grams credited to behaviours serving it.", examples=[39_118_600])
    co2e_t: str = Field(description="Tonnes of CO₂e, as a decimal string.", examples=["39.118600"])


class DashboardRead(Schema):
    start: date = Field(description="First local day counted.", examples=["2026-11-01"])
    end: date = Field(description="Day after the last one counted.", examples=["2026-12-01"])
    group_by: str = Field(description="day or month.", examples=["month"])
    totals: DashboardTotals = Field(description="The whole range.", examples=[_EXAMPLE_TOTALS])
    by_period: list[DashboardPeriod] = Field(description="Per day or month.", examples=[[_EXAMPLE_PERIOD]])
    by_behaviour: list[DashboardBehaviour] = Field(description="Per behaviour type.", examples=[[_EXAMPLE_BEHAVIOUR]])
    by_community: list[DashboardCommunity] = Field(description="Per community.", examples=[[_EXAMPLE_COMMUNITY]])
    by_plan_action: list[DashboardPlanAction] = Field(
        description="Per action of the district's plan.", examples=[[_EXAMPLE_PLAN_ACTION]]
    )
