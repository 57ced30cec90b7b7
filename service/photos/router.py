from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response, status

from service.accounts import scope
from service.accounts.deps import CurrentResident, EnterpriseUser, ResidentWriteLimit, ScopedReader, SettingsDep
from service.config import Settings
from service.db import ReadSessionDep, SessionDep
from service.errors import NotFound
from service.kit.middleware import BodyLimit
from service.kit.openapi import problems
from service.kit.schemas import ID_MAX
from service.photos import reward_images, service, uploads
from service.photos.deps import PhotoStorageDep, UploadedPhoto, UploadedRewardImage
from service.photos.errors import (
    PhotoLinkExpired,
    PhotoLinkInvalid,
    PhotoNotFound,
    PhotoTooLarge,
    RewardImageNotFound,
)
from service.photos.models import PhotoType
from service.photos.multipart import ALLOWANCE_BYTES, FIELD
from service.photos.schemas import PhotoAdminRead, PhotoRead, RewardImageRead

router = APIRouter()

UPLOAD_PATH = "/v1/me/photos"
REWARD_IMAGE_UPLOAD_PATH = "/v1/enterprise/reward-images"
# A reward's picture never changes under its id.
_FOREVER = "public, max-age=31536000, immutable"


def body_limits(settings: Settings) -> dict[str, BodyLimit]:
    """An upload's body is larger than any JSON body may be: it has a limit of its own, and its own error."""
    return {
        UPLOAD_PATH: BodyLimit(settings.photo_max_bytes + ALLOWANCE_BYTES, PhotoTooLarge),
        REWARD_IMAGE_UPLOAD_PATH: BodyLimit(settings.reward_image_max_bytes + ALLOWANCE_BYTES, PhotoTooLarge),
    }


_BINARY = {"type": "string", "format": "binary"}


def _upload_body(description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": [FIELD],
                        "properties": {FIELD: {**_BINARY, "description": description}},
                    },
                    "encoding": {FIELD: {"contentType": ", ".join(member.value for member in PhotoType)}},
                }
            },
        }
    }


_UPLOAD_BODY = _upload_body("The photo: a JPEG, PNG or WebP image of at most 8 MiB (by default).")
_REWARD_IMAGE_BODY = _upload_body("The picture: a JPEG, PNG or WebP image of at most 5 MiB (by default).")
_PHOTO_BYTES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The photo.",
        "content": {member.value: {"schema": _BINARY} for member in PhotoType},
        "headers": {"Cache-Control": {"description": "`private, no-store`.", "schema": {"type": "string"}}},
    }
}

PhotoId = Annotated[
    uuid.UUID,
    Path(description="The photo's id, as its upload answered.", examples=["0b6f3c1e-7d2a-4f8b-9e15-6a4c2d8b3f70"]),
]
Expires = Annotated[
    int, Query(ge=0, le=ID_MAX, description="When the link stops working, in Unix seconds.", examples=[1796520300])
]
Signature = Annotated[
    str,
    Query(
        max_length=128,
        description="The service's signature of the photo id and `expires`.",
        examples=["5e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f"],
    ),
]


@router.post(
    UPLOAD_PATH,
    tags=["resident"],
    status_code=status.HTTP_201_CREATED,
    dependencies=[ResidentWriteLimit],
    responses=problems(NotFound),
    openapi_extra=_UPLOAD_BODY,
)
async def upload_photo(
    resident: CurrentResident,
    photo: UploadedPhoto,
    session: SessionDep,
    settings: SettingsDep,
    storage: PhotoStorageDep,
) -> PhotoRead:
    """Upload a photo that backs a report: multipart/form-data, the file in the field `file`.

    EXIF and every other piece of metadata (GPS positions among them) is removed before the photo is kept;
    the picture is turned the right way up first. Send the answered `photo_id` with the report.
    """
    return await uploads.upload_photo(
        session, storage=storage, resident_id=resident.subject_id, data=photo, max_pixels=settings.photo_max_pixels
    )


@router.get("/v1/admin/photos/{photo_id}", tags=["admin"], responses=problems(PhotoNotFound))
async def photo_for_operator(
    reader: ScopedReader, photo_id: PhotoId, session: ReadSessionDep, settings: SettingsDep, storage: PhotoStorageDep
) -> PhotoAdminRead:
    """A photo's details, with a link that shows it for the next few minutes."""
    return await service.photo_for_operator(
        session, storage=storage, settings=settings, photo_id=photo_id, community_id=scope.community_of(reader)
    )


@router.get(
    "/v1/admin/photos/{photo_id}/content",
    tags=["admin"],
    response_class=Response,
    responses={**_PHOTO_BYTES, **problems(PhotoLinkInvalid, PhotoLinkExpired, PhotoNotFound)},
)
async def photo_content(
    photo_id: PhotoId,
    expires: Expires,
    signature: Signature,
    session: ReadSessionDep,
    settings: SettingsDep,
    storage: PhotoStorageDep,
) -> Response:
    """The photo itself, through a link from the photo's details; the link alone lets its holder in."""
    content = await service.photo_content(
        session, storage=storage, settings=settings, photo_id=photo_id, expires=expires, signature=signature
    )
    return Response(
        content.data,
        media_type=content.content_type,
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


@router.post(
    REWARD_IMAGE_UPLOAD_PATH,
    tags=["enterprise"],
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_REWARD_IMAGE_BODY,
)
async def upload_reward_image(
    user: EnterpriseUser,
    picture: UploadedRewardImage,
    session: SessionDep,
    settings: SettingsDep,
    storage: PhotoStorageDep,
) -> RewardImageRead:
    """Upload a reward's picture: multipart/form-data, the file in the field `file`; metadata is removed.

    Send the answered `image_id` with the reward it shows (POST or PATCH /v1/enterprise/rewards).
    """
    assert user.enterprise_id is not None  # the token of an enterprise user always names its enterprise
    return await reward_images.upload(
        session,
        storage=storage,
        enterprise_id=user.enterprise_id,
        data=picture,
        max_pixels=settings.photo_max_pixels,
        base_url=settings.photo_link_base_url,
    )


ImageId = Annotated[
    uuid.UUID,
    Path(description="The picture's id, as a reward names it.", examples=["3d8a5c2e-9f1b-4e67-a0c4-7b2e91d5f836"]),
]


@router.get(
    reward_images.PATH,
    tags=["rewards"],
    response_class=Response,
    responses={
        200: {
            "description": "The picture.",
            "content": {member.value: {"schema": _BINARY} for member in PhotoType},
            "headers": {
                "Cache-Control": {"description": f"`{_FOREVER}`.", "schema": {"type": "string"}},
                "ETag": {"description": "The picture's SHA-256, quoted.", "schema": {"type": "string"}},
            },
        },
        304: {"description": "`If-None-Match` named the picture's ETag: the copy held is current."},
        **problems(RewardImageNotFound),
    },
)
async def reward_image(
    image_id: ImageId,
    session: ReadSessionDep,
    storage: PhotoStorageDep,
    if_none_match: Annotated[
        str | None,
        Header(
            max_length=200,
            description="An ETag this picture was served with.",
            examples=['"9f2c4e1a7b3d5f60812a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d"'],
        ),
    ] = None,
) -> Response:
    """A reward's picture; anyone may fetch it, with no sign-in (an image tag sends none)."""
    picture = await reward_images.content(session, storage=storage, image_id=image_id)
    headers = {"Cache-Control": _FOREVER, "ETag": picture.etag, "X-Content-Type-Options": "nosniff"}
    if if_none_match is not None and picture.etag in {tag.strip() for tag in if_none_match.split(",")}:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(picture.data, media_type=picture.content_type, headers=headers)
