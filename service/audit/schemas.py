from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from service.kit.schemas import Schema


class CheckpointRead(Schema):
    tree_size: int = Field(description="How many entries the log holds.", examples=[120345])
    root_hash: str = Field(description="RFC 6962 root hash of the log, base64.")
    signed_at: str = Field(description="UTC time, exactly as signed.", examples=["2026-11-24T00:31:02.114215Z"])
    key_id: str = Field(description="Which platform key signed it.")
    signature: str = Field(description="Ed25519 signature of the checkpoint message, base64.")


class ReceiptEntry(Schema):
    id: int = Field(description="Ledger entry id.")
    transfer_id: int = Field(description="The transfer it is one side of.")
    account_id: int = Field(description="The account it moves (yours).")
    amount_g: int = Field(description="Signed grams on that account.")
    kind: str = Field(description="issuance, reversal, redemption, refund, retirement or expiry.")
    debit_account_id: int = Field(description="Where the transfer's grams came from.")
    credit_account_id: int = Field(description="Where they went.")
    transfer_amount_g: int = Field(description="The transfer's grams.")
    behaviour_id: int | None = Field(description="The behaviour an issuance or reversal is for.")
    factor_version_id: int | None = Field(description="The factor version an issuance was computed with.")
    reverses_transfer_id: int | None = Field(description="The transfer a reversal or refund compensates.")
    created_at: str = Field(description="UTC time, exactly as hashed.")


class ReceiptRead(Schema):
    entry: ReceiptEntry = Field(description="The entry, with every field its leaf hash covers.")
    leaf_index: int = Field(description="Its position in the log.")
    leaf_hash: str = Field(description="SHA-256(0x00 ‖ leaf line), base64.")
    inclusion_proof: list[str] = Field(description="RFC 6962 audit path from the leaf up, base64 hashes.")
    checkpoint: CheckpointRead = Field(description="The signed checkpoint the proof leads to.")
    public_key: str = Field(description="The platform's Ed25519 public key, base64 (also at /v1/transparency/key).")


class ConsistencyRead(Schema):
    first: CheckpointRead = Field(description="The earlier checkpoint.")
    second: CheckpointRead = Field(description="The later checkpoint.")
    proof: list[str] = Field(description="RFC 6962 consistency proof, base64 hashes.")


class PublicKeyRead(Schema):
    algorithm: str = Field(description="Always Ed25519.")
    key_id: str = Field(description="Key id, as in checkpoints.")
    public_key: str = Field(description="Raw 32-byte public key, base64.")


class CheckRead(Schema):
    name: str = Field(description="balances, issuance or sealed log.")
    ok: bool = Field(description="True when nothing is wrong.")
    checked: int = Field(description="How many items (queries, behaviours, entries) were checked.")
    problems: list[str] = Field(description="What is wrong, one line each (the first 50).")
    more_problems: int = Field(description="How many more problems there were.")


class VerifyRead(Schema):
    ok: bool = Field(description="True when every check passed.")
    checks: list[CheckRead] = Field(description="Each check's outcome.")


class ActionRead(Schema):
    id: int = Field(description="Log position.")
    at: datetime = Field(description="When.")
    actor: str = Field(description="`user:ID`, or `cli` for the command line.", examples=["user:3"])
    role: str = Field(description="The actor's role then.")
    action: str = Field(description="What was done.", examples=["transfer.reverse"])
    target: str = Field(description="What it was done to.", examples=["transfer:1042"])
    reason: str | None = Field(description="Why, when the action takes a reason.")
    details: dict[str, Any] = Field(description="The action's particulars.")
    request_id: str | None = Field(description="The request that did it.")


class ActionPage(Schema):
    items: list[ActionRead] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class TransferRow(Schema):
    id: int = Field(description="Transfer id.")
    created_at: datetime = Field(description="When it was written.")
    kind: str = Field(description="issuance, reversal, redemption, refund, retirement or expiry.")
    debit_account_id: int = Field(description="Account the grams left.")
    credit_account_id: int = Field(description="Account the grams went to.")
    amount_g: int = Field(description="Grams.")
    behaviour_id: int | None = Field(
        description="The behaviour of an issuance, or of the issuance a reversal takes back."
    )
    behaviour_type: str | None = Field(description="Its type.")
    partner_id: int | None = Field(description="The data partner that reported it, if one did.")
    factor_version_id: int | None = Field(description="The factor version an issuance was computed with.")
    reverses_transfer_id: int | None = Field(description="The transfer a reversal or refund compensates.")
    reason: str | None = Field(description="Why, for a reversal, refund, retirement or expiry.")
    actor: str | None = Field(description="Who caused it.")


class TransferPage(Schema):
    items: list[TransferRow] = Field(description="Oldest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class DashboardTotals(Schema):
    credited_g: int = Field(description="Credits issued, net of reversals: grams of CO₂e reduced.")
    co2e_t: str = Field(description="The same in tonnes of CO₂e, as a decimal string.")
    behaviours: int = Field(description="Behaviours credited.")
    active_residents: int = Field(description="Residents credited at least once.")
    registered_residents: int = Field(description="Residents registered by the end of the range.")


class DashboardPeriod(Schema):
    period_start: date = Field(description="First day of the day or month.")
    credited_g: int = Field(description="Grams credited.")
    co2e_t: str = Field(description="Tonnes of CO₂e.")
    behaviours: int = Field(description="Behaviours credited.")
    active_residents: int = Field(description="Residents credited.")


class DashboardBehaviour(Schema):
    behaviour_type: str = Field(description="Behaviour type.")
    category: str = Field(description="Its leaderboard category.")
    plan_action: str = Field(description="The carbon-peaking plan action it counts towards.")
    credited_g: int = Field(description="Grams credited.")
    co2e_t: str = Field(description="Tonnes of CO₂e.")
    behaviours: int = Field(description="Behaviours credited.")
    active_residents: int = Field(description="Residents credited.")


class DashboardCommunity(Schema):
    community_id: int | None = Field(description="Community; null for residents who have not chosen one.")
    name_zh: str | None = Field(description="Its name.")
    credited_g: int = Field(description="Grams credited.")
    co2e_t: str = Field(description="Tonnes of CO₂e.")
    active_residents: int = Field(description="Residents credited.")


class DashboardPlanAction(Schema):
    code: str = Field(description="transport, circular_economy or all_people.")
    name_zh: str = Field(description="The action's name in the district's plan.")
    name_en: str = Field(description="In English.")
    credited_g: int = Field(description="Grams credited to behaviours serving it.")
    co2e_t: str = Field(description="Tonnes of CO₂e.")


class DashboardRead(Schema):
    start: date = Field(description="First local day counted.")
    end: date = Field(description="Day after the last one counted.")
    group_by: str = Field(description="day or month.")
    totals: DashboardTotals = Field(description="The whole range.")
    by_period: list[DashboardPeriod] = Field(description="Per day or month.")
    by_behaviour: list[DashboardBehaviour] = Field(description="Per behaviour type.")
    by_community: list[DashboardCommunity] = Field(description="Per community.")
    by_plan_action: list[DashboardPlanAction] = Field(description="Per action of the district's plan.")
