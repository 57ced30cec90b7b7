"""Data partners: registering them, their signing keys, and checking the signature on every request."""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import actions, repository
from service.accounts.errors import (
    PartnerCodeTaken,
    PartnerSignatureInvalid,
    PartnerSignatureReplayed,
    PartnerTimestampOutOfWindow,
)
from service.accounts.models import Partner, PartnerKey, PartnerKind
from service.accounts.partner_schemas import PartnerCreate, PartnerKeyIssued, PartnerKeyRead, PartnerPage, PartnerRead
from service.accounts.signing import signature as compute_signature
from service.accounts.tokens import Principal
from service.db import ReadSession
from service.errors import NotFound
from service.kit.pagination import decode_cursor, encode_cursor
from service.kit.secrets import SecretBox, random_token


def _key_context(key_id: str) -> str:
    return f"partner-key:{key_id}"


def partner_read(partner: Partner) -> PartnerRead:
    return PartnerRead(
        id=partner.id,
        code=partner.code,
        name=partner.name,
        kind=PartnerKind(partner.kind),
        created_at=partner.created_at,
        disabled=partner.disabled_at is not None,
    )


async def create_partner(session: AsyncSession, *, code: str, name: str, kind: str) -> Partner:
    partner = await repository.insert_partner(session, {"code": code, "name": name, "kind": kind})
    if partner is None:
        raise PartnerCodeTaken
    return partner


async def register(session: AsyncSession, *, admin: Principal, data: PartnerCreate) -> PartnerRead:
    """Register a data partner by an administrator's hand, and log it."""
    partner = await create_partner(session, code=data.code, name=data.name, kind=data.kind.value)
    await actions.log(session, admin, "partner.create", f"partner:{partner.id}", code=partner.code)
    return partner_read(partner)


async def partners(session: ReadSession, *, cursor: str | None, limit: int) -> PartnerPage:
    """A page of data partners, oldest first."""
    rows = await repository.list_partners(session, after_id=decode_cursor(cursor) or 0, limit=limit + 1)
    items = [partner_read(p) for p in rows[:limit]]
    return PartnerPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


async def issue_partner_key(session: AsyncSession, *, box: SecretBox, partner_id: int) -> tuple[PartnerKey, str]:
    """A new signing key, its secret sealed at rest; returns the key and the secret, which is never stored."""
    partner = await repository.get_partner(session, partner_id)
    if partner is None:
        raise NotFound
    key_id = f"pk_{partner.code}_{secrets.token_hex(6)}"
    secret = random_token(32)
    key = await repository.insert_partner_key(
        session, partner_id=partner.id, key_id=key_id, secret_ciphertext=box.seal(secret, context=_key_context(key_id))
    )
    return key, secret


async def issue_key(session: AsyncSession, *, admin: Principal, box: SecretBox, partner_id: int) -> PartnerKeyIssued:
    """Issue a key by an administrator's hand, and log it; the secret is shown only in this reply."""
    key, secret = await issue_partner_key(session, box=box, partner_id=partner_id)
    await actions.log(session, admin, "partner.key.issue", f"partner:{partner_id}", key_id=key.key_id)
    return PartnerKeyIssued(partner_id=partner_id, key_id=key.key_id, secret=secret)


async def keys(session: ReadSession, *, partner_id: int) -> list[PartnerKeyRead]:
    return [PartnerKeyRead.model_validate(k) for k in await repository.list_partner_keys(session, partner_id)]


async def revoke_key(session: AsyncSession, *, admin: Principal, partner_id: int, key_id: str) -> None:
    """Revoke a signing key at once, and log it."""
    if not await repository.revoke_partner_key(session, partner_id=partner_id, key_id=key_id):
        raise NotFound
    await actions.log(session, admin, "partner.key.revoke", f"partner:{partner_id}", key_id=key_id)


async def authenticate(
    session: AsyncSession,
    *,
    box: SecretBox,
    window: timedelta,
    key_id: str | None,
    timestamp: str | None,
    signature: str | None,
    method: str,
    path_and_query: str,
    body: bytes,
) -> tuple[Partner, PartnerKey]:
    """Check a signed partner request; the signature is remembered in this transaction to refuse replays."""
    if not key_id or not timestamp or not signature:
        raise PartnerSignatureInvalid(
            "Send X-Tanpuhui-Key-Id, X-Tanpuhui-Timestamp and X-Tanpuhui-Signature.",
            "请携带 X-Tanpuhui-Key-Id、X-Tanpuhui-Timestamp 和 X-Tanpuhui-Signature 请求头。",
        )
    try:
        signed_at = datetime.fromtimestamp(int(timestamp), UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise PartnerTimestampOutOfWindow("The timestamp must be Unix seconds.", "时间戳须为 Unix 秒。") from exc
    if abs(datetime.now(UTC) - signed_at) > window:
        raise PartnerTimestampOutOfWindow
    found = await repository.get_active_key_with_partner(session, key_id)
    if found is None:
        raise PartnerSignatureInvalid("Unknown or revoked key id.", "密钥 ID 不存在或已吊销。")
    key, partner = found
    secret = box.open(key.secret_ciphertext, context=_key_context(key.key_id))
    expected = compute_signature(secret, method, path_and_query, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.lower().encode("utf-8", "replace")):
        raise PartnerSignatureInvalid("The signature does not match the request.", "签名与请求不匹配。")
    if not await repository.remember_signature(session, partner_key_id=key.id, signature=expected):
        raise PartnerSignatureReplayed
    return partner, key
