"""Sign-in flows, tokens, profiles and account administration."""

from __future__ import annotations

import hmac
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import repository
from service.accounts.errors import (
    AccountDisabled,
    InvalidCredentials,
    InvalidRefreshToken,
    PartnerCodeTaken,
    PartnerSignatureInvalid,
    PartnerSignatureReplayed,
    PartnerTimestampOutOfWindow,
    RefreshTokenReused,
    UnknownCommunity,
    UnknownEnterprise,
    UnknownOrganisation,
    UsernameTaken,
)
from service.accounts.models import Enterprise, EnterpriseStatus, Partner, PartnerKey, Resident, Role, User
from service.accounts.passwords import hash_password, verify_password
from service.accounts.schemas import (
    CommunityRead,
    EnterpriseRegister,
    EnterpriseReview,
    EnterpriseReviewDecision,
    OrganisationRead,
    ResidentExport,
    ResidentRead,
    ResidentUpdate,
    SessionRead,
    TokenPair,
    UserCreate,
)
from service.accounts.signing import signature as compute_signature
from service.accounts.tokens import Keyring, Principal
from service.accounts.wechat import WechatClient
from service.db import ReadSession
from service.errors import Conflict, NotFound
from service.kit.secrets import SecretBox, random_token, sha256

DEV_OPENID_PREFIX = "dev:"
DEMO_ADMIN_USERNAME = "demo-admin"


# ---------------------------------------------------------------------------------------------- tokens


async def issue_tokens(
    session: AsyncSession,
    *,
    keyring: Keyring,
    principal: Principal,
    refresh_ttl: timedelta,
    family_id: uuid.UUID | None = None,
) -> TokenPair:
    access, expires_in = keyring.issue(principal)
    refresh = random_token()
    await repository.insert_refresh_token(
        session,
        family_id=family_id or uuid.uuid4(),
        subject_kind=principal.subject_kind,
        subject_id=principal.subject_id,
        role=principal.role.value,
        token_hash=sha256(refresh),
        expires_at=datetime.now(UTC) + refresh_ttl,
    )
    return TokenPair(
        access_token=access,
        expires_in=expires_in,
        refresh_token=refresh,
        refresh_expires_in=int(refresh_ttl.total_seconds()),
        role=principal.role,
    )


async def refresh_tokens(
    session: AsyncSession, *, keyring: Keyring, refresh_token: str, refresh_ttl: timedelta
) -> TokenPair:
    """Rotate: the presented token is spent and a new pair issued in the same family.

    Presenting a spent token means it leaked (or a client raced itself): the whole family is revoked,
    and that revocation is kept even though the request fails.
    """
    token_hash = sha256(refresh_token)
    await repository.lock_refresh_family_of(session, token_hash)
    stored = await repository.lock_refresh_token(session, token_hash)
    if stored is None or stored.revoked_at is not None or stored.expires_at <= datetime.now(UTC):
        raise InvalidRefreshToken
    if stored.used_at is not None:
        await repository.revoke_refresh_family(session, stored.family_id, reason="reuse")
        raise RefreshTokenReused
    principal = await _current_principal(session, subject_kind=stored.subject_kind, subject_id=stored.subject_id)
    if principal is None:
        await repository.revoke_refresh_family(session, stored.family_id, reason="account-closed")
        raise InvalidRefreshToken
    await repository.mark_refresh_token_used(session, stored.id)
    return await issue_tokens(
        session, keyring=keyring, principal=principal, refresh_ttl=refresh_ttl, family_id=stored.family_id
    )


async def _current_principal(session: AsyncSession, *, subject_kind: str, subject_id: int) -> Principal | None:
    """The principal as it stands now: role changes and disabling take effect at the next refresh."""
    if subject_kind == "resident":
        resident = await repository.get_resident(session, subject_id)
        if resident is None or resident.deleted_at is not None:
            return None
        return Principal("resident", resident.id, Role.resident)
    user = await repository.get_user(session, subject_id)
    if user is None or user.disabled_at is not None:
        return None
    return Principal("user", user.id, Role(user.role), user.enterprise_id)


async def logout(session: AsyncSession, *, refresh_token: str) -> None:
    token_hash = sha256(refresh_token)
    await repository.lock_refresh_family_of(session, token_hash)
    stored = await repository.lock_refresh_token(session, token_hash)
    if stored is not None:
        await repository.revoke_refresh_family(session, stored.family_id, reason="logout")


# ---------------------------------------------------------------------------------------------- sign-in


def _resident_principal(resident: Resident) -> Principal:
    return Principal("resident", resident.id, Role.resident)


def _new_pseudonym() -> str:
    return "r-" + secrets.token_hex(8)


async def sign_in_wechat(
    session: AsyncSession,
    *,
    wechat: WechatClient,
    keyring: Keyring,
    code: str,
    refresh_ttl: timedelta,
    device_id: str | None = None,
) -> TokenPair:
    wx = await wechat.code2session(code)
    resident = await repository.upsert_resident_by_openid(
        session, openid=wx.openid, unionid=wx.unionid, pseudonym=_new_pseudonym()
    )
    if device_id is not None:
        await repository.record_device(session, device_id=device_id, resident_id=resident.id)
    return await issue_tokens(
        session, keyring=keyring, principal=_resident_principal(resident), refresh_ttl=refresh_ttl
    )


async def sign_in_dev(
    session: AsyncSession, *, keyring: Keyring, name: str, refresh_ttl: timedelta, device_id: str | None = None
) -> TokenPair:
    resident = await repository.upsert_resident_by_openid(
        session, openid=DEV_OPENID_PREFIX + name, unionid=None, pseudonym=_new_pseudonym()
    )
    if device_id is not None:
        await repository.record_device(session, device_id=device_id, resident_id=resident.id)
    return await issue_tokens(
        session, keyring=keyring, principal=_resident_principal(resident), refresh_ttl=refresh_ttl
    )


async def sign_in_password(
    session: AsyncSession, *, keyring: Keyring, username: str, password: str, refresh_ttl: timedelta
) -> TokenPair:
    user = await repository.get_user_by_username(session, username)
    if not await verify_password(user.password_hash if user else None, password) or user is None:
        raise InvalidCredentials
    if user.disabled_at is not None:
        raise AccountDisabled
    await repository.touch_last_login(session, user.id)
    principal = Principal("user", user.id, Role(user.role), user.enterprise_id)
    return await issue_tokens(session, keyring=keyring, principal=principal, refresh_ttl=refresh_ttl)


# ---------------------------------------------------------------------------------------------- residents


async def get_active_resident(session: AsyncSession | ReadSession, *, resident_id: int) -> Resident:
    resident = await repository.get_resident(session, resident_id)
    if resident is None or resident.deleted_at is not None:
        raise NotFound("This account no longer exists.", "该账号已不存在。")
    return resident


async def resident_read(session: AsyncSession | ReadSession, resident: Resident) -> ResidentRead:
    community, organisation = await repository.get_community_and_organisation_names(session, resident)
    return ResidentRead(
        id=resident.public_id,
        nickname=resident.nickname,
        handle=resident.pseudonym,
        community=CommunityRead.model_validate(community) if community else None,
        organisation=OrganisationRead.model_validate(organisation) if organisation else None,
        leaderboard_visible=resident.leaderboard_visible,
        created_at=resident.created_at,
    )


async def update_profile(session: AsyncSession, *, resident_id: int, changes: ResidentUpdate) -> ResidentRead:
    values = changes.model_dump(exclude_unset=True)
    if values.get("community_id") is not None and not await repository.community_exists(
        session, values["community_id"]
    ):
        raise UnknownCommunity(
            errors=[{"field": "community_id", "in": "body", "code": "UNKNOWN", "message": "no such community"}]
        )
    if values.get("organisation_id") is not None and not await repository.organisation_exists(
        session, values["organisation_id"]
    ):
        raise UnknownOrganisation(
            errors=[{"field": "organisation_id", "in": "body", "code": "UNKNOWN", "message": "no such organisation"}]
        )
    if values.get("leaderboard_visible", True) is None:
        values.pop("leaderboard_visible")
    resident = await get_active_resident(session, resident_id=resident_id)
    if values:
        resident = await repository.update_resident(session, resident.id, values)
    return await resident_read(session, resident)


async def export_resident(session: AsyncSession | ReadSession, *, resident_id: int) -> ResidentExport:
    resident = await get_active_resident(session, resident_id=resident_id)
    sessions = await repository.list_sessions(session, subject_kind="resident", subject_id=resident.id)
    openid = resident.openid
    return ResidentExport(
        exported_at=datetime.now(UTC),
        profile=await resident_read(session, resident),
        wechat_openid=openid,
        sessions=[SessionRead.model_validate(row, from_attributes=True) for row in sessions],
    )


async def delete_resident(session: AsyncSession, *, resident_id: int) -> None:
    """Erase personal data and sign out everywhere; ledger amounts stay under the pseudonym."""
    resident = await repository.lock_resident(session, resident_id)
    if resident is None or resident.deleted_at is not None:
        raise NotFound("This account no longer exists.", "该账号已不存在。")
    await repository.erase_resident(session, resident.id)
    await repository.revoke_subject_tokens(session, subject_kind="resident", subject_id=resident.id, reason="deleted")


# ---------------------------------------------------------------------------------------------- staff


async def create_user(session: AsyncSession, *, data: UserCreate) -> User:
    if (data.role is Role.enterprise) != (data.enterprise_id is not None):
        raise UnknownEnterprise(
            "enterprise_id is required for the enterprise role and only for it.",
            "企业角色必须且只能指定 enterprise_id。",
            errors=[
                {"field": "enterprise_id", "in": "body", "code": "REQUIRED_FOR_ROLE", "message": "enterprise role only"}
            ],
        )
    if data.enterprise_id is not None and await repository.get_enterprise(session, data.enterprise_id) is None:
        raise UnknownEnterprise(
            errors=[{"field": "enterprise_id", "in": "body", "code": "UNKNOWN", "message": "no such enterprise"}]
        )
    user = await repository.insert_user(
        session,
        {
            "username": data.username,
            "password_hash": await hash_password(data.password),
            "role": data.role.value,
            "display_name": data.display_name,
            "enterprise_id": data.enterprise_id,
        },
    )
    if user is None:
        raise UsernameTaken
    return user


async def set_user_disabled(session: AsyncSession, *, user_id: int, disabled: bool) -> User:
    user = await repository.set_user_disabled(session, user_id, disabled=disabled)
    if user is None:
        raise NotFound
    if disabled:
        await repository.revoke_subject_tokens(session, subject_kind="user", subject_id=user_id, reason="disabled")
    return user


async def create_enterprise(session: AsyncSession, *, name: str, status: EnterpriseStatus) -> Enterprise:
    enterprise = await repository.insert_enterprise(session, name=name, status=status.value)
    if enterprise is None:
        raise Conflict("An enterprise of this name exists.", "同名企业已存在。")
    return enterprise


async def register_enterprise(session: AsyncSession, *, data: EnterpriseRegister) -> Enterprise:
    """An enterprise applies: it and its first user are created, pending an operator's review. The user can
    sign in at once and see the application's status, but publishes and retires nothing until approved."""
    enterprise = await repository.insert_enterprise(
        session,
        name=data.name,
        status=EnterpriseStatus.pending.value,
        credit_code=data.credit_code,
        contact_name=data.contact_name,
        contact_phone=data.contact_phone,
    )
    if enterprise is None:
        raise Conflict("An enterprise with this name or credit code is registered.", "同名或同一信用代码的企业已注册。")
    await create_user(
        session,
        data=UserCreate(
            username=data.username,
            password=data.password,
            display_name=data.display_name,
            role=Role.enterprise,
            enterprise_id=enterprise.id,
        ),
    )
    return enterprise


_REVIEW_MOVES = {
    EnterpriseReviewDecision.approve: ({EnterpriseStatus.pending}, EnterpriseStatus.approved),
    EnterpriseReviewDecision.reject: ({EnterpriseStatus.pending}, EnterpriseStatus.rejected),
    EnterpriseReviewDecision.suspend: ({EnterpriseStatus.approved}, EnterpriseStatus.suspended),
    EnterpriseReviewDecision.reinstate: (
        {EnterpriseStatus.suspended, EnterpriseStatus.rejected},
        EnterpriseStatus.approved,
    ),
}


async def review_enterprise(
    session: AsyncSession, *, enterprise_id: int, review: EnterpriseReview, reviewer: str
) -> Enterprise:
    enterprise = await repository.lock_enterprise(session, enterprise_id)
    if enterprise is None:
        raise NotFound("No such enterprise.", "企业不存在。")
    allowed_from, to = _REVIEW_MOVES[review.decision]
    if EnterpriseStatus(enterprise.status) not in allowed_from:
        raise Conflict(
            f"An enterprise that is {enterprise.status} cannot be given the decision {review.decision.value}.",
            f"状态为 {enterprise.status} 的企业不能执行 {review.decision.value}。",
        )
    return await repository.set_enterprise_status(
        session, enterprise_id, status=to.value, reviewer=reviewer, reason=review.reason
    )


async def set_frozen(session: AsyncSession, *, public_id: uuid.UUID, frozen: bool, reason: str) -> Resident:
    """Freeze a resident (recording and redemption refused, balance kept) or unfreeze them."""
    resident = await repository.resident_by_public_id(session, public_id)
    if resident is None or resident.deleted_at is not None:
        raise NotFound("No such resident.", "居民不存在。")
    if (resident.frozen_at is not None) == frozen:
        raise Conflict(
            "The resident is already " + ("frozen." if frozen else "not frozen."),
            "该居民" + ("已被冻结。" if frozen else "未被冻结。"),
        )
    return await repository.set_resident_frozen(session, resident.id, reason=reason if frozen else None)


async def ensure_demo_admin(session: AsyncSession) -> tuple[str, str] | None:
    """Create the demo super-administrator once; returns its credentials only when just created."""
    if await repository.any_super_admin(session):
        return None
    password = secrets.token_urlsafe(12)
    await create_user(
        session,
        data=UserCreate(
            username=DEMO_ADMIN_USERNAME, password=password, display_name="Demo administrator", role=Role.admin_super
        ),
    )
    return DEMO_ADMIN_USERNAME, password


# ---------------------------------------------------------------------------------------------- partners


def _key_context(key_id: str) -> str:
    return f"partner-key:{key_id}"


async def create_partner(session: AsyncSession, *, code: str, name: str, kind: str) -> Partner:
    partner = await repository.insert_partner(session, {"code": code, "name": name, "kind": kind})
    if partner is None:
        raise PartnerCodeTaken
    return partner


async def issue_partner_key(session: AsyncSession, *, box: SecretBox, partner_id: int) -> tuple[PartnerKey, str]:
    partner = await repository.get_partner(session, partner_id)
    if partner is None:
        raise NotFound
    key_id = f"pk_{partner.code}_{secrets.token_hex(6)}"
    secret = random_token(32)
    key = await repository.insert_partner_key(
        session, partner_id=partner.id, key_id=key_id, secret_ciphertext=box.seal(secret, context=_key_context(key_id))
    )
    return key, secret


async def revoke_partner_key(session: AsyncSession, *, partner_id: int, key_id: str) -> None:
    if not await repository.revoke_partner_key(session, partner_id=partner_id, key_id=key_id):
        raise NotFound


async def authenticate_partner(
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
    if not await repository.record_signature(session, partner_key_id=key.id, signature=expected):
        raise PartnerSignatureReplayed
    return partner, key
