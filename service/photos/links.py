"""The service's own short-lived links to a photo, for stores that cannot make one (the filesystem).

A link is `/v1/admin/photos/{photo_id}/content?expires=<Unix seconds>&signature=<hex>`, the signature an
HMAC-SHA256 over the photo's public id and the expiry, under a key derived from the server's secret key
for this one use. Whoever holds a link may open it until it expires: links go to operators' browsers and
last minutes (`photo_link_ttl_s`).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from urllib.parse import urlencode

from service.config import Settings
from service.kit.secrets import derive_key
from service.photos.errors import PhotoLinkExpired, PhotoLinkInvalid

PURPOSE = "photo-links"


def content_path(photo_id: uuid.UUID) -> str:
    return f"/v1/admin/photos/{photo_id}/content"


def signature(settings: Settings, photo_id: uuid.UUID, expires: int) -> str:
    key = derive_key(settings.secret_key.get_secret_value(), PURPOSE)
    return hmac.new(key, f"{photo_id}\n{expires}".encode(), hashlib.sha256).hexdigest()


def signed_url(settings: Settings, photo_id: uuid.UUID, *, expires: int) -> str:
    """The link to the photo until `expires`, after `photo_link_base_url` when one is set."""
    query = urlencode({"expires": expires, "signature": signature(settings, photo_id, expires)})
    return f"{settings.photo_link_base_url.rstrip('/')}{content_path(photo_id)}?{query}"


def check(settings: Settings, photo_id: uuid.UUID, *, expires: int, given: str, now: float) -> None:
    """Nothing when the link is one the service made and has not expired; PhotoLinkInvalid or
    PhotoLinkExpired otherwise."""
    if not hmac.compare_digest(signature(settings, photo_id, expires).encode(), given.lower().encode()):
        raise PhotoLinkInvalid(
            "The link was not made by this service, or was changed.", "该链接不是本服务生成的，或已被改动。"
        )
    if expires <= now:
        raise PhotoLinkExpired("Ask for a new link.", "请重新获取链接。")
