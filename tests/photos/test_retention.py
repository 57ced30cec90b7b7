"""The retention pass deletes photos past the retention period and every photo of a deleted account, with
the stored content no other photo still uses; content another photo uses stays."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text

from service.accounts.models import Role
from service.photos.retention import Purged, purge_once
from tests.conftest import Api, bearer
from tests.fixtures.photos import BOTH_STORES, Store, Tokens, jpeg_with_gps, photo_rows, png_with_text, uploaded

SignIn = Callable[[str], Awaitable[Tokens]]


async def age(api: Api, photo: dict[str, Any], days: int) -> None:
    """Make the photo look uploaded `days` ago."""
    async with api.db.engine.begin() as connection:
        await connection.execute(
            text("UPDATE photos_photo SET created_at = now() - make_interval(days => :days) WHERE public_id = :id"),
            {"days": days, "id": photo["photo_id"]},
        )


async def purge(api: Api, **kwargs: Any) -> Purged:
    return await purge_once(
        api.db, api.app.state.photo_storage, retention_days=api.settings.photo_retention_days, **kwargs
    )


async def shown(api: Api, photo: dict[str, Any], operator: Tokens) -> int:
    response = await api.client.get(f"/v1/admin/photos/{photo['photo_id']}", headers=bearer(operator))
    return response.status_code


@BOTH_STORES
async def test_photos_past_retention_go_with_their_content_unless_another_photo_uses_it(
    api: Api, store: Store, sign_in_resident: SignIn, sign_in_staff: Callable[..., Awaitable[Tokens]]
) -> None:
    alice, bob = await sign_in_resident("alice"), await sign_in_resident("bob")
    operator = await sign_in_staff(Role.admin_operator)
    only_alices = await uploaded(api.client, alice, png_with_text(), filename="a.png", content_type="image/png")
    shared_old = await uploaded(api.client, alice, jpeg_with_gps())
    shared_recent = await uploaded(api.client, bob, jpeg_with_gps())
    assert store.objects() == {only_alices["sha256"], shared_old["sha256"]}
    await age(api, only_alices, 181)
    await age(api, shared_old, 400)
    await age(api, shared_recent, 179)

    purged = await purge(api, batch=1)

    assert purged == Purged(photos=2, objects=1)
    assert store.objects() == {shared_recent["sha256"]}
    assert await photo_rows(api) == 1
    assert await shown(api, shared_recent, operator) == 200
    assert await shown(api, only_alices, operator) == 404

    await age(api, shared_recent, 181)
    assert await purge(api) == Purged(photos=1, objects=1)
    assert store.objects() == set()


async def test_a_pass_with_nothing_due_deletes_nothing(api: Api, store: Store, sign_in_resident: SignIn) -> None:
    photo = await uploaded(api.client, await sign_in_resident("alice"), jpeg_with_gps())

    assert await purge(api) == Purged(photos=0, objects=0)
    assert store.objects() == {photo["sha256"]}


@BOTH_STORES
async def test_deleting_an_account_removes_all_its_photos_at_once(
    api: Api, store: Store, sign_in_resident: SignIn
) -> None:
    alice, bob = await sign_in_resident("alice"), await sign_in_resident("bob")
    alices = [
        await uploaded(api.client, alice, jpeg_with_gps()),
        await uploaded(api.client, alice, png_with_text(), filename="a.png", content_type="image/png"),
    ]
    bobs = await uploaded(api.client, bob, jpeg_with_gps())
    assert (await api.client.delete("/v1/me", headers=bearer(alice))).status_code == 204

    assert store.objects() == {bobs["sha256"]}
    assert await photo_rows(api) == 1
    assert alices[1]["sha256"] not in store.objects()
    assert await purge(api) == Purged(photos=0, objects=0)


async def test_the_background_retention_pass_removes_photos_past_their_time(
    make_api: Callable[..., Awaitable[Api]], store: Store
) -> None:
    first = await make_api(**store.settings())
    tokens = (await first.client.post("/v1/auth/dev", json={"name": "alice"})).json()
    photo = await uploaded(first.client, tokens, jpeg_with_gps())
    await age(first, photo, first.settings.photo_retention_days + 1)

    await make_api(**{**store.settings(), "retention": True})

    for _ in range(200):
        if await photo_rows(first) == 0:
            break
        await asyncio.sleep(0.05)
    assert await photo_rows(first) == 0
    assert store.objects() == set()
