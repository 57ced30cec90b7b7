from service.errors import Conflict, ValidationFailed


class FactorFileInvalid(ValidationFailed):
    code, title_en, title_zh = "FACTOR_FILE_INVALID", "The factor file is invalid", "排放因子文件不合法"


class FactorVersionExists(Conflict):
    code = "FACTOR_VERSION_EXISTS"
    title_en = "This version is already published with other content; publish a new version"
    title_zh = "该版本已以不同内容发布，请发布新版本"
