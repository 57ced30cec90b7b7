"""Photos that a person can look at: a report backed only by a photo is always held for an operator, who
sees the photo through a short-lived link and whose approval credits it once; one photo backs one report."""

from __future__ import annotations

import io
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal

import httpx
import pytest
from PIL import Image

from service.accounts.models import Role
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import (
    Tokens,
    ago,
    assert_ledger_invariants,
    assert_problem,
    balance,
    behaviour,
    behaviour_body,
    floor_g,
    record,
    record_ok,
)

ResidentSignIn = Callable[[str], Awaitable[Tokens]]
StaffSignIn = Callable[..., Awaitable[Tokens]]

# Two kilograms of kitchen waste at the evidence tier's weight, 0.5.
KITCHEN_2_KG = floor_g(2 * Decimal(458) * Decimal("0.5"))


@pytest.fixture
async def alice(sign_in_resident: ResidentSignIn) -> Tokens:
    return await sign_in_resident("alice")


def _jpeg(colour: tuple[int, int, int] = (30, 160, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG")
    return out.getvalue()


async def _upload(client: httpx.AsyncClient, tokens: Tokens, data: bytes) -> str:
    response = await client.post(
        "/v1/me/photos", files={"file": ("scale.jpg", data, "image/jpeg")}, headers=bearer(tokens)
    )
    assert response.status_code == 201, response.text
    photo_id: str = response.json()["photo_id"]
    return photo_id


def _waste(photo_id: str, *, hours_ago: float = 2) -> dict[str, object]:
    body = behaviour_body("waste_sorting", "2", ago(hours=hours_ago), category="kitchen_waste")
    body["evidence"] = {"photo_id": photo_id}
    return body


async def test_a_photo_backed_report_waits_for_an_operator_who_sees_the_photo_and_credits_it_once(
    api: Api, client: httpx.AsyncClient, alice: Tokens, sign_in_staff: StaffSignIn
) -> None:
    photo = _jpeg()
    held = await record_ok(client, alice, _waste(await _upload(client, alice, photo)))

    assert (held["status"], held["credited_g"], held["transfer_id"]) == ("pending_review", 0, None)
    assert (held["calculation"]["tier"], held["verified_evidence"]) == ("evidence", "none")
    assert await balance(client, alice) == 0

    operator = await sign_in_staff(Role.admin_operator)
    queue = (await client.get("/v1/admin/behaviours/pending", headers=bearer(operator))).json()["items"]
    assert [item["id"] for item in queue] == [held["id"]]
    link = queue[0]["photo_url"]
    assert link is not None
    shown = await client.get(link)
    assert shown.status_code == 200
    assert Image.open(io.BytesIO(shown.content)).size == (64, 48)

    decided = await client.post(
        f"/v1/admin/behaviours/{held['id']}/review", json={"approve": True, "reason": "scale reads 2 kg"},
        headers=bearer(operator),
    )  # fmt: skip
    assert decided.status_code == 200, decided.text
    again = await client.post(
        f"/v1/admin/behaviours/{held['id']}/review", json={"approve": True, "reason": "twice"},
        headers=bearer(operator),
    )  # fmt: skip
    assert_problem(again, 409, "NOT_PENDING_REVIEW")

    assert await balance(client, alice) == KITCHEN_2_KG
    read = await behaviour(client, alice, held["id"])
    assert (read["status"], read["credited_g"], read["verified_evidence"]) == ("credited", KITCHEN_2_KG, "photo")
    assert read["transfer_id"] is not None
    await assert_ledger_invariants(api)


async def test_one_photo_backs_one_report_whoever_sends_it(
    api: Api, client: httpx.AsyncClient, alice: Tokens, sign_in_resident: ResidentSignIn
) -> None:
    photo = _jpeg((200, 40, 40))
    first = await record_ok(client, alice, _waste(await _upload(client, alice, photo), hours_ago=5))

    reused = assert_problem(
        await record(client, alice, _waste(await _upload(client, alice, photo), hours_ago=2)), 409, "EVIDENCE_REUSED"
    )
    bob = await sign_in_resident("bob")
    by_bob = assert_problem(
        await record(client, bob, _waste(await _upload(client, bob, photo), hours_ago=2)), 409, "EVIDENCE_REUSED"
    )

    assert reused["related_behaviour_id"] == by_bob["related_behaviour_id"] == first["id"]
    await assert_ledger_invariants(api)


async def test_a_photo_for_a_type_that_takes_none_or_of_someone_else_is_refused(
    client: httpx.AsyncClient, alice: Tokens, sign_in_resident: ResidentSignIn
) -> None:
    photo_id = await _upload(client, alice, _jpeg((10, 10, 200)))
    metro = behaviour_body("metro_ride", "10", ago(hours=2))
    metro["evidence"] = {"photo_id": photo_id}
    assert_problem(await record(client, alice, metro), 422, "EVIDENCE_NOT_ACCEPTED")

    bob = await sign_in_resident("bob")
    assert_problem(await record(client, bob, _waste(photo_id)), 422, "PHOTO_UNKNOWN")
    assert_problem(await record(client, alice, _waste(str(uuid.uuid4()))), 422, "PHOTO_UNKNOWN")
    assert await balance(client, alice) == await balance(client, bob) == 0
