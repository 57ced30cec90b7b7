"""Why a webhook endpoint is refused or not found. Nothing changes when one is."""

from service.errors import Conflict, NotFound, ValidationFailed


class WebhookEndpointNotFound(NotFound):
    code, title_en, title_zh = "WEBHOOK_ENDPOINT_NOT_FOUND", "No such webhook endpoint", "Webhook 端点不存在"


class WebhookDeliveryNotFound(NotFound):
    code, title_en, title_zh = "WEBHOOK_DELIVERY_NOT_FOUND", "No such webhook delivery", "Webhook 投递记录不存在"


class WebhookUrlInvalid(ValidationFailed):
    code = "WEBHOOK_URL_INVALID"
    title_en, title_zh = "The webhook URL is not a usable address", "Webhook 地址无效"


class WebhookUrlNotHttps(ValidationFailed):
    code = "WEBHOOK_URL_NOT_HTTPS"
    title_en, title_zh = "The webhook URL must use https", "Webhook 地址须使用 https"


class WebhookUrlNotPublic(ValidationFailed):
    code = "WEBHOOK_URL_NOT_PUBLIC"
    title_en, title_zh = (
        "The webhook URL does not lead to a public internet address",
        "Webhook 地址未指向公网地址",
    )


class WebhookEventUnknown(ValidationFailed):
    code = "WEBHOOK_EVENT_UNKNOWN"
    title_en, title_zh = "An event type is not one you can subscribe to", "事件类型不存在或不可订阅"


class WebhookEndpointLimit(Conflict):
    code = "WEBHOOK_ENDPOINT_LIMIT"
    title_en, title_zh = "You have as many webhook endpoints as allowed", "Webhook 端点数量已达上限"
