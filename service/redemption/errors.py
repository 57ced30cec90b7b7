"""Why a redemption, a voucher check, a cancellation or a retirement is refused. Nothing changes when one is."""

from service.errors import Conflict, NotFound


class RewardNotFound(NotFound):
    code, title_en, title_zh = "REWARD_NOT_FOUND", "No such reward", "奖励不存在"


class RewardUnavailable(Conflict):
    code = "REWARD_UNAVAILABLE"
    title_en, title_zh = "This reward cannot be redeemed now", "该奖励当前不可兑换"


class RewardSoldOut(Conflict):
    code, title_en, title_zh = "REWARD_SOLD_OUT", "This reward is sold out", "该奖励已兑完"


class RedemptionLimitReached(Conflict):
    code = "REDEMPTION_LIMIT_REACHED"
    title_en, title_zh = "You have redeemed this reward as often as allowed", "已达到该奖励的每人兑换上限"


class VoucherNotFound(NotFound):
    code, title_en, title_zh = "VOUCHER_NOT_FOUND", "No such voucher", "兑换券不存在"


class VoucherUsed(Conflict):
    code, title_en, title_zh = "VOUCHER_USED", "This voucher was already used", "该兑换券已被使用"


class VoucherExpired(Conflict):
    code, title_en, title_zh = "VOUCHER_EXPIRED", "This voucher has expired", "该兑换券已过期"


class VoucherCancelled(Conflict):
    code, title_en, title_zh = "VOUCHER_CANCELLED", "This voucher was cancelled", "该兑换券已取消"


class CertificateNotFound(NotFound):
    code, title_en, title_zh = "CERTIFICATE_NOT_FOUND", "No such certificate", "证书不存在"
