"""Why a behaviour is refused. Each class is a stable code; partner batches report the same codes per record."""

from service.errors import Conflict, NotFound, ValidationFailed


class BehaviourRejected(ValidationFailed):
    """A record that fails its type's rules; `code` names the rule."""

    code, title_en, title_zh = "BEHAVIOUR_INVALID", "The behaviour fails its type's rules", "该行为不符合其类型的规则"


class QuantityOutOfRange(BehaviourRejected):
    code, title_en, title_zh = (
        "QUANTITY_OUT_OF_RANGE",
        "The quantity is implausible for this type",
        "数量超出该类型的合理范围",
    )


class SpeedImplausible(BehaviourRejected):
    code, title_en, title_zh = (
        "SPEED_IMPLAUSIBLE",
        "Distance over duration is implausible",
        "距离与时长不匹配（速度不合理）",
    )


class TimeInFuture(BehaviourRejected):
    code, title_en, title_zh = "TIME_IN_FUTURE", "The time is in the future", "时间不能晚于当前时间"


class OutsideClaimWindow(BehaviourRejected):
    code, title_en, title_zh = "OUTSIDE_CLAIM_WINDOW", "Too old to claim", "已超过申报期限"


class InvalidInterval(BehaviourRejected):
    code, title_en, title_zh = (
        "INVALID_INTERVAL",
        "ended_at must follow occurred_at within a day",
        "结束时间须晚于开始时间且不超过一天",
    )


class UnitNotAccepted(BehaviourRejected):
    code, title_en, title_zh = "UNIT_NOT_ACCEPTED", "This unit is not accepted for this type", "该类型不接受此单位"


class CategoryInvalid(BehaviourRejected):
    code, title_en, title_zh = "CATEGORY_INVALID", "Missing or unknown category for this type", "缺少或未知的分类"


class NoFactorInForce(BehaviourRejected):
    code, title_en, title_zh = (
        "NO_FACTOR_IN_FORCE",
        "No emission factor was in force at that time",
        "该时间没有生效的排放因子",
    )


class TripAlreadyRecorded(Conflict):
    code = "TRIP_ALREADY_RECORDED"
    title_en = "This trip overlaps one already recorded"
    title_zh = "该行程与已记录的行程重叠"


class EvidenceAlreadyUsed(Conflict):
    code = "EVIDENCE_REUSED"
    title_en = "This evidence already backs another report"
    title_zh = "该凭证已用于另一条申报"


class UnknownResident(NotFound):
    code, title_en, title_zh = "UNKNOWN_RESIDENT", "No such resident", "居民不存在"


class BehaviourNotPending(Conflict):
    code, title_en, title_zh = "NOT_PENDING_REVIEW", "This behaviour is not awaiting review", "该行为不在待审核状态"


class EvidenceRefused(BehaviourRejected):
    """Evidence that failed a check: it earns nothing, and the fraud scan counts it."""

    code, title_en, title_zh = "EVIDENCE_REFUSED", "The evidence failed a check", "凭证未通过核验"


class EvidenceNotAccepted(EvidenceRefused):
    code = "EVIDENCE_NOT_ACCEPTED"
    title_en = "This behaviour type takes no such evidence"
    title_zh = "该行为类型不接受此类凭证"


class SiteCodeMissing(EvidenceRefused):
    code = "SITE_CODE_MISSING"
    title_en = "A site code this behaviour type needs is missing"
    title_zh = "缺少该行为类型所需的站点码"


class SiteKindMismatch(EvidenceRefused):
    code = "SITE_KIND_MISMATCH"
    title_en = "The code comes from a kind of site that does not fit this behaviour type"
    title_zh = "该码所属站点的类型与行为类型不符"


class SiteCodeWindow(EvidenceRefused):
    code = "SITE_CODE_WINDOW"
    title_en = "The code was shown at another time than the behaviour reported"
    title_zh = "该码的展示时间与申报的行为时间不符"


class SiteCodeExpired(EvidenceRefused):
    code = "SITE_CODE_EXPIRED"
    title_en = "The code was shown over two days ago"
    title_zh = "该码的展示时间已超过两天"


class SiteDistanceImplausible(EvidenceRefused):
    code = "SITE_DISTANCE_IMPLAUSIBLE"
    title_en = "The reported distance is longer than the two sites make plausible"
    title_zh = "申报的距离超出两站之间的合理距离"
