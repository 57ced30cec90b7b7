from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import Field

from service.accounts.deps import AdminOperator, CurrentResident, SettingsDep
from service.audit import actions
from service.db import ReadSessionDep, SessionDep
from service.ingest.schemas import BalanceRead
from service.kit.openapi import problems
from service.kit.schemas import BIGINT_MAX, InputSchema, Schema
from service.ledger import expiry, service
from service.ledger.errors import AlreadyReversed, InsufficientCredits, NotReversible, TransferNotFound
from service.redemption.schemas import ExpiringDay, ExpiringRead

router = APIRouter()

TransferId = Annotated[
    int, Path(ge=1, le=BIGINT_MAX, description="The transfer's id, from the audit search.", examples=[5120])
]


class ReversalCreate(InputSchema):
    reason: str = Field(
        min_length=1,
        max_length=500,
        description="Why the credit is taken back; kept with it.",
        examples=["Duplicate of a partner record (ticket 2026-1187)."],
    )


class ReversalRead(Schema):
    reversal_transfer_id: int = Field(description="The compensating transfer.", examples=[5121])
    reverses_transfer_id: int = Field(description="The transfer it compensates.", examples=[5120])


@router.get("/v1/me/balance", tags=["behaviours"])
async def my_balance(resident: CurrentResident, session: ReadSessionDep) -> BalanceRead:
    """The signed-in resident's credit balance in grams of CO₂e."""
    balance = await service.resident_balance(session, resident_id=resident.subject_id)
    return BalanceRead(balance_g=balance.balance_g, credited_total_g=balance.credited_total_g)


@router.get("/v1/me/credits/expiring", tags=["behaviours"])
async def my_expiring_credits(
    resident: CurrentResident,
    session: ReadSessionDep,
    settings: SettingsDep,
    within_days: Annotated[int, Query(ge=1, le=366, description="Look this many days ahead.", examples=[30])] = 90,
) -> ExpiringRead:
    """Credits that expire within the next days, by day: spend them first, as spending does."""
    days = await expiry.expiring(
        session, resident_id=resident.subject_id, months=settings.credit_validity_months, days=within_days
    )
    return ExpiringRead(
        validity_months=settings.credit_validity_months,
        within_days=within_days,
        total_g=sum(grams for _, grams in days),
        days=[ExpiringDay(expires_on=day, grams=grams) for day, grams in days],
    )


@router.post(
    "/v1/admin/transfers/{transfer_id}/reverse",
    tags=["admin"],
    status_code=status.HTTP_201_CREATED,
    responses=problems(TransferNotFound, AlreadyReversed, NotReversible, InsufficientCredits),
)
async def reverse_transfer(
    operator: AdminOperator, transfer_id: TransferId, body: ReversalCreate, session: SessionDep
) -> ReversalRead:
    """Take back an issuance with a compensating transfer; refused if the credits were already spent."""
    reversal = await service.reverse(
        session, transfer_id=transfer_id, actor=f"user:{operator.subject_id}", reason=body.reason
    )
    await actions.record(
        session, operator, "transfer.reverse", f"transfer:{transfer_id}", reason=body.reason, reversal=reversal
    )
    return ReversalRead(reversal_transfer_id=reversal, reverses_transfer_id=transfer_id)
