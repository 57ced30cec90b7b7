"""What the ingest domain asks when a report claims a photo: only the resident's own, existing photo."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest

from service.photos.errors import PhotoUnknown
from service.photos.service import PhotoRef, photo_for_report
from tests.conftest import Api, bearer
from tests.fixtures.photos import Tokens, jpeg_with_gps, png_with_text, resident_id, uploaded

SignIn = Callable[[str], Awaitable[Tokens]]


async def test_a_resident_claims_their_own_photo(api: Api, sign_in_resident: SignIn) -> None:
    alice = await sign_in_resident("alice")
    photo = await uploaded(api.client, alice, png_with_text(), filename="sorting.png", content_type="image/png")

    async with api.db.sessionmaker() as session:
        ref = await photo_for_report(
            session, resident_id=await resident_id(api, alice), photo_id=uuid.UUID(photo["photo_id"])
        )

    assert ref == PhotoRef(photo_id=uuid.UUID(photo["photo_id"]), sha256=photo["sha256"], content_type="image/png")


async def test_another_residents_photo_or_an_unknown_one_is_refused(api: Api, sign_in_resident: SignIn) -> None:
    alice, bob = await sign_in_resident("alice"), await sign_in_resident("bob")
    bobs = await uploaded(api.client, bob, jpeg_with_gps())
    alice_id = await resident_id(api, alice)

    for photo_id in (uuid.UUID(bobs["photo_id"]), uuid.uuid4()):
        async with api.db.sessionmaker() as session:
            with pytest.raises(PhotoUnknown) as refused:
                await photo_for_report(session, resident_id=alice_id, photo_id=photo_id)
        assert refused.value.status == 422
        assert refused.value.code == "PHOTO_UNKNOWN"


async def test_a_photo_of_a_deleted_account_cannot_be_claimed(api: Api, sign_in_resident: SignIn) -> None:
    alice = await sign_in_resident("alice")
    photo = await uploaded(api.client, alice, jpeg_with_gps())
    alice_id = await resident_id(api, alice)
    assert (await api.client.delete("/v1/me", headers=bearer(alice))).status_code == 204

    async with api.db.sessionmaker() as session:
        with pytest.raises(PhotoUnknown):
            await photo_for_report(session, resident_id=alice_id, photo_id=uuid.UUID(photo["photo_id"]))
