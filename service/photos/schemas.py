"""The photos' API shapes: what an upload answers, and what an operator sees of a photo."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from service.kit.schemas import Schema
from service.photos.models import PhotoType

_PHOTO_ID_EXAMPLE = "0b6f3c1e-7d2a-4f8b-9e15-6a4c2d8b3f70"
_SHA256_EXAMPLE = "9f2c4e1a7b3d5f60812a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d"


class PhotoRead(Schema):
    photo_id: uuid.UUID = Field(
        description="The photo's id: send it with the report it backs.", examples=[_PHOTO_ID_EXAMPLE]
    )
    sha256: str = Field(
        description="SHA-256 of the photo as kept (after its metadata was removed), in hex.", examples=[_SHA256_EXAMPLE]
    )
    content_type: PhotoType = Field(
        description="The photo's format, which is the format uploaded.", examples=["image/jpeg"]
    )
    size_bytes: int = Field(description="Size of the photo as kept, in bytes.", examples=[482133])
    width: int = Field(description="Width in pixels, the right way up.", examples=[3024])
    height: int = Field(description="Height in pixels, the right way up.", examples=[4032])
    created_at: datetime = Field(description="When it was uploaded.", examples=["2026-12-06T01:20:00Z"])


class PhotoAdminRead(PhotoRead):
    resident_id: uuid.UUID = Field(
        description="Public id of the resident who uploaded it.", examples=["5b0e8f3c-2a6d-4c1e-9f47-8d3b2a1c0e95"]
    )
    link: str = Field(
        description="A URL that shows the photo until `link_expires_at`; ask for the photo again for a new one.",
        examples=[
            f"/v1/admin/photos/{_PHOTO_ID_EXAMPLE}/content?expires=1796520300"
            "&signature=5e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f"
        ],
    )
    link_expires_at: datetime = Field(description="When the link stops working.", examples=["2026-12-06T01:25:00Z"])


_IMAGE_ID_EXAMPLE = "3d8a5c2e-9f1b-4e67-a0c4-7b2e91d5f836"


class RewardImageRead(Schema):
    image_id: uuid.UUID = Field(
        description="The picture's id: send it as a reward's `image_id`.", examples=[_IMAGE_ID_EXAMPLE]
    )
    url: str = Field(
        description="Where anyone is served the picture; a path when the service has no public origin configured.",
        examples=[f"/v1/reward-images/{_IMAGE_ID_EXAMPLE}"],
    )
    content_type: PhotoType = Field(
        description="The picture's format, which is the format uploaded.", examples=["image/jpeg"]
    )
    size_bytes: int = Field(description="Size as kept (its metadata removed), in bytes.", examples=[182044])
    width: int = Field(description="Width in pixels, the right way up.", examples=[1200])
    height: int = Field(description="Height in pixels, the right way up.", examples=[800])
    created_at: datetime = Field(description="When it was uploaded.", examples=["2026-12-06T01:20:00Z"])
