"""Voucher codes are bearer secrets: the database holds none in the clear, yet the resident still sees
their code and the counter still takes it, including the codes stored before they were hashed."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import text

from service.db import run_migrations
from tests.conftest import Api, bearer
from tests.fixtures.behaviours import Tokens, assert_problem
from tests.fixtures.redemption import VOUCHERS, accept, approved_enterprise, earn, publish, redeem_ok

BEFORE_HASHING = "0025_access_revocations"


@pytest.fixture
async def alice(sign_in_resident: Callable[[str], Awaitable[Tokens]]) -> Tokens:
    return await sign_in_resident("alice")


@pytest.fixture
async def cafe(client: httpx.AsyncClient, operator: Tokens) -> Tokens:
    return await approved_enterprise(client, operator, "津南绿色咖啡")


async def _vouchers_as_text(api: Api) -> str:
    """Every voucher row as someone with a copy of the table would read it, bytes shown as hex."""
    async with api.db.engine.connect() as connection:
        rows = await connection.scalars(text("SELECT row_to_json(v)::text FROM redemption_voucher v"))
        return "\n".join(rows)


async def _my_codes(client: httpx.AsyncClient, resident: Tokens) -> dict[int, str]:
    items = (await client.get(VOUCHERS, headers=bearer(resident))).json()["items"]
    return {item["id"]: item["code"] for item in items}


async def test_the_table_holds_no_code_nor_its_plain_hash_yet_the_code_works(
    api: Api, client: httpx.AsyncClient, cafe: Tokens, alice: Tokens
) -> None:
    await earn(client, alice, 2)
    voucher = (await redeem_ok(client, alice, (await publish(client, cafe, price_g=400))["id"]))["voucher"]
    code = voucher["code"].replace("-", "")

    stored = (await _vouchers_as_text(api)).upper()

    assert code not in stored
    assert hashlib.sha256(code.encode()).hexdigest().upper() not in stored
    assert await _my_codes(client, alice) == {voucher["id"]: voucher["code"]}
    taken = await accept(client, cafe, voucher["code"])
    assert taken.status_code == 200, taken.text
    assert_problem(await accept(client, cafe, voucher["code"]), 409, "VOUCHER_USED")


async def test_codes_stored_before_hashing_keep_working_after_the_upgrade(
    api: Api, client: httpx.AsyncClient, cafe: Tokens, alice: Tokens
) -> None:
    await earn(client, alice, 3)
    reward = await publish(client, cafe, price_g=300, stock=5)
    used = (await redeem_ok(client, alice, reward["id"]))["voucher"]
    kept = (await redeem_ok(client, alice, reward["id"]))["voucher"]
    assert (await accept(client, cafe, used["code"])).status_code == 200
    secret = api.settings.secret_key.get_secret_value()
    url = api.settings.database_url
    assert url is not None

    # back to the schema that held codes in the clear: the downgrade opens each sealed copy
    await asyncio.to_thread(run_migrations, url.get_secret_value(), BEFORE_HASHING, downgrade=True, secret_key=secret)
    async with api.db.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT id, code FROM redemption_voucher"))).all()
    plain = {row.id: row.code for row in rows}
    assert plain == {used["id"]: used["code"].replace("-", ""), kept["id"]: kept["code"].replace("-", "")}

    await asyncio.to_thread(run_migrations, url.get_secret_value(), secret_key=secret)

    stored = (await _vouchers_as_text(api)).upper()
    assert not any(code in stored for code in plain.values())
    assert await _my_codes(client, alice) == {used["id"]: used["code"], kept["id"]: kept["code"]}
    assert_problem(await accept(client, cafe, used["code"]), 409, "VOUCHER_USED")
    taken = await accept(client, cafe, kept["code"].lower())
    assert taken.status_code == 200, taken.text
    assert taken.json()["voucher_id"] == kept["id"]
