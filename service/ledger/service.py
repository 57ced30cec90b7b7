"""Balances, expiring credits, corrections and decisions on held reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import actions, scope
from service.accounts.tokens import Principal
from service.db import ReadSession
from service.kit.clock import SHANGHAI
from service.ledger import lots, repository
from service.ledger.errors import AlreadyReversed, InsufficientCredits, NotReversible, TransferNotFound
from service.ledger.posting import Recorder
from service.ledger.results import BehaviourStatus
from service.ledger.schemas import BalanceRead, ExpiringDay, ExpiringRead, ReversalRead
from service.webhooks import events as webhook_events
from service.webhooks.events import EventType


async def resident_balance(session: AsyncSession | ReadSession, *, resident_id: int) -> BalanceRead:
    account = await repository.resident_account(session, resident_id)
    if account is None:
        return BalanceRead(balance_g=0, credited_total_g=0)
    return BalanceRead(balance_g=account.balance, credited_total_g=await repository.credited_total(session, account.id))


async def expiring(
    session: AsyncSession | ReadSession, *, resident_id: int, months: int, within_days: int
) -> ExpiringRead:
    """Grams of the resident's credits that expire within `within_days`, by local day, soonest first."""
    by_day: dict[date, int] = {}
    for row in await repository.expiring(session, resident_id=resident_id, months=months, days=within_days):
        day = row.expires_at.astimezone(SHANGHAI).date()
        by_day[day] = by_day.get(day, 0) + row.grams
    return ExpiringRead(
        validity_months=months,
        within_days=within_days,
        total_g=sum(by_day.values()),
        days=[ExpiringDay(expires_on=day, grams=grams) for day, grams in sorted(by_day.items())],
    )


@dataclass(frozen=True, slots=True)
class Issuance:
    transfer_id: int
    reversed_g: int


async def issuances_of(session: AsyncSession | ReadSession, *, behaviour_ids: Sequence[int]) -> dict[int, Issuance]:
    """The issuance of each behaviour that earned one, with the grams taken back from it, by behaviour id."""
    rows = await repository.transfers_of_behaviours(session, behaviour_ids)
    return {row.behaviour_id: Issuance(row.transfer_id, int(row.reversed_g or 0)) for row in rows}


async def reverse(session: AsyncSession, *, operator: Principal, transfer_id: int, reason: str) -> ReversalRead:
    """Compensate an issuance with a linked transfer back to where it came from, and log it; the partner
    whose record it credited is told (`behaviour.reviewed`).

    Refused when the resident no longer holds that many credits: no balance goes below zero. The grams
    taken back are the reversed lot's own as far as the resident still holds them, then the oldest. An
    officer reaches the credits of its own community's residents only (any other transfer is as absent).
    """
    original = await repository.get_transfer(session, transfer_id)
    if original is None or not await scope.reaches_resident(
        session, operator, await repository.account_resident(session, original.credit_account_id)
    ):
        raise TransferNotFound
    if original.kind != "issuance":
        raise NotReversible
    accounts = await repository.lock_accounts(session, [original.debit_account_id, original.credit_account_id])
    if await repository.reversal_of(session, original.id) is not None:
        raise AlreadyReversed
    holder = accounts[original.credit_account_id]
    if holder.balance < original.amount:
        raise InsufficientCredits(
            f"The account holds {holder.balance} g; the reversal needs {original.amount} g.",
            f"账户余额 {holder.balance} 克，冲正需要 {original.amount} 克。",
        )
    taken = lots.take_oldest(await lots.holdings(session, holder.id), original.amount, first=original.id)
    reversal = await lots.move(
        session,
        kind="reversal",
        from_account=holder.id,
        to_account=original.debit_account_id,
        lots=taken,
        behaviour_id=original.behaviour_id,
        factor_version_id=original.factor_version_id,
        reverses_transfer_id=original.id,
        reason=reason,
        actor=actions.actor_of(operator),
    )
    if reversal is None:
        raise AlreadyReversed
    await actions.log(
        session, operator, "transfer.reverse", f"transfer:{transfer_id}", reason=reason, reversal=reversal
    )
    record = await repository.partner_record(session, original.behaviour_id) if original.behaviour_id else None
    if record is not None:
        # an operator's decision on a partner's record: the partner is told, by the behaviour id its batch's
        # reply gave
        await webhook_events.emit(
            session,
            partner_id=record.partner_id,
            event_type=EventType.behaviour_reviewed,
            data={
                "behaviour_id": original.behaviour_id,
                "behaviour_type": record.behaviour_type,
                "decision": "reversed",
                "reversed_g": original.amount,
            },
        )
    return ReversalRead(reversal_transfer_id=reversal, reverses_transfer_id=transfer_id)


class ReviewOutcome(StrEnum):
    decided = "decided"
    not_found = "not_found"
    not_pending = "not_pending"


@dataclass(frozen=True, slots=True)
class Reviewed:
    """What `ingest_review()` answers: the decision taken, or why there was none to take."""

    outcome: ReviewOutcome
    status: BehaviourStatus | None
    credited_g: int
    capped_g: int


async def review(
    session: AsyncSession,
    *,
    recorder: Recorder,
    behaviour_id: int,
    approve: bool,
    actor: str,
    reason: str,
    today: date,
) -> Reviewed:
    """Decide a report held for review, in the session's transaction: approval credits it now, under the
    caps of the day it happened, through the same steps as recording (`ingest_review()`)."""
    ledger = recorder.ledger()
    row = await repository.review(
        session,
        behaviour_id=behaviour_id,
        approve=approve,
        actor=actor,
        reason=reason,
        issuance=list(ledger.issuance_accounts),
        today=today,
        budget=ledger.budget_g,
    )
    return Reviewed(
        ReviewOutcome(row.outcome),
        BehaviourStatus(row.status) if row.status else None,
        row.credited_g or 0,
        row.capped_g or 0,
    )
