"""Rewards and vouchers for residents; rewards, vouchers at the counter and retirement for enterprises;
certificates for anyone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from service.accounts.deps import (
    CurrentResident,
    EnterpriseApplicant,
    EnterpriseUser,
    ResidentWriteLimit,
    SettingsDep,
    SignedIn,
)
from service.accounts.errors import AccountFrozen, EnterpriseNotApproved
from service.accounts.tokens import Principal
from service.db import ReadSessionDep, SessionDep, database_of
from service.errors import DatabaseUnavailable, DuplicateConflict, RateLimited, answers
from service.kit import ratelimit
from service.kit.openapi import problems
from service.kit.pagination import Cursor, Limit
from service.kit.schemas import ID_MAX
from service.ledger.errors import InsufficientCredits
from service.photos.errors import RewardImageUnknown
from service.redemption import books, enterprises, retirement, rewards, vouchers
from service.redemption.books_schemas import EnterpriseVoucherPage, StatementRead
from service.redemption.deps import VoucherCodesDep
from service.redemption.errors import (
    CertificateNotFound,
    RedemptionLimitReached,
    RewardNotFound,
    RewardSoldOut,
    RewardUnavailable,
    VoucherCancelled,
    VoucherExpired,
    VoucherNotFound,
    VoucherUsed,
)
from service.redemption.models import RewardCategory, VoucherStatus
from service.redemption.schemas import (
    CertificatePage,
    CertificateRead,
    EnterpriseCredits,
    RedeemRequest,
    RedemptionRead,
    RetirementCreate,
    RewardCreate,
    RewardPage,
    RewardRead,
    RewardUpdate,
    VoucherAccepted,
    VoucherCheck,
    VoucherPage,
    VoucherRead,
)

router = APIRouter()

RewardId = Annotated[int, Path(ge=1, le=ID_MAX, description="The reward's id.", examples=[8])]
VoucherId = Annotated[int, Path(ge=1, le=ID_MAX, description="The voucher's id.", examples=[31])]


def _enterprise_id(user: Principal) -> int:
    assert user.enterprise_id is not None  # the token of an enterprise user always names its enterprise
    return user.enterprise_id


# ---------------------------------------------------------------------------------------------- residents


@router.get("/v1/rewards", tags=["rewards"])
async def browse_rewards(
    _: SignedIn,
    session: ReadSessionDep,
    settings: SettingsDep,
    category: Annotated[
        RewardCategory | None, Query(description="Only this category.", examples=["food_drink"])
    ] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> RewardPage:
    """Rewards on offer now, newest first; sold-out ones show `stock_left` 0."""
    return await rewards.browse(
        session, category=category, cursor=cursor, limit=limit, base_url=settings.photo_link_base_url
    )


@router.get("/v1/rewards/{reward_id}", tags=["rewards"], responses=problems(RewardNotFound))
async def get_reward(_: SignedIn, reward_id: RewardId, session: ReadSessionDep, settings: SettingsDep) -> RewardRead:
    """One reward on offer."""
    return await rewards.on_offer(session, reward_id=reward_id, base_url=settings.photo_link_base_url)


@router.post(
    "/v1/rewards/{reward_id}/redeem",
    tags=["rewards"],
    status_code=status.HTTP_201_CREATED,
    dependencies=[ResidentWriteLimit],
    responses={
        **problems(
            RewardNotFound,
            RewardUnavailable,
            RewardSoldOut,
            RedemptionLimitReached,
            InsufficientCredits,
            AccountFrozen,
            DuplicateConflict,
        ),
        200: {"model": RedemptionRead, "description": "This client_id already redeemed it: the same voucher."},
    },
)
async def redeem(
    resident: CurrentResident,
    reward_id: Annotated[int, Path(ge=1, le=ID_MAX, description="The reward's id.", examples=[8])],
    body: RedeemRequest,
    session: SessionDep,
    codes: VoucherCodesDep,
    response: Response,
) -> RedemptionRead:
    """Spend credits on a reward and get a voucher; retry with the same client_id to get the same voucher."""
    redeemed, created = await vouchers.redeem(
        session, codes=codes, resident_id=resident.subject_id, reward_id=reward_id, client_id=body.client_id
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Cache-Control"] = "no-store"
    return redeemed


@router.get("/v1/me/vouchers", tags=["rewards"])
async def my_vouchers(
    resident: CurrentResident,
    session: ReadSessionDep,
    codes: VoucherCodesDep,
    response: Response,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> VoucherPage:
    """The signed-in resident's vouchers, newest first."""
    page = await vouchers.of_resident(session, codes=codes, resident_id=resident.subject_id, cursor=cursor, limit=limit)
    response.headers["Cache-Control"] = "no-store"
    return page


@router.get("/v1/me/vouchers/{voucher_id}", tags=["rewards"], responses=problems(VoucherNotFound))
async def my_voucher(
    resident: CurrentResident,
    voucher_id: VoucherId,
    session: ReadSessionDep,
    codes: VoucherCodesDep,
    response: Response,
) -> VoucherRead:
    """One of the signed-in resident's vouchers."""
    voucher = await vouchers.get_for_resident(
        session, codes=codes, resident_id=resident.subject_id, voucher_id=voucher_id
    )
    response.headers["Cache-Control"] = "no-store"
    return voucher


@router.post(
    "/v1/me/vouchers/{voucher_id}/cancel",
    tags=["rewards"],
    dependencies=[ResidentWriteLimit],
    responses=problems(VoucherNotFound, VoucherUsed, VoucherExpired, VoucherCancelled),
)
async def cancel_voucher(
    resident: CurrentResident, voucher_id: VoucherId, session: SessionDep, codes: VoucherCodesDep
) -> RedemptionRead:
    """Cancel an unused voucher before it expires: the credits and the stock come back."""
    return await vouchers.cancel(session, codes=codes, resident_id=resident.subject_id, voucher_id=voucher_id)


# ---------------------------------------------------------------------------------------------- enterprises


@router.get("/v1/enterprise/me", tags=["enterprise"], responses=problems(EnterpriseNotApproved))
async def enterprise_me(user: EnterpriseApplicant, session: ReadSessionDep) -> EnterpriseCredits:
    """The enterprise's status and credits: held, still open in vouchers, retirable and retired."""
    return await enterprises.credits(session, enterprise_id=_enterprise_id(user))


@router.post(
    "/v1/enterprise/rewards",
    tags=["enterprise"],
    status_code=status.HTTP_201_CREATED,
    responses=problems(EnterpriseNotApproved, RewardImageUnknown),
)
async def publish_reward(
    user: EnterpriseUser, body: RewardCreate, session: SessionDep, settings: SettingsDep
) -> RewardRead:
    """Publish a reward; only an approved enterprise can."""
    return await rewards.publish(
        session, enterprise_id=_enterprise_id(user), data=body, base_url=settings.photo_link_base_url
    )


@router.get("/v1/enterprise/rewards", tags=["enterprise"])
async def enterprise_rewards(user: EnterpriseUser, session: ReadSessionDep, settings: SettingsDep) -> list[RewardRead]:
    """The enterprise's own rewards, withdrawn ones included, newest first."""
    return await rewards.of_enterprise(
        session, enterprise_id=_enterprise_id(user), base_url=settings.photo_link_base_url
    )


@router.patch(
    "/v1/enterprise/rewards/{reward_id}",
    tags=["enterprise"],
    responses=problems(EnterpriseNotApproved, RewardNotFound, RewardImageUnknown),
)
async def change_reward(
    user: EnterpriseUser, reward_id: RewardId, body: RewardUpdate, session: SessionDep, settings: SettingsDep
) -> RewardRead:
    """Add stock, change the description, picture or end of the window, or withdraw a reward."""
    return await rewards.change(
        session,
        enterprise_id=_enterprise_id(user),
        reward_id=reward_id,
        changes=body,
        base_url=settings.photo_link_base_url,
    )


@router.get("/v1/enterprise/vouchers", tags=["enterprise"])
async def enterprise_vouchers(
    user: EnterpriseUser,
    session: ReadSessionDep,
    codes: VoucherCodesDep,
    status: Annotated[
        VoucherStatus | None, Query(description="Only vouchers in this status.", examples=["used"])
    ] = None,
    reward_id: Annotated[
        int | None, Query(ge=1, le=ID_MAX, description="Only vouchers of this reward.", examples=[27])
    ] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> EnterpriseVoucherPage:
    """The vouchers of the enterprise's rewards, newest first: a hint of each code, never the code."""
    return await books.vouchers_of(
        session,
        codes=codes,
        enterprise_id=_enterprise_id(user),
        status=status,
        reward_id=reward_id,
        cursor=cursor,
        limit=limit,
    )


Month = Annotated[
    str | None,
    Query(
        pattern=r"^2[0-9]{3}-(0[1-9]|1[0-2])$",
        description="The month, YYYY-MM (from 2000 on), in Asia/Shanghai; the current one when left out.",
        examples=["2026-12"],
    ),
]


@router.get("/v1/enterprise/statement", tags=["enterprise"])
async def enterprise_statement(
    user: EnterpriseUser,
    session: ReadSessionDep,
    month: Month = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Lines per page, 1–1000.", examples=[200])] = 200,
    cursor: Cursor = None,
) -> StatementRead:
    """A month of the enterprise's credits: opening and closing balance, what came in and went out, and the
    lines behind them; the figures always close against the ledger."""
    return await books.statement(session, enterprise_id=_enterprise_id(user), month=month, cursor=cursor, limit=limit)


@router.get(
    "/v1/enterprise/statement.csv",
    tags=["enterprise"],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The statement."}},
)
async def enterprise_statement_csv(user: EnterpriseUser, session: ReadSessionDep, month: Month = None) -> Response:
    """The month's statement as CSV: its figures, then every line."""
    body, filename = await books.statement_csv(session, enterprise_id=_enterprise_id(user), month=month)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@answers(RateLimited, DatabaseUnavailable)
async def _limit_voucher_checks(request: Request, user: EnterpriseUser, settings: SettingsDep) -> None:
    limit = ratelimit.Limit(settings.rate_voucher_checks_per_min)
    await ratelimit.take(database_of(request).engine, f"voucher-check:{user.enterprise_id}", limit)


@router.post(
    "/v1/enterprise/vouchers/accept",
    tags=["enterprise"],
    dependencies=[Depends(_limit_voucher_checks)],
    responses=problems(EnterpriseNotApproved, VoucherNotFound, VoucherUsed, VoucherExpired, VoucherCancelled),
)
async def accept_voucher(
    user: EnterpriseUser, body: VoucherCheck, session: SessionDep, codes: VoucherCodesDep
) -> VoucherAccepted:
    """Take a voucher at the counter: a valid, unused, unexpired code of this enterprise is marked used, once."""
    return await vouchers.accept(
        session, codes=codes, enterprise_id=_enterprise_id(user), user_id=user.subject_id, raw_code=body.code
    )


@router.post(
    "/v1/enterprise/retirements",
    tags=["enterprise"],
    status_code=status.HTTP_201_CREATED,
    responses={
        **problems(EnterpriseNotApproved, InsufficientCredits, DuplicateConflict),
        200: {"model": CertificateRead, "description": "This client_id already retired: the same certificate."},
    },
)
async def retire(
    user: EnterpriseUser, body: RetirementCreate, session: SessionDep, response: Response
) -> CertificateRead:
    """Retire credits for good for a named purpose and get a certificate."""
    certificate, created = await retirement.retire(session, enterprise_id=_enterprise_id(user), data=body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return certificate


@router.get("/v1/enterprise/retirements", tags=["enterprise"])
async def enterprise_certificates(user: EnterpriseUser, session: ReadSessionDep) -> CertificatePage:
    """The enterprise's certificates, newest first."""
    return await retirement.certificates_of(session, enterprise_id=_enterprise_id(user))


# ---------------------------------------------------------------------------------------------- public


@router.get("/v1/certificates/{number}", tags=["certificates"], responses=problems(CertificateNotFound))
async def check_certificate(
    number: Annotated[
        str,
        Path(
            min_length=1,
            max_length=40,
            description="The certificate number printed on it.",
            examples=["TPH-2026-0000000042"],
        ),
    ],
    session: ReadSessionDep,
) -> CertificateRead:
    """Anyone can check a retirement certificate by its number."""
    return await retirement.certificate(session, number=number)
