"""The outbox: an event is sent exactly once through a restart, never when it rolled back, taken over
from a worker that died holding it, shared by two processes without a double, and, in production,
never sent to an address that is not public whatever its URL said when registered."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from pydantic import SecretStr

from service.accounts import staff
from service.accounts.models import EnterpriseStatus, Role
from service.accounts.schemas import UserCreate
from service.config import Environment, Settings
from service.main import create_app
from service.webhooks import dispatch, repository, signing
from service.webhooks.events import EventType, emit
from tests import conftest
from tests.conftest import STAFF_PASSWORD, Api
from tests.fixtures.behaviours import Tokens
from tests.fixtures.redemption import accept, earn, publish, redeem_ok
from tests.fixtures.webhooks import FAST, Receiver, deliveries, registered, settled, verify
from tests.fixtures.wechat import FakeWechat

MakeApi = Callable[..., Awaitable[Api]]


async def _enterprise(api: Api, username: str = "cafe") -> tuple[int, Tokens]:
    """An approved enterprise and its signed-in user, made as `tanpuhui create-user` would."""
    async with api.db.sessionmaker.begin() as session:
        enterprise = await staff.create_enterprise(session, name=f"{username} Co.", status=EnterpriseStatus.approved)
        await staff.create_user(
            session,
            data=UserCreate(
                username=username,
                password=STAFF_PASSWORD,
                display_name=username,
                role=Role.enterprise,
                enterprise_id=enterprise.id,
            ),
        )
    response = await api.client.post("/v1/auth/login", json={"username": username, "password": STAFF_PASSWORD})
    assert response.status_code == 200, response.text
    tokens: Tokens = response.json()
    return enterprise.id, tokens


async def _emit_committed(api: Api, enterprise_id: int, voucher_id: int) -> None:
    async with api.db.sessionmaker.begin() as session:
        await emit(
            session, enterprise_id=enterprise_id, event_type=EventType.voucher_accepted, data={"voucher_id": voucher_id}
        )


@asynccontextmanager
async def _app_for_a_while(database_url: str, wechat: FakeWechat, **overrides: Any) -> AsyncIterator[Api]:
    """An app that is started, and stopped at the end of the block, like a process that is restarted."""
    import httpx

    app = create_app(conftest.test_settings(database_url, wechat, **overrides))
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tanpuhui.test") as client:
            yield Api(app, client, app.state.settings)
    finally:
        await lifespan.__aexit__(None, None, None)


async def test_an_event_committed_before_a_restart_is_delivered_once_by_the_next_process(
    make_api: MakeApi, database_url: str, wechat: FakeWechat, receiver: Receiver
) -> None:
    async with _app_for_a_while(database_url, wechat, webhook_dispatch=False, **FAST) as before:
        _, enterprise = await _enterprise(before)
        resident = (await before.client.post("/v1/auth/dev", json={"name": "alice"})).json()
        endpoint = await registered(before.client, enterprise, receiver.url, ["voucher.accepted"])
        await earn(before.client, resident, 1)
        reward = await publish(before.client, enterprise, price_g=400)
        voucher = (await redeem_ok(before.client, resident, reward["id"]))["voucher"]
        assert (await accept(before.client, enterprise, voucher["code"])).status_code == 200
        (queued,) = await deliveries(before.client, enterprise, endpoint["id"])
        assert (queued["status"], queued["attempts"]) == ("pending", 0)
    assert receiver.received == []

    after = await make_api(**FAST)

    (received,) = await receiver.wait_for(1)
    assert verify(endpoint["secret"], received)
    assert received.json["data"]["voucher_id"] == voucher["id"]
    (delivery,) = await settled(after.client, enterprise, endpoint["id"])
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 1)
    await asyncio.sleep(0.5)  # ten more looks of the dispatcher
    assert len(receiver.received) == 1


async def test_an_event_that_rolled_back_is_never_sent(make_api: MakeApi, receiver: Receiver) -> None:
    api = await make_api(**FAST)
    enterprise_id, enterprise = await _enterprise(api)
    endpoint = await registered(api.client, enterprise, receiver.url, ["voucher.accepted"])

    async with api.db.sessionmaker() as session:
        queued = await emit(
            session, enterprise_id=enterprise_id, event_type=EventType.voucher_accepted, data={"voucher_id": 1}
        )
        assert queued is not None
        await session.rollback()
    await _emit_committed(api, enterprise_id, 2)

    (received,) = await receiver.wait_for(1)
    assert received.json["data"] == {"voucher_id": 2}
    await asyncio.sleep(0.5)
    assert len(receiver.received) == 1
    assert [d["payload"]["data"] for d in await deliveries(api.client, enterprise, endpoint["id"])] == [
        {"voucher_id": 2}
    ]


async def test_a_failed_request_sends_nothing(make_api: MakeApi, receiver: Receiver) -> None:
    api = await make_api(**FAST)
    _, enterprise = await _enterprise(api)
    endpoint = await registered(api.client, enterprise, receiver.url, ["voucher.accepted"])

    refused = await accept(api.client, enterprise, "NOPE-NOPE-NOPE-NOPE")

    assert refused.json()["code"] == "VOUCHER_NOT_FOUND"
    await asyncio.sleep(0.3)
    assert receiver.received == []
    assert await deliveries(api.client, enterprise, endpoint["id"]) == []


async def test_a_claim_of_a_worker_that_died_is_taken_over_once_its_lease_ends(
    make_api: MakeApi, receiver: Receiver
) -> None:
    api = await make_api(webhook_dispatch=False, **FAST)
    enterprise_id, enterprise = await _enterprise(api)
    endpoint = await registered(api.client, enterprise, receiver.url, ["voucher.accepted"])
    await _emit_committed(api, enterprise_id, 7)
    died_holding = uuid.uuid4()
    async with api.db.sessionmaker.begin() as session:
        (claimed,) = await repository.claim(session, lease_id=died_holding, lease_s=0.5, limit=10)
    box = signing.box_for(api.settings)

    async with dispatch.client_for(api.settings) as client:
        assert await dispatch.run_once(api.db, api.settings, box, client) == 0
        await asyncio.sleep(0.6)
        assert await dispatch.run_once(api.db, api.settings, box, client) == 1

    (received,) = receiver.received
    assert received.json["data"] == {"voucher_id": 7}
    (delivery,) = await deliveries(api.client, enterprise, endpoint["id"])
    assert (delivery["id"], delivery["status"]) == (claimed.id, "delivered")


async def test_two_processes_share_the_outbox_and_send_each_event_once(make_api: MakeApi, receiver: Receiver) -> None:
    first = await make_api(webhook_dispatch=False)
    enterprise_id, enterprise = await _enterprise(first)
    endpoint = await registered(first.client, enterprise, receiver.url, ["voucher.accepted"])
    for voucher_id in range(1, 31):
        await _emit_committed(first, enterprise_id, voucher_id)

    await make_api(**FAST, webhook_batch=3)
    await make_api(**FAST, webhook_batch=3)

    received = await receiver.wait_for(30)
    await asyncio.sleep(0.5)
    assert len(receiver.received) == 30
    assert sorted(r.json["data"]["voucher_id"] for r in received) == list(range(1, 31))
    assert len({r.webhook_id for r in received}) == 30
    assert {d["attempts"] for d in await settled(first.client, enterprise, endpoint["id"])} == {1}


async def test_in_production_an_attempt_never_reaches_an_address_that_is_not_public(
    make_api: MakeApi, database_url: str, receiver: Receiver
) -> None:
    api = await make_api(webhook_dispatch=False)
    enterprise_id, enterprise = await _enterprise(api)
    # registered while the service ran for tests; the same row is then dispatched by a production one
    endpoint = await registered(api.client, enterprise, receiver.url, ["voucher.accepted"])
    await _emit_committed(api, enterprise_id, 3)
    production = Settings(
        _env_file=None, env=Environment.production, database_url=SecretStr(database_url), webhook_retry_s=[60]
    )

    async with dispatch.client_for(production) as client:
        assert await dispatch.run_once(api.db, production, signing.box_for(api.settings), client) == 1

    assert receiver.received == []
    (delivery,) = await deliveries(api.client, enterprise, endpoint["id"])
    assert (delivery["status"], delivery["attempts"]) == ("pending", 1)
    (attempt,) = delivery["recent_attempts"]
    assert attempt["status_code"] is None
    assert "public" in attempt["error"]
