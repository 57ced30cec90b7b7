"""Why a photo is refused or not served; each a stable code (see the tree in service/errors.py)."""

from service.errors import BadRequest, BodyTooLarge, Forbidden, NotFound, UnsupportedMediaType, ValidationFailed


class PhotoTooLarge(BodyTooLarge):
    code, title_en, title_zh = "PHOTO_TOO_LARGE", "The photo is too large", "照片过大"


class PhotoNotImage(UnsupportedMediaType):
    code = "PHOTO_NOT_IMAGE"
    title_en = "The file is not a JPEG, PNG or WebP image"
    title_zh = "文件不是 JPEG、PNG 或 WebP 图片"


class PhotoUploadMalformed(BadRequest):
    code = "PHOTO_UPLOAD_MALFORMED"
    title_en = "Send the photo as multipart/form-data with one file field named file"
    title_zh = "请以 multipart/form-data 上传照片，文件字段名为 file"


class PhotoUnknown(ValidationFailed):
    code, title_en, title_zh = "PHOTO_UNKNOWN", "No such photo of yours", "没有找到你上传的这张照片"


class PhotoNotFound(NotFound):
    code, title_en, title_zh = "PHOTO_NOT_FOUND", "No such photo", "照片不存在"


class PhotoLinkInvalid(Forbidden):
    code, title_en, title_zh = "PHOTO_LINK_INVALID", "The photo link is invalid", "照片链接无效"


class PhotoLinkExpired(Forbidden):
    code, title_en, title_zh = "PHOTO_LINK_EXPIRED", "The photo link has expired", "照片链接已过期"


class RewardImageNotFound(NotFound):
    code, title_en, title_zh = "REWARD_IMAGE_NOT_FOUND", "No such reward picture", "奖励图片不存在"


class RewardImageUnknown(ValidationFailed):
    code, title_en, title_zh = (
        "REWARD_IMAGE_UNKNOWN",
        "No such picture of your enterprise",
        "没有找到本企业上传的这张图片",
    )
