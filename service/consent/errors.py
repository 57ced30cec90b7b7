"""Why a link, a link code or a partner's record naming a pseudonym is refused; each a stable code."""

from service.errors import Conflict, Forbidden, NotFound


class PartnerNotLinkable(NotFound):
    code, title_en, title_zh = (
        "LINK_PARTNER_UNKNOWN",
        "No such partner, or it takes no new links",
        "合作方不存在或暂不接受关联",
    )


class ConsentTextOutdated(Conflict):
    code = "CONSENT_TEXT_OUTDATED"
    title_en = "The consent text shown is not the current one: show the current text and ask again"
    title_zh = "展示的同意书不是当前版本，请展示最新文本后重新征得同意"


class AlreadyLinked(Conflict):
    code, title_en, title_zh = "ALREADY_LINKED", "This partner account is already linked", "已关联该合作方账户"


class LinkNotFound(NotFound):
    code, title_en, title_zh = "LINK_NOT_FOUND", "No such link", "关联不存在"


class LinkCodeUnknown(NotFound):
    code, title_en, title_zh = "LINK_CODE_UNKNOWN", "No such link code", "关联码不存在"


class LinkCodeUsed(Conflict):
    code, title_en, title_zh = "LINK_CODE_USED", "This link code was already used", "该关联码已被使用"


class LinkCodeExpired(Conflict):
    code, title_en, title_zh = (
        "LINK_CODE_EXPIRED",
        "This link code has expired: the resident asks for a new one",
        "关联码已过期，请居民重新获取",
    )


class PseudonymUnknown(NotFound):
    code, title_en, title_zh = "PSEUDONYM_UNKNOWN", "No link holds this pseudonym", "该匿名编号不对应任何关联"


class PseudonymNotYours(Forbidden):
    code, title_en, title_zh = (
        "PSEUDONYM_NOT_YOURS",
        "This pseudonym was issued to another partner",
        "该匿名编号属于其他合作方",
    )


class LinkRevoked(Conflict):
    code, title_en, title_zh = (
        "LINK_REVOKED",
        "The resident revoked this link: nothing more is accepted for it",
        "居民已取消该关联，不再接受其记录",
    )
