"""Sign-in and account errors; each a stable code (see the tree in service/errors.py)."""

from service.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Unauthenticated,
    ValidationFailed,
)


class InvalidToken(Unauthenticated):
    code, title_en, title_zh = "INVALID_TOKEN", "The access token is invalid", "访问令牌无效"


class TokenExpired(Unauthenticated):
    code, title_en, title_zh = "TOKEN_EXPIRED", "The access token has expired", "访问令牌已过期"


class TokenRevoked(Unauthenticated):
    code, title_en, title_zh = "TOKEN_REVOKED", "This sign-in has ended", "此次登录已失效"


class InvalidCredentials(Unauthenticated):
    code, title_en, title_zh = "INVALID_CREDENTIALS", "Wrong username or password", "用户名或密码错误"
    keeps_writes = True  # the record of the failed attempt, which its user reads among their sign-ins


class InvalidRefreshToken(Unauthenticated):
    code, title_en, title_zh = "INVALID_REFRESH_TOKEN", "The refresh token is invalid", "刷新令牌无效"


class RefreshTokenReused(Unauthenticated):
    code = "REFRESH_TOKEN_REUSED"
    title_en = "This refresh token was already used; every session of this sign-in is now signed out"
    title_zh = "该刷新令牌已被使用，本次登录的所有会话均已退出"
    keeps_writes = True


class AccountDisabled(Forbidden):
    code, title_en, title_zh = "ACCOUNT_DISABLED", "This account is disabled", "该账号已停用"
    keeps_writes = True  # the record of the attempt


class EnterpriseNotApproved(Forbidden):
    code = "ENTERPRISE_NOT_APPROVED"
    title_en, title_zh = "The enterprise is not approved", "企业尚未通过审核"


class RoleNotAllowed(Forbidden):
    code, title_en, title_zh = "ROLE_NOT_ALLOWED", "Your role may not use this endpoint", "当前角色无权访问此接口"


class WechatCodeInvalid(Unauthenticated):
    code, title_en, title_zh = (
        "WECHAT_CODE_INVALID",
        "The WeChat login code is invalid or used",
        "微信登录凭证无效或已使用",
    )


class WechatUserBlocked(Forbidden):
    code, title_en, title_zh = "WECHAT_USER_BLOCKED", "WeChat refused this user", "微信拒绝了该用户的登录"


class WechatUnavailable(ServiceUnavailable):
    code, title_en, title_zh = (
        "WECHAT_UNAVAILABLE",
        "WeChat sign-in is unavailable; try again shortly",
        "微信登录暂不可用，请稍后重试",
    )


class DevLoginDisabled(NotFound):
    pass


class PartnerSignatureInvalid(Unauthenticated):
    code, title_en, title_zh = "PARTNER_SIGNATURE_INVALID", "The request signature is invalid", "请求签名无效"

    def __init__(self, detail_en: str | None = None, detail_zh: str | None = None) -> None:
        super().__init__(detail_en, detail_zh, headers={"WWW-Authenticate": "TANPUHUI-HMAC-SHA256"})


class PartnerTimestampOutOfWindow(PartnerSignatureInvalid):
    code = "PARTNER_TIMESTAMP_OUT_OF_WINDOW"
    title_en, title_zh = "The request timestamp is outside the allowed window", "请求时间戳超出允许范围"


class PartnerSignatureReplayed(PartnerSignatureInvalid):
    code, title_en, title_zh = "PARTNER_SIGNATURE_REPLAYED", "This signature was already used", "该签名已被使用"


class UnknownCommunity(ValidationFailed):
    code, title_en, title_zh = "UNKNOWN_COMMUNITY", "No such community", "社区不存在"


class UnknownOrganisation(ValidationFailed):
    code, title_en, title_zh = "UNKNOWN_ORGANISATION", "No such organisation", "组织不存在"


class UsernameTaken(Conflict):
    code, title_en, title_zh = "USERNAME_TAKEN", "This username is taken", "用户名已被占用"


class PartnerCodeTaken(Conflict):
    code, title_en, title_zh = "PARTNER_CODE_TAKEN", "This partner code is taken", "合作方代码已被占用"


class UnknownEnterprise(ValidationFailed):
    code, title_en, title_zh = "UNKNOWN_ENTERPRISE", "No such enterprise", "企业不存在"


class AccountFrozen(Forbidden):
    code = "ACCOUNT_FROZEN"
    title_en = "This account is frozen pending review"
    title_zh = "该账号因审核被冻结"


# ---------------------------------------------------------------------------------------------- staff security


class PasswordTooWeak(ValidationFailed):
    code = "PASSWORD_TOO_WEAK"
    title_en = "This password is too easy to guess"
    title_zh = "密码太容易被猜到"


class CurrentPasswordWrong(ValidationFailed):
    code, title_en, title_zh = "CURRENT_PASSWORD_WRONG", "The current password is wrong", "当前密码不正确"


class TotpRequired(Unauthenticated):
    code = "TOTP_REQUIRED"
    title_en = "Enter the code from your authenticator app"
    title_zh = "请输入身份验证器应用中的验证码"
    keeps_writes = True  # the record of the attempt


class TotpInvalid(Unauthenticated):
    code = "TOTP_INVALID"
    title_en = "The verification code or recovery code is wrong or already used"
    title_zh = "验证码或恢复码错误或已被使用"
    keeps_writes = True  # the record of the attempt


class TotpCodeWrong(ValidationFailed):
    code = "TOTP_CODE_WRONG"
    title_en = "The verification code is wrong or already used"
    title_zh = "验证码错误或已被使用"


class TotpEnrolmentRequired(Forbidden):
    code = "TOTP_ENROLMENT_REQUIRED"
    title_en = "Set up two-factor sign-in first"
    title_zh = "请先启用两步验证"


class TotpAlreadyEnabled(Conflict):
    code, title_en, title_zh = "TOTP_ALREADY_ENABLED", "Two-factor sign-in is already on", "两步验证已启用"


class TotpNotEnabled(Conflict):
    code, title_en, title_zh = "TOTP_NOT_ENABLED", "Two-factor sign-in is not on", "两步验证未启用"


class TotpEnrolmentNotStarted(Conflict):
    code = "TOTP_ENROLMENT_NOT_STARTED"
    title_en = "Start setting up two-factor sign-in first"
    title_zh = "请先开始设置两步验证"


class SessionNotFound(NotFound):
    code, title_en, title_zh = "SESSION_NOT_FOUND", "No such sign-in of yours", "没有这个登录会话"


class DistrictOnly(Forbidden):
    code = "DISTRICT_ONLY"
    title_en = "Only a district-wide administrator may do this"
    title_zh = "仅全区管理员可执行此操作"


class OutsideScope(Forbidden):
    code = "OUTSIDE_SCOPE"
    title_en = "This lies outside the community you are responsible for"
    title_zh = "超出您负责的社区范围"


class ScopeNotForRole(ValidationFailed):
    code = "SCOPE_NOT_FOR_ROLE"
    title_en = "Only an auditor or operator can be kept to one community"
    title_zh = "只有审计员或操作员可以限定到单个社区"
