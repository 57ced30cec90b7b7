"""Operators see a photo through a link that lasts minutes; a link the service did not make, or one that
has expired, shows nothing, and neither does any link once the resident has deleted their account."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from service.accounts.models import Role
from service.photos import links
from service.photos.service import review_link
from service.photos.storage import key_for
from tests.conftest import Api, bearer
from tests.fixtures.photos import BOTH_STORES, Store, Tokens, jpeg_with_gps, problem_code, uploaded

SignIn = Callable[[str], Awaitable[Tokens]]
SignInStaff = Callable[..., Awaitable[Tokens]]


@pytest.fixture
async def auditor(sign_in_staff: SignInStaff) -> Tokens:
    return await sign_in_staff(Role.admin_auditor)


async def open_link(api: Api, url: str) -> httpx.Response:
    """What an operator's browser gets from the link: from the service itself, or from the bucket."""
    if url.startswith("/"):
        return await api.client.get(url)
    async with httpx.AsyncClient() as browser:
        return await browser.get(url)


@BOTH_STORES
async def test_an_operator_sees_the_photo_through_its_link(
    api: Api, store: Store, sign_in_resident: SignIn, auditor: Tokens
) -> None:
    resident = await sign_in_resident("alice")
    photo = await uploaded(api.client, resident, jpeg_with_gps())
    me = (await api.client.get("/v1/me", headers=bearer(resident))).json()

    details = await api.client.get(f"/v1/admin/photos/{photo['photo_id']}", headers=bearer(auditor))

    assert details.status_code == 200, details.text
    shown = details.json()
    assert {key: shown[key] for key in photo} == photo
    assert shown["resident_id"] == me["id"]
    opened = await open_link(api, shown["link"])
    assert opened.status_code == 200, opened.text
    assert opened.content == await api.app.state.photo_storage.get(key_for(bytes.fromhex(photo["sha256"])))
    assert opened.headers["cache-control"] == "private, no-store"
    if store.kind == "filesystem":
        assert opened.headers["content-type"] == "image/jpeg"
        assert shown["link"].startswith(f"/v1/admin/photos/{photo['photo_id']}/content?expires=")
    else:
        assert shown["link"].startswith(f"{store.s3.url if store.s3 else ''}/{store.bucket}/")


async def test_the_link_starts_with_the_configured_origin(
    make_api: Callable[..., Awaitable[Api]], store: Store
) -> None:
    api = await make_api(**store.settings(), photo_link_base_url="https://tanpuhui.example.cn/")
    photo_id = uuid.uuid4()

    url = links.signed_url(api.settings, photo_id, expires=int(time.time()) + 60)

    assert url.startswith(f"https://tanpuhui.example.cn/v1/admin/photos/{photo_id}/content?expires=")


async def test_a_link_shows_nothing_once_it_has_expired(api: Api, sign_in_resident: SignIn) -> None:
    photo = await uploaded(api.client, await sign_in_resident("alice"), jpeg_with_gps())
    photo_id = uuid.UUID(photo["photo_id"])

    expired = await api.client.get(links.signed_url(api.settings, photo_id, expires=int(time.time()) - 1))
    current = await api.client.get(links.signed_url(api.settings, photo_id, expires=int(time.time()) + 60))

    assert expired.status_code == 403
    assert problem_code(expired) == "PHOTO_LINK_EXPIRED"
    assert current.status_code == 200


async def test_a_link_that_was_forged_or_changed_shows_nothing(
    api: Api, sign_in_resident: SignIn, auditor: Tokens
) -> None:
    resident = await sign_in_resident("alice")
    mine = await uploaded(api.client, resident, jpeg_with_gps())
    other = await uploaded(api.client, resident, jpeg_with_gps(size=(64, 32)))
    details = await api.client.get(f"/v1/admin/photos/{mine['photo_id']}", headers=bearer(auditor))
    link = urlsplit(details.json()["link"])
    query = {name: values[0] for name, values in parse_qs(link.query).items()}
    expires, signature = int(query["expires"]), query["signature"]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]

    attempts = {
        "signature changed": f"{link.path}?expires={expires}&signature={flipped}",
        "expiry moved later": f"{link.path}?expires={expires + 3600}&signature={signature}",
        "another photo": f"/v1/admin/photos/{other['photo_id']}/content?expires={expires}&signature={signature}",
        "made with another key": f"{link.path}?expires={expires}&signature={'ab' * 32}",
        "no signature at all": f"{link.path}?expires={expires}&signature=",
        "not even hex": f"{link.path}?expires={expires}&signature=签名",
    }

    for what, url in attempts.items():
        response = await api.client.get(url)
        assert response.status_code == 403, what
        assert problem_code(response) == "PHOTO_LINK_INVALID", what
    assert (await api.client.get(f"{link.path}?{link.query}")).status_code == 200


async def test_an_unknown_photo_is_not_found(api: Api, auditor: Tokens) -> None:
    photo_id = uuid.uuid4()

    details = await api.client.get(f"/v1/admin/photos/{photo_id}", headers=bearer(auditor))
    content = await api.client.get(links.signed_url(api.settings, photo_id, expires=int(time.time()) + 60))

    for response in (details, content):
        assert response.status_code == 404
        assert problem_code(response) == "PHOTO_NOT_FOUND"


@BOTH_STORES
async def test_a_photo_is_no_longer_shown_once_its_resident_deletes_the_account(
    api: Api, store: Store, sign_in_resident: SignIn, auditor: Tokens
) -> None:
    resident = await sign_in_resident("alice")
    photo = await uploaded(api.client, resident, jpeg_with_gps())
    photo_id = uuid.UUID(photo["photo_id"])
    own_link = links.signed_url(api.settings, photo_id, expires=int(time.time()) + 60)
    assert (await api.client.get(own_link)).status_code == 200

    assert (await api.client.delete("/v1/me", headers=bearer(resident))).status_code == 204

    details = await api.client.get(f"/v1/admin/photos/{photo_id}", headers=bearer(auditor))
    content = await api.client.get(own_link)
    for response in (details, content):
        assert response.status_code == 404
        assert problem_code(response) == "PHOTO_NOT_FOUND"
    async with api.db.read_sessionmaker() as session:
        found = await review_link(
            session, storage=api.app.state.photo_storage, settings=api.settings, photo_id=photo_id
        )
    assert found is None


@BOTH_STORES
async def test_the_review_queue_gets_a_working_link(api: Api, store: Store, sign_in_resident: SignIn) -> None:
    photo = await uploaded(api.client, await sign_in_resident("alice"), jpeg_with_gps())
    storage: Any = api.app.state.photo_storage

    async with api.db.read_sessionmaker() as session:
        link = await review_link(session, storage=storage, settings=api.settings, photo_id=uuid.UUID(photo["photo_id"]))
        unknown = await review_link(session, storage=storage, settings=api.settings, photo_id=uuid.uuid4())

    assert link is not None
    assert (await open_link(api, link)).status_code == 200
    assert unknown is None
