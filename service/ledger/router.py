from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from service.accounts.deps import CurrentResident, ScopedOperator, SettingsDep
from service.db import ReadSessionDep, SessionDep
from service.kit.openapi import problems
from service.kit.schemas import ID_MAX
from service.ledger import service
from service.ledger.errors import AlreadyReversed, InsufficientCredits, NotReversible, TransferNotFound
from service.ledger.schemas import BalanceRead, ExpiringRead, ReversalCreate, ReversalRead

router = APIRouter()

TransferId = Annotated[
    int, Path(ge=1, le=ID_MAX, description="The transfer's id, from the audit search.", examples=[5120])
]


@router.get("/v1/me/balance", tags=["behaviours"])
async def my_balance(resident: CurrentResident, session: ReadSessionDep) -> BalanceRead:
    """The signed-in resident's credit balance in grams of CO₂e."""
    return await service.resident_balance(session, resident_id=resident.subject_id)


@router.get("/v1/me/credits/expiring", tags=["behaviours"])
async def my_expiring_credits(
    resident: CurrentResident,
    session: ReadSessionDep,
    settings: SettingsDep,
    within_days: Annotated[int, Query(ge=1, le=366, description="Look this many days ahead.", examples=[30])] = 90,
) -> ExpiringRead:
    """Credits that expire within the next days, by day: spend them first, as spending does."""
    return await service.expiring(
        session, resident_id=resident.subject_id, months=settings.credit_validity_months, within_days=within_days
    )


@router.post(
    "/v1/admin/transfers/{transfer_id}/reverse",
    tags=["admin"],
    status_code=status.HTTP_201_CREATED,
    responses=problems(TransferNotFound, AlreadyReversed, NotReversible, InsufficientCredits),
)
async def reverse_transfer(
    operator: ScopedOperator, transfer_id: TransferId, body: ReversalCreate, session: SessionDep
) -> ReversalRead:
    """Take back an issuance with a compensating transfer; refused if the credits were already spent."""
    return await service.reverse(session, operator=operator, transfer_id=transfer_id, reason=body.reason)
