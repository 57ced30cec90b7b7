"""The enterprise as redemption sees it: whether it may publish, take vouchers and retire, and its credits.

Both only read; neither takes a lock."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.errors import EnterpriseNotApproved
from service.accounts.models import Enterprise, EnterpriseStatus
from service.db import ReadSession
from service.redemption import repository
from service.redemption.schemas import EnterpriseCredits


async def approved(session: AsyncSession | ReadSession, *, enterprise_id: int) -> Enterprise:
    """The enterprise, if an operator has approved it: every enterprise write starts here."""
    enterprise = await repository.get_enterprise(session, enterprise_id=enterprise_id)
    if enterprise is None or enterprise.status != EnterpriseStatus.approved.value:
        status = enterprise.status if enterprise else "unknown"
        raise EnterpriseNotApproved(
            f"The enterprise is {status}; an operator must approve it first.",
            f"企业状态为 {status}，须经管理员审核通过。",
        )
    return enterprise


async def credits(session: AsyncSession | ReadSession, *, enterprise_id: int) -> EnterpriseCredits:
    """Its status and credits: held, still open in vouchers, retirable now (vouchers whose time is up
    counted, swept or not) and retired."""
    enterprise = await repository.get_enterprise(session, enterprise_id=enterprise_id)
    if enterprise is None:
        raise EnterpriseNotApproved
    account = await repository.account_of(session, enterprise_id=enterprise_id)
    return EnterpriseCredits(
        enterprise_id=enterprise.id,
        name=enterprise.name,
        status=enterprise.status,
        balance_g=account.balance,
        outstanding_g=await repository.outstanding_g(session, enterprise_id=enterprise_id),
        retirable_g=sum(
            lot.grams for lot in await repository.retirable(session, account_id=account.id, for_display=True)
        ),
        retired_g=await repository.retired_g(session, enterprise_id=enterprise_id),
    )
