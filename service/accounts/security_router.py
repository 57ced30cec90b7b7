"""A staff user's own account security: password, two-factor sign-in, sign-ins and sessions. Every route
takes any staff user's token, an administrator's enrolment-only one included."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from service.accounts import security
from service.accounts.deps import AccountProofLimit, SettingsDep, StaffAccount, TotpBoxDep
from service.accounts.errors import (
    CurrentPasswordWrong,
    PasswordTooWeak,
    SessionNotFound,
    TotpAlreadyEnabled,
    TotpCodeWrong,
    TotpEnrolmentNotStarted,
    TotpNotEnabled,
)
from service.accounts.security_schemas import (
    AccountSecurityRead,
    PasswordChange,
    RecoveryCodes,
    StaffSessionPage,
    StaffSigninPage,
    TotpCode,
    TotpEnrolmentStarted,
    TotpProof,
)
from service.db import ReadSessionDep, SessionDep
from service.kit.openapi import problems
from service.kit.pagination import Cursor, Limit
from service.kit.schemas import ID_MAX

router = APIRouter(tags=["staff"])

SessionId = Annotated[int, Path(ge=1, le=ID_MAX, description="The session's id.", examples=[311])]


@router.get("/v1/staff/me/security")
async def account_security(caller: StaffAccount, session: ReadSessionDep, settings: SettingsDep) -> AccountSecurityRead:
    """Whether two-factor sign-in is on, whether it is required, and how many recovery codes are left."""
    return await security.account_security(
        session, caller=caller, admin_totp_required=settings.admin_totp_required_enabled
    )


@router.post(
    "/v1/staff/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[AccountProofLimit],
    responses=problems(CurrentPasswordWrong, PasswordTooWeak),
)
async def change_password(caller: StaffAccount, body: PasswordChange, session: SessionDep) -> Response:
    """Change the password, given the current one; every other session of the user is signed out."""
    await security.change_password(
        session, caller=caller, current_password=body.current_password, new_password=body.new_password
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/v1/staff/me/totp", responses=problems(TotpAlreadyEnabled))
async def start_totp(caller: StaffAccount, session: SessionDep, box: TotpBoxDep) -> TotpEnrolmentStarted:
    """Begin setting up two-factor sign-in: a new secret and its QR code, to confirm with a code from it."""
    return await security.start_enrolment(session, box=box, caller=caller)


@router.post(
    "/v1/staff/me/totp/confirm",
    dependencies=[AccountProofLimit],
    responses=problems(TotpCodeWrong, TotpEnrolmentNotStarted, TotpAlreadyEnabled),
)
async def confirm_totp(caller: StaffAccount, body: TotpCode, session: SessionDep, box: TotpBoxDep) -> RecoveryCodes:
    """Turn two-factor sign-in on with a code from the new secret; answers the recovery codes, once."""
    return await security.confirm_enrolment(session, box=box, caller=caller, code=body.code)


@router.post(
    "/v1/staff/me/totp/disable",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[AccountProofLimit],
    responses=problems(TotpCodeWrong, CurrentPasswordWrong, TotpNotEnabled),
)
async def disable_totp(caller: StaffAccount, body: TotpProof, session: SessionDep, box: TotpBoxDep) -> Response:
    """Turn two-factor sign-in off, given a current code or the password."""
    await security.disable_totp(session, box=box, caller=caller, proof=body)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/v1/staff/me/totp/recovery-codes",
    dependencies=[AccountProofLimit],
    responses=problems(TotpCodeWrong, CurrentPasswordWrong, TotpNotEnabled),
)
async def renew_recovery_codes(
    caller: StaffAccount, body: TotpProof, session: SessionDep, box: TotpBoxDep
) -> RecoveryCodes:
    """Ten new recovery codes in place of the old ones, given a current code or the password."""
    return await security.regenerate_recovery_codes(session, box=box, caller=caller, proof=body)


@router.get("/v1/staff/me/signins")
async def list_signins(
    caller: StaffAccount, session: ReadSessionDep, cursor: Cursor = None, limit: Limit = 20
) -> StaffSigninPage:
    """The user's sign-in attempts of the last 90 days (by default), newest first."""
    return await security.signins(session, user_id=caller.principal.subject_id, cursor=cursor, limit=limit)


@router.get("/v1/staff/me/sessions")
async def list_sessions(
    caller: StaffAccount, session: ReadSessionDep, cursor: Cursor = None, limit: Limit = 20
) -> StaffSessionPage:
    """The user's active sessions, newest first; `current` marks the one the request came from."""
    return await security.sessions(session, caller=caller, cursor=cursor, limit=limit)


@router.delete(
    "/v1/staff/me/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(SessionNotFound),
)
async def end_session(caller: StaffAccount, session_id: SessionId, session: SessionDep) -> Response:
    """Sign one session out: its tokens are refused from their next request."""
    await security.end_session(session, caller=caller, session_id=session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
