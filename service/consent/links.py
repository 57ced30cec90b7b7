"""Linking a resident's account at a partner, with their consent, and revoking it.

The flow: the resident reads the consent text for a partner (`consent_text`) and agrees; the app asks for
a one-time code (`request_code`), which records what was agreed to, where and when; the resident carries
the code to the partner's app, and the partner redeems it with a signed request (`redeem`). The link then
comes into force and the partner receives a pseudonym made for it alone; it never learns the resident's
platform id, and no other partner learns of the link. A partner's records name the resident by that
pseudonym (ingest_record_batch() reads it). The resident revokes a link at once (`revoke`); the partner's
records for them are refused from then on, and what was credited stays.

Both the grant and the revocation are consent events, which the receipt sealer appends to the Merkle log.
A link comes into force, and is revoked, at the clock's time under the resident's account lock, so every
partner record credited was stored while its link was in force (the audit's consent check)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Partner, PartnerKind
from service.consent import repository
from service.consent.errors import (
    AlreadyLinked,
    ConsentTextOutdated,
    LinkCodeExpired,
    LinkCodeUnknown,
    LinkCodeUsed,
    LinkNotFound,
    LinkRevoked,
    PartnerNotLinkable,
)
from service.consent.models import EventKind, Link, RevokedBy
from service.consent.schemas import (
    ConsentTextRead,
    LinkablePartnerRead,
    LinkCodeRead,
    LinkCreate,
    LinkList,
    LinkRead,
    PartnerLinkPage,
    PartnerLinkRead,
)
from service.consent.texts import Locale, render
from service.db import ReadSession
from service.kit import typed_codes
from service.kit.pagination import decode_cursor, encode_cursor
from service.webhooks import events as webhooks

# 12 characters: 60 random bits, in a code that lives minutes and is good for one partner once.
CODE_LENGTH = 12


def _partner_read(partner: Partner) -> LinkablePartnerRead:
    return LinkablePartnerRead(code=partner.code, name=partner.name, kind=PartnerKind(partner.kind))


def _code_hash(code: str) -> bytes:
    return hashlib.sha256(b"link-code:" + code.encode()).digest()


def _new_pseudonym() -> str:
    return "psn_" + typed_codes.new_code(26).lower()


def link_read(link: Link, partner: Partner) -> LinkRead:
    return LinkRead(
        id=link.public_id,
        partner=_partner_read(partner),
        status="active" if link.revoked_at is None else "revoked",
        text_version=link.text_version,
        locale=link.locale,  # type: ignore[arg-type]
        text_sha256=link.text_sha256.hex(),
        method=link.method,  # type: ignore[arg-type]
        agreed_at=link.agreed_at,
        granted_at=link.granted_at,
        revoked_at=link.revoked_at,
        revoked_by=link.revoked_by,  # type: ignore[arg-type]
    )


def partner_link_read(link: Link) -> PartnerLinkRead:
    return PartnerLinkRead(
        link_id=link.public_id,
        pseudonym=link.pseudonym,
        status="active" if link.revoked_at is None else "revoked",
        granted_at=link.granted_at,
        revoked_at=link.revoked_at,
    )


async def partners(session: ReadSession) -> list[LinkablePartnerRead]:
    """The partners a resident can link an account at."""
    return [_partner_read(partner) for partner in await repository.linkable_partners(session)]


async def _linkable(session: AsyncSession | ReadSession, code: str) -> Partner:
    partner = await repository.linkable_partner(session, code)
    if partner is None:
        raise PartnerNotLinkable
    return partner


async def consent_text(
    session: ReadSession, *, partner_code: str, locale: Locale, retention_days: int
) -> ConsentTextRead:
    """The text to show before linking an account at the partner: what it sends, why, for how long."""
    partner = await _linkable(session, partner_code)
    text = render(partner=partner.name, kind=partner.kind, locale=locale, retention_days=retention_days)
    return ConsentTextRead(
        version=text.version,
        locale=locale,
        partner=_partner_read(partner),
        title=text.title,
        data=list(text.data),
        purpose=text.purpose,
        text=text.text,
        text_sha256=text.sha256.hex(),
    )


async def request_code(
    session: AsyncSession, *, resident_id: int, data: LinkCreate, retention_days: int, ttl: timedelta
) -> LinkCodeRead:
    """Record the resident's consent to link an account at a partner, and the one-time code that carries
    it to the partner. The text agreed to must be the current one, exactly as shown."""
    partner = await _linkable(session, data.partner)
    shown = render(partner=partner.name, kind=partner.kind, locale=data.locale, retention_days=retention_days)
    if data.text_version != shown.version or data.text_sha256 != shown.sha256.hex():
        raise ConsentTextOutdated
    if await repository.in_force(session, resident_id=resident_id, partner_id=partner.id):
        raise AlreadyLinked
    code = typed_codes.new_code(CODE_LENGTH)
    now = datetime.now(UTC)
    expires_at = now + ttl
    await repository.insert_code(
        session,
        {
            "code_hash": _code_hash(code),
            "resident_id": resident_id,
            "partner_id": partner.id,
            "text_version": shown.version,
            "locale": data.locale,
            "text_sha256": shown.sha256,
            "method": data.method.value,
            "agreed_at": now,
            "expires_at": expires_at,
        },
    )
    return LinkCodeRead(code=typed_codes.grouped(code, 4), expires_at=expires_at, partner=_partner_read(partner))


async def redeem(session: AsyncSession, *, partner_id: int, code: str) -> PartnerLinkRead:
    """A partner redeems a resident's code: the link comes into force and the partner gets its pseudonym.
    A code is good once, for the partner it was made for, until it expires."""
    normalised = typed_codes.normalise(code, CODE_LENGTH)
    found = await repository.lock_code(session, _code_hash(normalised)) if normalised else None
    if found is None or found.partner_id != partner_id:
        raise LinkCodeUnknown
    if found.used_at is not None:
        raise LinkCodeUsed
    if found.expires_at <= datetime.now(UTC):
        raise LinkCodeExpired
    await repository.lock_account(session, found.resident_id)
    if await repository.in_force(session, resident_id=found.resident_id, partner_id=partner_id):
        raise AlreadyLinked
    link = await repository.insert_link(
        session,
        {
            "resident_id": found.resident_id,
            "partner_id": partner_id,
            "pseudonym": _new_pseudonym(),
            "text_version": found.text_version,
            "locale": found.locale,
            "text_sha256": found.text_sha256,
            "method": found.method,
            "agreed_at": found.agreed_at,
        },
    )
    await repository.insert_event(session, link, kind=EventKind.granted, at=link.granted_at, reason=None)
    await repository.use_code(session, found.code_hash, link_id=link.id)
    await webhooks.emit(
        session,
        event_type=webhooks.EventType.link_created,
        partner_id=partner_id,
        data={"link_id": link.public_id, "granted_at": link.granted_at},
    )
    return partner_link_read(link)


async def links(session: AsyncSession | ReadSession, *, resident_id: int) -> LinkList:
    """The resident's links, in force and revoked, oldest first."""
    rows = await repository.links_of(session, resident_id=resident_id)
    return LinkList(items=[link_read(link, partner) for link, partner in rows])


async def revoke_link(session: AsyncSession, link: Link, *, by: RevokedBy) -> Link | None:
    """Revoke under the resident's account lock, at the clock's time, record the event and tell the partner
    (by the link's id: an erasure clears the pseudonym in the same transaction)."""
    await repository.lock_account(session, link.resident_id)
    revoked = await repository.revoke(session, link.id, by=by.value)
    if revoked is not None:
        assert revoked.revoked_at is not None
        await repository.insert_event(session, revoked, kind=EventKind.revoked, at=revoked.revoked_at, reason=by.value)
        await webhooks.emit(
            session,
            event_type=webhooks.EventType.link_revoked,
            partner_id=revoked.partner_id,
            data={"link_id": revoked.public_id, "revoked_at": revoked.revoked_at, "reason": by.value},
        )
    return revoked


async def revoke(session: AsyncSession, *, resident_id: int, link_id: uuid.UUID) -> LinkRead:
    """The resident withdraws consent: the partner's records for them are refused from now on."""
    found = await repository.link_of(session, resident_id=resident_id, public_id=link_id)
    if found is None:
        raise LinkNotFound
    link, partner = found
    revoked = await revoke_link(session, link, by=RevokedBy.resident) if link.revoked_at is None else None
    if revoked is None:
        raise LinkRevoked
    return link_read(revoked, partner)


async def partner_links(
    session: ReadSession, *, partner_id: int, cursor: str | None, limit: int, status: str | None
) -> PartnerLinkPage:
    """A page of the partner's links, oldest first: what it may send records for, and what it may not."""
    rows = await repository.partner_links(
        session, partner_id=partner_id, after_id=decode_cursor(cursor) or 0, limit=limit + 1, status=status
    )
    items = [partner_link_read(link) for link in rows[:limit]]
    return PartnerLinkPage(items=items, next_cursor=encode_cursor(rows[limit - 1].id) if len(rows) > limit else None)
