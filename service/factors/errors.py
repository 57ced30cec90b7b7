from service.errors import Conflict, Forbidden, NotFound, ValidationFailed


class FactorFileInvalid(ValidationFailed):
    code, title_en, title_zh = "FACTOR_FILE_INVALID", "The factor file is invalid", "排放因子文件不合法"


class FactorVersionExists(Conflict):
    code = "FACTOR_VERSION_EXISTS"
    title_en = "This version is already published; give the file a new version"
    title_zh = "该版本已发布，请使用新的版本号"


class FactorVersionNotFound(NotFound):
    code, title_en, title_zh = "FACTOR_VERSION_NOT_FOUND", "No such factor version", "排放因子版本不存在"


class FactorDraftNotFound(NotFound):
    code, title_en, title_zh = "FACTOR_DRAFT_NOT_FOUND", "No such factor draft", "排放因子草稿不存在"


class FactorDraftOwnApproval(Forbidden):
    code = "FACTOR_DRAFT_OWN_APPROVAL"
    title_en = "A draft is approved by another administrator than its uploader"
    title_zh = "草稿须由上传者以外的管理员批准"


class FactorDraftDecided(Conflict):
    code = "FACTOR_DRAFT_DECIDED"
    title_en = "This draft was already approved, rejected or withdrawn"
    title_zh = "该草稿已被批准、驳回或撤回"


class FactorDraftStale(Conflict):
    code = "FACTOR_DRAFT_STALE"
    title_en = "A version with this draft's set and version was published since; upload it with a new version"
    title_zh = "与该草稿同一版本号的版本已发布，请以新版本号重新上传"
