"""Rewards' pictures: an enterprise uploads one, made clean of its metadata; a reward names it; a resident's
catalogue gives its address, which anyone is served with no sign-in. Bad uploads change nothing."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from PIL import Image
from sqlalchemy import text

from service.accounts import staff
from service.accounts.models import Role
from service.accounts.schemas import UserCreate
from service.photos import retention
from tests.conftest import STAFF_PASSWORD, Api, bearer
from tests.fixtures.behaviours import Tokens, assert_problem
from tests.fixtures.photos import GPS_INFO, MAKE, gif, jpeg_with_gps, noisy_png, png_with_text, upload
from tests.fixtures.redemption import (
    ENTERPRISE_REWARDS,
    REWARDS,
    approved_enterprise,
    publish,
    register_enterprise,
    reward_body,
)

UPLOAD = "/v1/enterprise/reward-images"
ResidentSignIn = Callable[[str], Awaitable[Tokens]]


async def upload_picture(
    client: httpx.AsyncClient, tokens: Tokens, data: bytes, *, filename: str = "coffee.jpg", kind: str = "image/jpeg"
) -> httpx.Response:
    return await client.post(UPLOAD, files={"file": (filename, data, kind)}, headers=bearer(tokens))


async def uploaded_picture(client: httpx.AsyncClient, tokens: Tokens, data: bytes, **kwargs: Any) -> dict[str, Any]:
    response = await upload_picture(client, tokens, data, **kwargs)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def picture_rows(api: Api) -> int:
    async with api.db.engine.connect() as connection:
        return int(await connection.scalar(text("SELECT count(*) FROM photos_reward_image")) or 0)


def stored_objects(api: Api) -> list[str]:
    root = api.settings.photos_dir
    return [path.name for path in root.rglob("*") if path.is_file()] if root.exists() else []


async def test_a_picture_is_kept_without_its_metadata_and_served_to_anyone_for_long(
    api: Api, client: httpx.AsyncClient, operator: Tokens
) -> None:
    cafe = await approved_enterprise(client, operator, "津南绿色咖啡")

    picture = await uploaded_picture(client, cafe, jpeg_with_gps())

    assert picture["content_type"] == "image/jpeg"
    assert picture["url"] == f"/v1/reward-images/{picture['image_id']}"
    assert (picture["width"], picture["height"]) == (24, 48)  # turned upright as its EXIF said
    served = await client.get(picture["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert len(served.content) == picture["size_bytes"]
    exif = Image.open(io.BytesIO(served.content)).getexif()
    assert MAKE not in exif
    assert GPS_INFO not in exif
    again = await client.get(picture["url"], headers={"If-None-Match": served.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")


async def test_a_reward_shows_an_uploaded_picture_to_residents(
    client: httpx.AsyncClient, operator: Tokens, sign_in_resident: ResidentSignIn
) -> None:
    cafe = await approved_enterprise(client, operator, "津南绿色咖啡")
    alice = await sign_in_resident("alice")
    picture = await uploaded_picture(client, cafe, png_with_text(), filename="coffee.png", kind="image/png")

    reward = await publish(client, cafe, image_url=None, image_id=picture["image_id"])

    assert (reward["image_id"], reward["image_url"]) == (picture["image_id"], picture["url"])
    seen = (await client.get(f"{REWARDS}/{reward['id']}", headers=bearer(alice))).json()
    assert seen["image_url"] == picture["url"]
    listed = (await client.get(REWARDS, headers=bearer(alice))).json()["items"]
    assert [r["image_url"] for r in listed] == [picture["url"]]
    served = await client.get(seen["image_url"])
    assert (served.status_code, served.headers["content-type"]) == (200, "image/png")


async def test_the_address_of_a_picture_starts_with_the_configured_origin(
    make_api: Callable[..., Awaitable[Api]],
) -> None:
    api = await make_api(photo_link_base_url="https://tanpuhui.jinnan.gov.cn/")
    operator = await _operator(api)
    cafe = await approved_enterprise(api.client, operator, "津南绿色咖啡")
    picture = await uploaded_picture(api.client, cafe, jpeg_with_gps())

    reward = await publish(api.client, cafe, image_url=None, image_id=picture["image_id"])

    expected = f"https://tanpuhui.jinnan.gov.cn/v1/reward-images/{picture['image_id']}"
    assert picture["url"] == reward["image_url"] == expected


async def _operator(api: Api) -> Tokens:
    async with api.db.sessionmaker.begin() as session:
        data = UserCreate(username="ops", password=STAFF_PASSWORD, display_name="ops", role=Role.admin_operator)
        await staff.create_user(session, data=data)
    response = await api.client.post("/v1/auth/login", json={"username": "ops", "password": STAFF_PASSWORD})
    tokens: Tokens = response.json()
    return tokens


async def test_a_new_picture_of_either_kind_replaces_the_old(client: httpx.AsyncClient, operator: Tokens) -> None:
    cafe = await approved_enterprise(client, operator, "津南绿色咖啡")
    reward = await publish(client, cafe)
    picture = await uploaded_picture(client, cafe, jpeg_with_gps())
    path = f"{ENTERPRISE_REWARDS}/{reward['id']}"

    changed = (await client.patch(path, json={"image_id": picture["image_id"]}, headers=bearer(cafe))).json()
    assert (changed["image_id"], changed["image_url"]) == (picture["image_id"], picture["url"])

    https = "https://img.example.cn/coffee-2.png"
    changed = (await client.patch(path, json={"image_url": https}, headers=bearer(cafe))).json()
    assert (changed["image_id"], changed["image_url"]) == (None, https)


async def test_a_reward_cannot_name_another_enterprises_picture_or_two_pictures(
    client: httpx.AsyncClient, operator: Tokens
) -> None:
    cafe = await approved_enterprise(client, operator, "津南绿色咖啡")
    bakery = await approved_enterprise(client, operator, "津南低碳面包")
    theirs = await uploaded_picture(client, bakery, jpeg_with_gps())
    mine = await uploaded_picture(client, cafe, jpeg_with_gps())
    reward = await publish(client, cafe)

    refused = await client.post(
        ENTERPRISE_REWARDS, json=reward_body(image_url=None, image_id=theirs["image_id"]), headers=bearer(cafe)
    )
    assert_problem(refused, 422, "REWARD_IMAGE_UNKNOWN")
    both = await client.post(ENTERPRISE_REWARDS, json=reward_body(image_id=mine["image_id"]), headers=bearer(cafe))
    assert_problem(both, 422, "VALIDATION_FAILED")
    patched = await client.patch(
        f"{ENTERPRISE_REWARDS}/{reward['id']}", json={"image_id": theirs["image_id"]}, headers=bearer(cafe)
    )
    assert_problem(patched, 422, "REWARD_IMAGE_UNKNOWN")
    listed = (await client.get(ENTERPRISE_REWARDS, headers=bearer(cafe))).json()
    assert [(r["id"], r["image_url"], r["image_id"]) for r in listed] == [(reward["id"], reward["image_url"], None)]


async def test_bad_pictures_are_refused_with_stable_codes_and_nothing_is_stored(
    make_api: Callable[..., Awaitable[Api]],
) -> None:
    api = await make_api(reward_image_max_bytes=64 * 1024)
    client = api.client
    cafe = await approved_enterprise(client, await _operator(api), "津南绿色咖啡")

    assert_problem(
        await upload_picture(client, cafe, gif(), filename="a.gif", kind="image/gif"), 415, "PHOTO_NOT_IMAGE"
    )
    not_an_image = await upload_picture(client, cafe, b"not a picture at all", kind="application/octet-stream")
    assert_problem(not_an_image, 415, "PHOTO_NOT_IMAGE")
    too_large = await upload_picture(client, cafe, noisy_png(200, 200), filename="big.png", kind="image/png")
    assert_problem(too_large, 413, "PHOTO_TOO_LARGE")
    not_a_form = await client.post(
        UPLOAD, content=jpeg_with_gps(), headers={**bearer(cafe), "Content-Type": "image/jpeg"}
    )
    assert_problem(not_a_form, 400, "PHOTO_UPLOAD_MALFORMED")
    assert_problem(
        await client.get("/v1/reward-images/0b6f3c1e-7d2a-4f8b-9e15-6a4c2d8b3f70"), 404, "REWARD_IMAGE_NOT_FOUND"
    )

    assert await picture_rows(api) == 0
    assert stored_objects(api) == []


async def test_residents_and_enterprises_not_approved_cannot_upload(
    api: Api, client: httpx.AsyncClient, sign_in_resident: ResidentSignIn
) -> None:
    alice = await sign_in_resident("alice")
    _, applicant = await register_enterprise(client, "海河低碳书店")

    assert_problem(await upload_picture(client, alice, jpeg_with_gps()), 403, "ROLE_NOT_ALLOWED")
    assert_problem(await upload_picture(client, applicant, jpeg_with_gps()), 403, "ENTERPRISE_NOT_APPROVED")
    assert_problem(await upload_picture(client, {"access_token": "x"}, jpeg_with_gps()), 401, "INVALID_TOKEN")
    assert await picture_rows(api) == 0


async def test_the_photo_retention_pass_leaves_a_rewards_picture_of_the_same_bytes(
    api: Api, client: httpx.AsyncClient, operator: Tokens, sign_in_resident: ResidentSignIn
) -> None:
    cafe = await approved_enterprise(client, operator, "津南绿色咖啡")
    alice = await sign_in_resident("alice")
    photo = await upload(client, alice, jpeg_with_gps())
    picture = await uploaded_picture(client, cafe, jpeg_with_gps())
    assert photo.json()["sha256"] == (await client.get(picture["url"])).headers["etag"].strip('"')

    later = datetime.now(UTC) + timedelta(days=api.settings.photo_retention_days + 1)
    purged = await retention.purge_once(api.db, api.app.state.photo_storage, retention_days=1, now=later)

    assert (purged.photos, purged.objects) == (1, 0)
    assert (await client.get(picture["url"])).status_code == 200
