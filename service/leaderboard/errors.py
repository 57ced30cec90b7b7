"""Why a leaderboard request is refused."""

from service.errors import BadRequest, Forbidden, NotFound


class UnknownScope(NotFound):
    code, title_en, title_zh = "UNKNOWN_SCOPE", "No such community or organisation", "社区或组织不存在"


class ScopeRequired(BadRequest):
    code, title_en, title_zh = (
        "SCOPE_REQUIRED",
        "Name a community or organisation, or join one",
        "请指定社区或组织，或先加入一个",
    )


class StandingHidden(Forbidden):
    code, title_en, title_zh = (
        "STANDING_HIDDEN",
        "This resident does not appear on public leaderboards",
        "该居民未公开排行榜信息",
    )
