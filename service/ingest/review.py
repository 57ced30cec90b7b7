"""An operator's decision on a record held for review: approval credits it under the caps of the day it
happened, rejection earns nothing; both are logged, and a partner's record's decision is sent to the
partner's webhooks (`behaviour.reviewed`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import assert_never

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import actions, scope
from service.accounts.tokens import Principal
from service.errors import NotFound
from service.ingest import repository
from service.ingest.errors import BehaviourNotPending
from service.ingest.schemas import ReviewDecision, ReviewResult
from service.kit.clock import local_date
from service.ledger import service as ledger_service
from service.ledger.posting import Recorder
from service.ledger.service import ReviewOutcome
from service.webhooks import events as webhook_events
from service.webhooks.events import EventType


async def decide(
    session: AsyncSession, *, recorder: Recorder, operator: Principal, behaviour_id: int, decision: ReviewDecision
) -> ReviewResult:
    """Approve or reject a held report; an officer reaches its own community's residents' reports only,
    and another's is as absent."""
    behaviour = await repository.get_behaviour(session, behaviour_id)
    if behaviour is None or not await scope.reaches_resident(session, operator, behaviour.resident_id):
        raise NotFound
    reviewed = await ledger_service.review(
        session,
        recorder=recorder,
        behaviour_id=behaviour_id,
        approve=decision.approve,
        actor=actions.actor_of(operator),
        reason=decision.reason,
        today=local_date(datetime.now(UTC)),
    )
    match reviewed.outcome:
        case ReviewOutcome.not_found:
            raise NotFound
        case ReviewOutcome.not_pending:
            raise BehaviourNotPending(extra={"behaviour_status": reviewed.status.value if reviewed.status else None})
        case ReviewOutcome.decided:
            pass
        case _:
            assert_never(reviewed.outcome)
    assert reviewed.status is not None
    await actions.log(
        session,
        operator,
        "behaviour.review",
        f"behaviour:{behaviour_id}",
        reason=decision.reason,
        approve=decision.approve,
        credited_g=reviewed.credited_g,
    )
    if behaviour.partner_id is not None:
        # the partner whose record this was is told, naming it by the behaviour id its batch's reply gave:
        # an event is kept, and the partner's own record id is erased with the resident's account
        await webhook_events.emit(
            session,
            partner_id=behaviour.partner_id,
            event_type=EventType.behaviour_reviewed,
            data={
                "behaviour_id": behaviour_id,
                "behaviour_type": behaviour.behaviour_type,
                "decision": "approved" if decision.approve else "rejected",
                "status": reviewed.status.value,
                "credited_g": reviewed.credited_g,
                "capped_g": reviewed.capped_g,
            },
        )
    return ReviewResult(
        behaviour_id=behaviour_id,
        status=reviewed.status.value,
        credited_g=reviewed.credited_g,
        capped_g=reviewed.capped_g,
    )
