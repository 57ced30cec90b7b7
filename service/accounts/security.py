"""A staff user's own account security: changing the password, two-factor sign-in (TOTP) and its recovery
codes, the record of sign-in attempts, and the sign-ins (sessions) still active, any of which the user can
end. Administrators' changes are written to the admin action log; every user reads their own attempts.

TOTP secrets are sealed with the server's key (`box`), bound to their user. Two-factor is checked at
sign-in by `check_second_factor` (service/accounts/signin.py)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import actions, repository, totp
from service.accounts.errors import (
    CurrentPasswordWrong,
    SessionNotFound,
    TotpAlreadyEnabled,
    TotpCodeWrong,
    TotpEnrolmentNotStarted,
    TotpNotEnabled,
)
from service.accounts.models import ADMIN_ROLES, Role, User, UserTotp
from service.accounts.passwords import check_password, hash_password, verify_password
from service.accounts.repository import security as store
from service.accounts.security_schemas import (
    AccountSecurityRead,
    RecoveryCodes,
    StaffSessionPage,
    StaffSessionRead,
    StaffSigninPage,
    StaffSigninRead,
    TotpEnrolmentStarted,
    TotpProof,
)
from service.accounts.tokens import Principal, StaffCaller
from service.db import ReadSession
from service.errors import NotFound, ValidationFailed
from service.kit.pagination import decode_cursor, encode_cursor
from service.kit.secrets import SecretBox


def _context(user_id: int) -> str:
    return f"user-totp:{user_id}"


def totp_required_for(role: Role, *, admin_totp_required: bool) -> bool:
    return admin_totp_required and role in ADMIN_ROLES


async def _user(session: AsyncSession | ReadSession, user_id: int) -> User:
    user = await repository.get_user(session, user_id)
    if user is None:
        raise NotFound
    return user


async def _log(session: AsyncSession, principal: Principal, action: str, **details: Any) -> None:
    """An administrator's change to their own sign-in goes to the admin action log."""
    if principal.role in ADMIN_ROLES:
        await actions.log(session, principal, action, f"user:{principal.subject_id}", **details)


async def account_security(
    session: ReadSession, *, caller: StaffCaller, admin_totp_required: bool
) -> AccountSecurityRead:
    user_id = caller.principal.subject_id
    enabled = await store.has_confirmed_totp(session, user_id)
    return AccountSecurityRead(
        totp_enabled=enabled,
        totp_required=totp_required_for(caller.principal.role, admin_totp_required=admin_totp_required),
        recovery_codes_left=await store.recovery_codes_left(session, user_id) if enabled else 0,
    )


# ---------------------------------------------------------------------------------------------- password


async def change_password(
    session: AsyncSession, *, caller: StaffCaller, current_password: str, new_password: str
) -> None:
    """Set a new password, given the current one, and end every other sign-in of the user."""
    user = await _user(session, caller.principal.subject_id)
    if not await verify_password(user.password_hash, current_password):
        raise CurrentPasswordWrong(
            errors=[{"field": "current_password", "in": "body", "code": "WRONG", "message": "not the current password"}]
        )
    await check_password(new_password, user_inputs=[user.username, user.display_name], field="new_password")
    await store.set_password_hash(session, user_id=user.id, password_hash=await hash_password(new_password))
    await _end_other_sessions(session, user_id=user.id, keep=caller.session_id, reason="password-changed")
    await _log(session, caller.principal, "user.password.change")


async def _end_other_sessions(session: AsyncSession, *, user_id: int, keep: str | None, reason: str) -> None:
    current = uuid.UUID(keep) if keep is not None else None
    for family_id in await store.other_active_families(session, user_id=user_id, keep=current):
        await repository.revoke_refresh_family(session, family_id, reason=reason)


# ---------------------------------------------------------------------------------------------- TOTP


async def start_enrolment(session: AsyncSession, *, box: SecretBox, caller: StaffCaller) -> TotpEnrolmentStarted:
    """A new secret awaiting confirmation by a code from it; an earlier unconfirmed one is replaced."""
    user = await _user(session, caller.principal.subject_id)
    secret = totp.new_secret()
    if not await store.put_pending_totp(
        session, user_id=user.id, secret_ciphertext=box.seal(secret, context=_context(user.id))
    ):
        raise TotpAlreadyEnabled(
            "Turn two-factor sign-in off before setting it up again.", "请先关闭两步验证再重新设置。"
        )
    uri = totp.provisioning_uri(secret, username=user.username)
    return TotpEnrolmentStarted(secret=secret, otpauth_uri=uri, qr_svg=totp.qr_svg(uri))


async def confirm_enrolment(session: AsyncSession, *, box: SecretBox, caller: StaffCaller, code: str) -> RecoveryCodes:
    """Turn TOTP on with a code from the pending secret; answers the recovery codes, shown this once."""
    user_id = caller.principal.subject_id
    pending = await store.lock_totp(session, user_id)
    if pending is None or pending.confirmed_at is not None:
        if pending is not None:
            raise TotpAlreadyEnabled
        raise TotpEnrolmentNotStarted
    await _accept_code(session, box=box, stored=pending, code=code, confirm=True)
    codes = await _new_recovery_codes(session, user_id=user_id)
    await _log(session, caller.principal, "user.totp.enable")
    return codes


async def disable_totp(session: AsyncSession, *, box: SecretBox, caller: StaffCaller, proof: TotpProof) -> None:
    """Turn TOTP off, given a current code or the password; the recovery codes go with it."""
    await _prove(session, box=box, caller=caller, proof=proof)
    await store.delete_totp(session, caller.principal.subject_id)
    await _log(session, caller.principal, "user.totp.disable")


async def regenerate_recovery_codes(
    session: AsyncSession, *, box: SecretBox, caller: StaffCaller, proof: TotpProof
) -> RecoveryCodes:
    """Ten new recovery codes in place of the old ones, given a current code or the password."""
    await _prove(session, box=box, caller=caller, proof=proof)
    codes = await _new_recovery_codes(session, user_id=caller.principal.subject_id)
    await _log(session, caller.principal, "user.totp.recovery_codes.renew")
    return codes


async def _prove(session: AsyncSession, *, box: SecretBox, caller: StaffCaller, proof: TotpProof) -> None:
    """The caller is the user: a current TOTP code or the password checks out. TOTP must be on."""
    if (proof.code is None) == (proof.password is None):
        raise ValidationFailed(
            "Send a current code or the password, one of the two.",
            "请提供当前验证码或密码（二者之一）。",
            errors=[{"field": "code", "in": "body", "code": "CODE_OR_PASSWORD", "message": "send code or password"}],
        )
    user_id = caller.principal.subject_id
    stored = await store.lock_totp(session, user_id)
    if stored is None or stored.confirmed_at is None:
        raise TotpNotEnabled
    if proof.code is not None:
        await _accept_code(session, box=box, stored=stored, code=proof.code)
        return
    user = await _user(session, user_id)
    if not await verify_password(user.password_hash, proof.password or ""):
        raise CurrentPasswordWrong(
            errors=[{"field": "password", "in": "body", "code": "WRONG", "message": "not the current password"}]
        )


async def _accept_code(
    session: AsyncSession, *, box: SecretBox, stored: UserTotp, code: str, confirm: bool = False
) -> None:
    secret = box.open(stored.secret_ciphertext, context=_context(stored.user_id))
    step = totp.matching_step(secret, code, after=stored.last_step)
    if step is None or not await store.use_totp_step(session, user_id=stored.user_id, step=step, confirm=confirm):
        raise TotpCodeWrong(
            "The code is wrong or was used already: enter the code the app shows now (check the phone's clock).",
            "验证码错误或已使用：请输入应用当前显示的验证码（并检查手机时间是否准确）。",
            errors=[{"field": "code", "in": "body", "code": "WRONG", "message": "wrong or used code"}],
        )


async def _new_recovery_codes(session: AsyncSession, *, user_id: int) -> RecoveryCodes:
    codes = totp.new_recovery_codes()
    await store.replace_recovery_codes(
        session, user_id=user_id, code_hashes=[totp.recovery_code_hash(code) for code in codes]
    )
    return RecoveryCodes(recovery_codes=codes)


async def check_second_factor(
    session: AsyncSession,
    *,
    box: SecretBox,
    user: User,
    totp_code: str | None,
    recovery_code: str | None,
) -> str | None:
    """At sign-in, for a user with TOTP on: "totp" or "recovery_code" for the factor that checked out (and
    is now spent), None when the one given did not. An administrator's use of a recovery code is logged."""
    stored = await store.lock_totp(session, user.id)
    if stored is None or stored.confirmed_at is None:  # turned off by a request that committed meanwhile
        return None
    if totp_code is not None:
        secret = box.open(stored.secret_ciphertext, context=_context(user.id))
        step = totp.matching_step(secret, totp_code, after=stored.last_step)
        if step is not None and await store.use_totp_step(session, user_id=user.id, step=step):
            return "totp"
        return None
    if recovery_code is not None and await store.use_recovery_code(
        session, user_id=user.id, code_hash=totp.recovery_code_hash(recovery_code)
    ):
        principal = Principal("user", user.id, Role(user.role), user.enterprise_id)
        await _log(
            session, principal, "user.totp.recovery_code.use", left=await store.recovery_codes_left(session, user.id)
        )
        return "recovery_code"
    return None


# ---------------------------------------------------------------------------------------------- sign-ins


async def signins(session: ReadSession, *, user_id: int, cursor: str | None, limit: int) -> StaffSigninPage:
    """The user's sign-in attempts, newest first."""
    rows = await store.list_signins(session, user_id=user_id, before_id=decode_cursor(cursor), limit=limit + 1)
    items = [StaffSigninRead.model_validate(row) for row in rows[:limit]]
    return StaffSigninPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


async def sessions(session: ReadSession, *, caller: StaffCaller, cursor: str | None, limit: int) -> StaffSessionPage:
    """The user's active sessions, newest sign-in first, the caller's own marked `current`."""
    rows = await store.list_active_sessions(
        session, user_id=caller.principal.subject_id, before_id=decode_cursor(cursor), limit=limit + 1
    )
    items = [
        StaffSessionRead(
            id=row.id,
            signed_in_at=row.signed_in_at,
            last_used_at=row.last_used_at,
            address=row.address,
            user_agent=row.user_agent,
            current=str(row.family_id) == caller.session_id,
        )
        for row in rows[:limit]
    ]
    return StaffSessionPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


async def end_session(session: AsyncSession, *, caller: StaffCaller, session_id: int) -> None:
    """Sign one of the user's sessions out: its refresh token stops working, and its access tokens are
    refused on their next request, on every worker."""
    found = await store.active_session(session, user_id=caller.principal.subject_id, session_id=session_id)
    if found is None:
        raise SessionNotFound
    await repository.revoke_refresh_family(session, found.family_id, reason="ended-by-user")
    await _log(session, caller.principal, "user.session.end", session_id=session_id)
