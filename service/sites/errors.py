"""Why a site code or a registry change is refused; each class is a stable code (see service/errors.py).

The four code errors are what `SiteCache.check` raises, one per failed check, all 422s: a code that is not
a v1 code, one naming no registered site or key, one whose signature does not verify, and one that is
genuine but does not count (outside the site's validity, from a retired key after its retirement, or from
a revoked key).
"""

from service.errors import Conflict, NotFound, ValidationFailed


class SiteCodeMalformed(ValidationFailed):
    code, title_en, title_zh = "SITE_CODE_MALFORMED", "This is not a site code", "这不是站点码"


class SiteCodeUnknown(ValidationFailed):
    code, title_en, title_zh = "SITE_CODE_UNKNOWN", "The site code names no registered site", "站点码对应的站点不存在"


class SiteCodeSignature(ValidationFailed):
    code, title_en, title_zh = "SITE_CODE_SIGNATURE", "The site code's signature is invalid", "站点码签名无效"


class SiteInactive(ValidationFailed):
    code, title_en, title_zh = "SITE_INACTIVE", "The site code is not valid at that time", "站点码在该时间无效"


class SiteNotFound(NotFound):
    code, title_en, title_zh = "SITE_NOT_FOUND", "No such site", "站点不存在"


class SiteKeyNotFound(NotFound):
    code, title_en, title_zh = "SITE_KEY_NOT_FOUND", "The site has no key of that number", "该站点没有这个编号的密钥"


class SiteCodeTaken(Conflict):
    code, title_en, title_zh = "SITE_CODE_TAKEN", "Another site has this code", "站点代码已被其他站点使用"


class SiteKeyRevoked(Conflict):
    code, title_en, title_zh = "SITE_KEY_REVOKED", "This key is already revoked", "该密钥已被吊销"


class SiteKeysExhausted(Conflict):
    code = "SITE_KEYS_EXHAUSTED"
    title_en = "The site has used all 255 key numbers; register a new site"
    title_zh = "该站点的 255 个密钥编号已用完，请登记新站点"


class SiteOwnerUnknown(ValidationFailed):
    code, title_en, title_zh = "SITE_OWNER_UNKNOWN", "No data partner has that id", "没有该编号的数据合作方"


class SiteValidityInvalid(ValidationFailed):
    code, title_en, title_zh = (
        "SITE_VALIDITY_INVALID",
        "valid_to must come after valid_from",
        "valid_to 必须晚于 valid_from",
    )
