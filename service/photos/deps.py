"""The photo store on app state, and a resident's photo or a reward's picture read from the request."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from service.accounts.deps import CurrentResident, EnterpriseUser, SettingsDep
from service.errors import answers
from service.photos.errors import PhotoNotImage, PhotoTooLarge, PhotoUploadMalformed
from service.photos.multipart import read_photo
from service.photos.storage import PhotoStorage


async def get_photo_storage(request: Request) -> PhotoStorage:
    return cast(PhotoStorage, request.app.state.photo_storage)


PhotoStorageDep = Annotated[PhotoStorage, Depends(get_photo_storage)]


@answers(PhotoTooLarge, PhotoNotImage, PhotoUploadMalformed)
async def uploaded_photo(request: Request, _resident: CurrentResident, settings: SettingsDep) -> bytes:
    """The photo's bytes, read as they arrive; depending on the resident, it reads nothing from a caller
    that is not one."""
    return await read_photo(request.headers.get("content-type"), request.stream(), max_bytes=settings.photo_max_bytes)


UploadedPhoto = Annotated[bytes, Depends(uploaded_photo)]


@answers(PhotoTooLarge, PhotoNotImage, PhotoUploadMalformed)
async def uploaded_reward_image(request: Request, _user: EnterpriseUser, settings: SettingsDep) -> bytes:
    """A reward's picture, read as it arrives, from an approved enterprise's user only."""
    return await read_photo(
        request.headers.get("content-type"), request.stream(), max_bytes=settings.reward_image_max_bytes
    )


UploadedRewardImage = Annotated[bytes, Depends(uploaded_reward_image)]
