"""Retirement: an enterprise retires credits it holds from settled vouchers for good, against a
certificate that names the behaviours and factor versions behind its grams; anyone can check one.

Locks follow the domain's one order — the resident's ledger account, then the voucher, then the reward,
then the enterprise's ledger account — so that a retirement never deadlocks with a redemption, a
cancellation or a voucher taken at the counter. Retiring first marks the enterprise's lapsed vouchers
expired (voucher locks: a resident's cancellation of one either comes first or sees it expired), then
locks the enterprise's account, and only then reads what may be retired. Every refusal happens before
anything is written, or rolls the transaction back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Enterprise
from service.db import ReadSession
from service.errors import DuplicateConflict
from service.ledger import lots
from service.ledger.errors import InsufficientCredits
from service.redemption import enterprises, repository
from service.redemption.errors import CertificateNotFound
from service.redemption.models import Certificate
from service.redemption.schemas import CertificatePage, CertificateRead, ProvenanceLine, RetirementCreate
from service.webhooks import events as webhook_events
from service.webhooks.events import EventType


async def retire(session: AsyncSession, *, enterprise_id: int, data: RetirementCreate) -> tuple[CertificateRead, bool]:
    """Move grams the enterprise may retire to the retired account for good, oldest lots first, and issue
    the certificate; answers it and whether this request created it. The same client_id returns the same
    certificate (not created); with other content it is a conflict."""
    enterprise = await enterprises.approved(session, enterprise_id=enterprise_id)
    await repository.sweep_expired_vouchers(session, enterprise_id=enterprise_id)
    account = await repository.lock_account(session, enterprise_id=enterprise_id)
    existing = await repository.certificate_by_key(session, enterprise_id=enterprise_id, client_id=data.client_id)
    if existing is not None:
        if (existing.amount_g, existing.purpose, existing.beneficiary) != (
            data.amount_g,
            data.purpose,
            data.beneficiary,
        ):
            raise DuplicateConflict("This client_id already retired other credits.", "该 client_id 已用于另一笔注销。")
        return await _read_certificate(session, existing, enterprise), False
    available = [
        lots.Holding(row.lot_id, row.grams, row.issued_at)
        for row in await repository.retirable(session, account_id=account.id)
    ]
    held = sum(h.grams for h in available)
    if held < data.amount_g:
        raise InsufficientCredits(
            f"{held} g can be retired now (credits of vouchers still open cannot); {data.amount_g} g were asked.",
            f"当前可注销 {held} 克（未核销兑换券对应的积分不可注销），申请注销 {data.amount_g} 克。",
        )
    transfer_id = await lots.move(
        session,
        kind="retirement",
        from_account=account.id,
        to_account=await repository.system_account(session, code="retired"),
        lots=lots.take_oldest(available, data.amount_g),
        reason=data.purpose,
        actor=f"enterprise:{enterprise_id}",
    )
    assert transfer_id is not None
    certificate = await repository.insert_certificate(
        session,
        values={
            "number": f"TPH-{datetime.now(UTC).year}-{transfer_id:010d}",
            "enterprise_id": enterprise_id,
            "client_id": data.client_id,
            "amount_g": data.amount_g,
            "purpose": data.purpose,
            "beneficiary": data.beneficiary,
            "retirement_transfer_id": transfer_id,
        },
    )
    await webhook_events.emit(
        session,
        enterprise_id=enterprise_id,
        event_type=EventType.retirement_certified,
        data={
            "certificate_number": certificate.number,
            "amount_g": certificate.amount_g,
            "purpose": certificate.purpose,
            "beneficiary": certificate.beneficiary,
            "issued_at": certificate.issued_at,
        },
    )
    return await _read_certificate(session, certificate, enterprise), True


def _certificate_read(certificate: Certificate, enterprise: Enterprise, lines: Sequence[Row[Any]]) -> CertificateRead:
    return CertificateRead(
        number=certificate.number,
        enterprise_id=enterprise.id,
        enterprise_name=enterprise.name,
        amount_g=certificate.amount_g,
        purpose=certificate.purpose,
        beneficiary=certificate.beneficiary,
        issued_at=certificate.issued_at,
        provenance=[ProvenanceLine.model_validate(line, from_attributes=True) for line in lines],
    )


async def _read_certificate(
    session: AsyncSession | ReadSession, certificate: Certificate, enterprise: Enterprise
) -> CertificateRead:
    lines = await repository.provenance(session, transfer_ids=[certificate.retirement_transfer_id])
    return _certificate_read(certificate, enterprise, lines[certificate.retirement_transfer_id])


async def certificate(session: AsyncSession | ReadSession, *, number: str) -> CertificateRead:
    """A certificate by the number printed on it, case and surrounding spaces ignored."""
    found = await repository.certificate_by_number(session, number=number.strip().upper())
    if found is None:
        raise CertificateNotFound
    return await _read_certificate(session, *found)


async def certificates_of(session: AsyncSession | ReadSession, *, enterprise_id: int) -> CertificatePage:
    """The enterprise's certificates, newest first, with their provenance read in one query."""
    enterprise = await repository.get_enterprise(session, enterprise_id=enterprise_id)
    assert enterprise is not None  # the signed-in user's enterprise
    certificates = await repository.certificates_of(session, enterprise_id=enterprise_id)
    lines = await repository.provenance(session, transfer_ids=[c.retirement_transfer_id for c in certificates])
    return CertificatePage(
        items=[_certificate_read(c, enterprise, lines[c.retirement_transfer_id]) for c in certificates]
    )
