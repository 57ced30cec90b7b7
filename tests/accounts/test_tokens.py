"""Access tokens (Ed25519 JWTs with a kid), key rotation and the JWKS, refresh-token rotation with reuse
detection, logout, and what two refreshes racing each other leave behind.

Forged tokens copy the claims of a real token, so each is refused only for the flaw it carries; a
hand-signed token with the right key is accepted, which shows the forging helper itself is sound.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError
from sqlalchemy import text, update

from service.accounts.models import Role, User
from service.accounts.tokens import Keyring, Principal, generate_signing_key_pem
from service.kit.secrets import sha256
from tests.conftest import STAFF_PASSWORD, Api, bearer
from tests.conftest import test_settings as make_settings
from tests.fixtures.wechat import FakeWechat

SignIn = Callable[[str], Awaitable[dict[str, Any]]]
StaffSignIn = Callable[..., Awaitable[dict[str, Any]]]
ApiFactory = Callable[..., Awaitable[Api]]

KID = "k-test"


# ---------------------------------------------------------------------------------------------- helpers


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64json(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def forge(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes] | None) -> str:
    """A compact JWS built by hand, so that any header, algorithm or signature can be sent."""
    signing_input = f"{_b64json(header)}.{_b64json(claims)}"
    signature = sign(signing_input.encode()) if sign is not None else b""
    return f"{signing_input}.{_b64(signature)}"


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def kid_of(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


def private_key(pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


async def dev_sign_in(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    response = await client.post("/v1/auth/dev", json={"name": name})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/v1/auth/refresh", json={"refresh_token": refresh_token})


async def refreshed(client: httpx.AsyncClient, refresh_token: str) -> dict[str, Any]:
    response = await refresh(client, refresh_token)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


async def me(client: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await client.get("/v1/me", headers={"Authorization": f"Bearer {access_token}"})


@dataclass
class Keyed:
    """An app configured with one signing key whose private half the test holds."""

    api: Api
    key: Ed25519PrivateKey

    @property
    def client(self) -> httpx.AsyncClient:
        return self.api.client


@pytest.fixture
async def keyed(make_api: ApiFactory) -> Keyed:
    pem = generate_signing_key_pem()
    api = await make_api(jwt_keys=[{"kid": KID, "private_key": pem}])
    return Keyed(api, private_key(pem))


# ---------------------------------------------------------------------------------------------- access tokens


async def test_a_residents_access_token_reads_their_profile(keyed: Keyed) -> None:
    tokens = await dev_sign_in(keyed.client, "alice")

    response = await me(keyed.client, tokens["access_token"])

    assert response.status_code == 200, response.text
    assert kid_of(tokens["access_token"]) == KID
    assert jwt.get_unverified_header(tokens["access_token"])["alg"] == "EdDSA"
    assert claims_of(tokens["access_token"])["role"] == "resident"


async def test_a_hand_signed_token_with_the_configured_key_is_accepted(keyed: Keyed) -> None:
    claims = claims_of((await dev_sign_in(keyed.client, "alice"))["access_token"])

    token = forge({"alg": "EdDSA", "typ": "JWT", "kid": KID}, claims, keyed.key.sign)

    assert (await me(keyed.client, token)).status_code == 200


async def test_an_expired_access_token_is_refused_as_expired(api: Api, client: httpx.AsyncClient) -> None:
    tokens = await dev_sign_in(client, "alice")
    resident_id = int(claims_of(tokens["access_token"])["sub"].partition(":")[2])
    keyring = cast(Keyring, api.app.state.keyring)

    expired, _ = keyring.issue(
        Principal("resident", resident_id, Role.resident), now=datetime.now(UTC) - timedelta(hours=1)
    )

    assert_problem(await me(client, expired), 401, "TOKEN_EXPIRED")


async def test_a_token_signed_by_another_key_under_the_same_kid_is_refused(keyed: Keyed) -> None:
    claims = claims_of((await dev_sign_in(keyed.client, "alice"))["access_token"])
    impostor = Ed25519PrivateKey.generate()

    token = forge({"alg": "EdDSA", "typ": "JWT", "kid": KID}, claims, impostor.sign)

    assert_problem(await me(keyed.client, token), 401, "INVALID_TOKEN")


@pytest.mark.parametrize("header", [{"kid": "k-unknown"}, {}, {"kid": 7}], ids=["unknown-kid", "no-kid", "int-kid"])
async def test_a_token_naming_no_configured_key_is_refused_even_when_its_signature_is_good(
    keyed: Keyed, header: dict[str, Any]
) -> None:
    claims = claims_of((await dev_sign_in(keyed.client, "alice"))["access_token"])

    token = forge({"alg": "EdDSA", "typ": "JWT", **header}, claims, keyed.key.sign)

    assert_problem(await me(keyed.client, token), 401, "INVALID_TOKEN")


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_an_unsigned_alg_none_token_is_refused(keyed: Keyed, alg: str) -> None:
    claims = claims_of((await dev_sign_in(keyed.client, "alice"))["access_token"])

    token = forge({"alg": alg, "typ": "JWT", "kid": KID}, claims, None)

    assert_problem(await me(keyed.client, token), 401, "INVALID_TOKEN")


@pytest.mark.parametrize("secret_form", ["pem", "raw", "jwks-x"])
async def test_an_hs256_token_keyed_with_the_public_key_is_refused(keyed: Keyed, secret_form: str) -> None:
    """Algorithm confusion: the public key is no secret, so an HMAC made with it proves nothing."""
    claims = claims_of((await dev_sign_in(keyed.client, "alice"))["access_token"])
    jwks = (await keyed.client.get("/.well-known/jwks.json")).json()
    x = next(k["x"] for k in jwks["keys"] if k["kid"] == KID)
    secret = {
        "pem": public_pem(keyed.key.public_key()).encode(),
        "raw": raw_public(keyed.key),
        "jwks-x": x.encode(),
    }[secret_form]

    token = forge(
        {"alg": "HS256", "typ": "JWT", "kid": KID},
        claims,
        lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
    )

    assert_problem(await me(keyed.client, token), 401, "INVALID_TOKEN")


async def test_a_token_whose_role_was_raised_to_super_admin_is_refused(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    tokens = await sign_in_staff(Role.admin_auditor, "audit.wang")
    header, payload, signature = tokens["access_token"].split(".")
    claims = json.loads(_unb64(payload))
    assert claims["role"] == "admin-auditor"
    claims["role"] = "admin-super"

    tampered = f"{header}.{_b64json(claims)}.{signature}"

    assert_problem(
        await client.get("/v1/staff/me", headers={"Authorization": f"Bearer {tampered}"}), 401, "INVALID_TOKEN"
    )
    assert_problem(
        await client.get("/v1/admin/partners", headers={"Authorization": f"Bearer {tampered}"}), 401, "INVALID_TOKEN"
    )


@pytest.mark.parametrize(
    "claim_change",
    [
        {"exp": None},
        {"iat": None},
        {"exp": "2099-01-01"},
        {"exp": True},
        {"iss": "someone-else"},
        {"sub": "user:1"},
        {"role": "wizard"},
        {"iat": 4102444800},
        {"nbf": 4102444800},
    ],
    ids=[
        "no-exp",
        "no-iat",
        "exp-a-string",
        "exp-a-boolean",
        "foreign-issuer",
        "resident-role-on-a-user",
        "unknown-role",
        "issued-in-2100",
        "not-before-2100",
    ],
)
async def test_a_correctly_signed_token_with_claims_that_are_not_ours_is_refused(
    keyed: Keyed, claim_change: dict[str, Any]
) -> None:
    claims = claims_of((await dev_sign_in(keyed.client, "alice"))["access_token"])
    for name, value in claim_change.items():
        if value is None:
            del claims[name]
        else:
            claims[name] = value

    token = forge({"alg": "EdDSA", "typ": "JWT", "kid": KID}, claims, keyed.key.sign)

    assert_problem(await me(keyed.client, token), 401, "INVALID_TOKEN")


async def test_a_token_whose_expiry_is_not_a_finite_number_is_refused(keyed: Keyed) -> None:
    claims = claims_of((await dev_sign_in(keyed.client, "alice"))["access_token"])
    header = _b64json({"alg": "EdDSA", "typ": "JWT", "kid": KID})
    # JSON has no NaN or Infinity, but Python's parser reads them: a token must not live forever by them
    for spelling in ("NaN", "Infinity"):
        body = json.dumps(claims).replace(f'"exp": {claims["exp"]}', f'"exp": {spelling}')
        signing_input = f"{header}.{_b64(body.encode())}"
        token = f"{signing_input}.{_b64(keyed.key.sign(signing_input.encode()))}"

        assert_problem(await me(keyed.client, token), 401, "INVALID_TOKEN")


async def test_a_good_token_respelt_with_other_trailing_bits_is_refused(keyed: Keyed) -> None:
    """Base64url lets the last character of a segment carry unused bits; one token has one spelling."""
    token = (await dev_sign_in(keyed.client, "alice"))["access_token"]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    signature = token.rsplit(".", 1)[1]
    assert len(signature) % 4 == 2  # 64 bytes: the last character carries 4 unused bits
    respelt = token[:-1] + alphabet[alphabet.index(token[-1]) ^ 1]
    assert _unb64(respelt.rsplit(".", 1)[1]) == _unb64(signature)

    assert (await me(keyed.client, token)).status_code == 200
    assert_problem(await me(keyed.client, respelt), 401, "INVALID_TOKEN")


async def test_a_token_of_deeply_nested_json_is_refused_not_a_server_error(client: httpx.AsyncClient) -> None:
    token = f"{_b64(b'[' * 100_000)}.e30.AAAA"

    assert_problem(await me(client, token), 401, "INVALID_TOKEN")


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "....", "eyJhbGciOiJFZERTQSJ9.e30.", "W10.e30.", "e30.e30.e30"],
    ids=["word", "three-words", "dots", "header-without-kid", "header-not-an-object", "empty-objects"],
)
async def test_a_garbage_bearer_token_is_refused_as_invalid(client: httpx.AsyncClient, token: str) -> None:
    assert_problem(await me(client, token), 401, "INVALID_TOKEN")


async def test_a_refresh_token_is_not_an_access_token(client: httpx.AsyncClient, sign_in_resident: SignIn) -> None:
    tokens = await sign_in_resident("alice")

    assert_problem(await me(client, tokens["refresh_token"]), 401, "INVALID_TOKEN")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic YWxpY2U6c2VjcmV0"}, {"Authorization": "Bearer"}],
    ids=["missing", "basic", "empty-bearer"],
)
async def test_a_request_without_a_bearer_token_is_unauthenticated(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    assert_problem(await client.get("/v1/me", headers=headers), 401, "UNAUTHENTICATED")
    assert_problem(await client.get("/v1/staff/me", headers=headers), 401, "UNAUTHENTICATED")


# ---------------------------------------------------------------------------------------------- rotation


async def test_rotation_keeps_old_tokens_valid_signs_with_the_new_key_and_dropping_the_old_key_ends_them(
    make_api: ApiFactory,
) -> None:
    key_a = {"kid": "a", "private_key": generate_signing_key_pem()}
    key_b = {"kid": "b", "private_key": generate_signing_key_pem()}
    before = await make_api(jwt_keys=[key_a])
    old = await dev_sign_in(before.client, "alice")

    during = await make_api(jwt_keys=[key_a, key_b], jwt_active_kid="b")
    new = await dev_sign_in(during.client, "bob")
    rotated = await refreshed(during.client, old["refresh_token"])

    assert kid_of(old["access_token"]) == "a"
    assert (await me(during.client, old["access_token"])).status_code == 200
    assert kid_of(new["access_token"]) == "b"
    assert kid_of(rotated["access_token"]) == "b"

    after = await make_api(jwt_keys=[key_b])
    assert_problem(await me(after.client, old["access_token"]), 401, "INVALID_TOKEN")
    assert (await me(after.client, new["access_token"])).status_code == 200
    assert (await me(after.client, rotated["access_token"])).status_code == 200


async def test_without_an_active_kid_the_first_configured_key_signs(make_api: ApiFactory) -> None:
    api = await make_api(
        jwt_keys=[
            {"kid": "first", "private_key": generate_signing_key_pem()},
            {"kid": "second", "private_key": generate_signing_key_pem()},
        ]
    )

    tokens = await dev_sign_in(api.client, "alice")

    assert kid_of(tokens["access_token"]) == "first"


async def test_a_retired_key_kept_as_public_only_verifies_but_never_signs(make_api: ApiFactory) -> None:
    pem_a = generate_signing_key_pem()
    key_b = {"kid": "b", "private_key": generate_signing_key_pem()}
    before = await make_api(jwt_keys=[{"kid": "a", "private_key": pem_a}])
    old = await dev_sign_in(before.client, "alice")

    after = await make_api(
        jwt_keys=[{"kid": "a", "public_key": public_pem(private_key(pem_a).public_key())}, key_b],
        jwt_active_kid="b",
    )
    new = await dev_sign_in(after.client, "bob")

    assert (await me(after.client, old["access_token"])).status_code == 200
    assert kid_of(new["access_token"]) == "b"


async def test_jwks_lists_exactly_the_configured_public_keys_and_verifies_their_tokens(make_api: ApiFactory) -> None:
    pems = {"a": generate_signing_key_pem(), "b": generate_signing_key_pem(), "c": generate_signing_key_pem()}
    api = await make_api(
        jwt_keys=[
            {"kid": "a", "private_key": pems["a"]},
            {"kid": "b", "private_key": pems["b"]},
            {"kid": "c", "public_key": public_pem(private_key(pems["c"]).public_key())},
        ],
        jwt_active_kid="b",
    )
    tokens = await dev_sign_in(api.client, "alice")

    response = await api.client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    keys = response.json()["keys"]
    assert sorted(k["kid"] for k in keys) == ["a", "b", "c"]
    for key in keys:
        assert (key["kty"], key["crv"]) == ("OKP", "Ed25519")
        assert "d" not in key
        assert _unb64(key["x"]) == raw_public(private_key(pems[key["kid"]]))
    assert "PRIVATE" not in response.text
    published = jwt.PyJWK(next(k for k in keys if k["kid"] == kid_of(tokens["access_token"])))
    verified = jwt.decode(tokens["access_token"], published, algorithms=["EdDSA"], issuer="tanpuhui")
    assert verified["role"] == "resident"


@pytest.mark.parametrize(
    ("keys", "active"),
    [
        ([{"kid": "a", "public_key": "P"}, {"kid": "b", "private_key": "S"}], "a"),
        ([{"kid": "a", "public_key": "P"}, {"kid": "b", "private_key": "S"}], None),
        ([{"kid": "a", "private_key": "S"}], "nowhere"),
    ],
    ids=["active-is-public-only", "first-is-public-only", "active-not-configured"],
)
def test_settings_refuse_an_active_kid_without_a_private_key(
    wechat: FakeWechat, keys: list[dict[str, str]], active: str | None
) -> None:
    pem = generate_signing_key_pem()
    placeholders = {"P": public_pem(private_key(pem).public_key()), "S": pem}
    jwt_keys = [{name: placeholders.get(value, value) for name, value in key.items()} for key in keys]

    with pytest.raises(ValidationError, match="jwt_active_kid"):
        make_settings(None, wechat, jwt_keys=jwt_keys, jwt_active_kid=active)


# ---------------------------------------------------------------------------------------------- refresh


async def test_refresh_returns_a_new_working_pair_with_a_different_refresh_token(
    client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    tokens = await sign_in_resident("alice")

    pair = await refreshed(client, tokens["refresh_token"])

    assert pair["refresh_token"] != tokens["refresh_token"]
    assert pair["access_token"] != tokens["access_token"]
    assert (pair["token_type"], pair["role"]) == ("Bearer", "resident")
    assert (await me(client, pair["access_token"])).status_code == 200
    assert claims_of(pair["access_token"])["sub"] == claims_of(tokens["access_token"])["sub"]


async def test_reusing_a_spent_refresh_token_signs_out_the_whole_sign_in(
    client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    first = await sign_in_resident("alice")
    second = await refreshed(client, first["refresh_token"])
    newest = await refreshed(client, second["refresh_token"])

    reuse = await refresh(client, first["refresh_token"])

    assert_problem(reuse, 401, "REFRESH_TOKEN_REUSED")
    # The revocation was written by the request that failed; it must have been committed anyway.
    assert_problem(await refresh(client, newest["refresh_token"]), 401, "INVALID_REFRESH_TOKEN")
    assert_problem(await refresh(client, first["refresh_token"]), 401, "INVALID_REFRESH_TOKEN")


async def test_reuse_in_one_sign_in_leaves_the_residents_other_sign_ins_alone(
    client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    phone = await sign_in_resident("alice")
    tablet = await sign_in_resident("alice")
    await refreshed(client, phone["refresh_token"])

    assert_problem(await refresh(client, phone["refresh_token"]), 401, "REFRESH_TOKEN_REUSED")

    again = await refreshed(client, tablet["refresh_token"])
    assert (await me(client, again["access_token"])).status_code == 200
    assert (await refresh(client, again["refresh_token"])).status_code == 200


async def test_logout_revokes_the_sign_in_so_refresh_fails(client: httpx.AsyncClient, sign_in_resident: SignIn) -> None:
    tokens = await refreshed(client, (await sign_in_resident("alice"))["refresh_token"])
    other = await sign_in_resident("alice")

    response = await client.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await refresh(client, tokens["refresh_token"]), 401, "INVALID_REFRESH_TOKEN")
    assert (await refresh(client, other["refresh_token"])).status_code == 200


async def test_logout_with_a_spent_token_still_ends_its_sign_in(
    client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    first = await sign_in_resident("alice")
    current = await refreshed(client, first["refresh_token"])

    response = await client.post("/v1/auth/logout", json={"refresh_token": first["refresh_token"]})

    assert response.status_code == 204
    assert_problem(await refresh(client, current["refresh_token"]), 401, "INVALID_REFRESH_TOKEN")


async def test_logout_with_an_unknown_token_is_still_no_content(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/auth/logout", json={"refresh_token": "never-issued-refresh-token-0123456789"})

    assert response.status_code == 204


async def test_refreshing_a_made_up_token_is_refused(client: httpx.AsyncClient, sign_in_resident: SignIn) -> None:
    await sign_in_resident("alice")

    response = await refresh(client, "never-issued-refresh-token-0123456789")

    assert_problem(response, 401, "INVALID_REFRESH_TOKEN")


async def test_a_staff_refresh_carries_the_role_the_user_has_now(
    api: Api, client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    tokens = await sign_in_staff(Role.admin_operator, "ops.li")
    same = await refreshed(client, tokens["refresh_token"])
    assert same["role"] == claims_of(same["access_token"])["role"] == "admin-operator"
    async with api.db.sessionmaker.begin() as session:
        await session.execute(update(User).where(User.username == "ops.li").values(role=Role.admin_auditor.value))

    demoted = await refreshed(client, same["refresh_token"])

    assert demoted["role"] == claims_of(demoted["access_token"])["role"] == "admin-auditor"
    assert (await client.get("/v1/admin/users", headers=bearer(demoted))).status_code == 200
    refused = await client.post("/v1/admin/enterprises", json={"name": "津南绿色超市"}, headers=bearer(demoted))
    assert_problem(refused, 403, "ROLE_NOT_ALLOWED")


async def test_a_disabled_user_can_neither_refresh_nor_sign_in(
    client: httpx.AsyncClient, sign_in_staff: StaffSignIn
) -> None:
    admin = await sign_in_staff(Role.admin_super, "root.zhang")
    shop = await sign_in_staff(Role.enterprise, "shop.zhao")
    shop_id = (await client.get("/v1/staff/me", headers=bearer(shop))).json()["id"]
    second = await client.post("/v1/auth/login", json={"username": "shop.zhao", "password": STAFF_PASSWORD})
    assert second.status_code == 200

    disabled = await client.patch(f"/v1/admin/users/{shop_id}", json={"disabled": True}, headers=bearer(admin))

    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled"] is True
    assert_problem(await refresh(client, shop["refresh_token"]), 401, "INVALID_REFRESH_TOKEN")
    assert_problem(await refresh(client, second.json()["refresh_token"]), 401, "INVALID_REFRESH_TOKEN")
    login = await client.post("/v1/auth/login", json={"username": "shop.zhao", "password": STAFF_PASSWORD})
    assert_problem(login, 403, "ACCOUNT_DISABLED")


# ---------------------------------------------------------------------------------------------- concurrency


async def _waiting_on_locks(api: Api) -> int:
    async with api.db.engine.connect() as connection:
        waiting = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return int(waiting)


async def until_blocked(api: Api, count: int) -> None:
    """Wait until `count` sessions of this test's database wait on a lock."""
    for _ in range(1000):
        if await _waiting_on_locks(api) >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{count} requests never blocked on a lock")


@asynccontextmanager
async def holding_refresh_token(api: Api, refresh_token: str) -> AsyncIterator[None]:
    """Hold the token's row lock, as a refresh in flight would, until the block ends."""
    async with api.db.engine.connect() as connection:
        transaction = await connection.begin()
        locked = await connection.scalar(
            text("SELECT count(*) FROM (SELECT 1 FROM accounts_refresh_token WHERE token_hash = :h FOR UPDATE) t"),
            {"h": sha256(refresh_token)},
        )
        assert locked == 1
        try:
            yield
        finally:
            await transaction.rollback()


async def run_overlapping(
    api: Api, held: str, requests: list[Callable[[], Coroutine[Any, Any, httpx.Response]]]
) -> list[httpx.Response]:
    """Start the requests one by one, each blocked behind the held row lock, then let them all go."""
    tasks: list[asyncio.Task[httpx.Response]] = []
    try:
        async with holding_refresh_token(api, held):
            for number, request in enumerate(requests, start=1):
                tasks.append(asyncio.create_task(request()))
                await until_blocked(api, number)
        return list(await asyncio.gather(*tasks))
    finally:
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_two_concurrent_refreshes_of_one_token_yield_one_pair_and_then_end_the_sign_in(
    client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    for attempt in range(5):
        tokens = await sign_in_resident(f"racer-{attempt}")

        first, second = await asyncio.gather(
            refresh(client, tokens["refresh_token"]), refresh(client, tokens["refresh_token"])
        )

        assert sorted([first.status_code, second.status_code]) == [200, 401]
        winner, loser = (first, second) if first.status_code == 200 else (second, first)
        assert_problem(loser, 401, "REFRESH_TOKEN_REUSED")
        assert_problem(await refresh(client, winner.json()["refresh_token"]), 401, "INVALID_REFRESH_TOKEN")


async def test_refreshes_that_wait_on_each_other_leave_no_successor_that_keeps_refreshing(
    api: Api, client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    """Both requests are parked behind the token's row lock before either runs, so they truly overlap."""
    tokens = await sign_in_resident("alice")

    first, second = await run_overlapping(
        api,
        tokens["refresh_token"],
        [lambda: refresh(client, tokens["refresh_token"]), lambda: refresh(client, tokens["refresh_token"])],
    )

    assert first.status_code == 200, first.text
    assert_problem(second, 401, "REFRESH_TOKEN_REUSED")
    assert_problem(await refresh(client, first.json()["refresh_token"]), 401, "INVALID_REFRESH_TOKEN")


async def test_reuse_detected_while_the_current_token_is_being_refreshed_still_ends_the_sign_in(
    api: Api, client: httpx.AsyncClient, sign_in_resident: SignIn
) -> None:
    """A thief replays the spent token while the owner refreshes the current one: once the service has
    answered REFRESH_TOKEN_REUSED, no token of that sign-in may keep working — including the one the
    owner's refresh was issuing at that very moment."""
    spent = await sign_in_resident("alice")
    current = await refreshed(client, spent["refresh_token"])

    owner, thief = await run_overlapping(
        api,
        current["refresh_token"],
        [lambda: refresh(client, current["refresh_token"]), lambda: refresh(client, spent["refresh_token"])],
    )

    assert owner.status_code == 200, owner.text
    assert_problem(thief, 401, "REFRESH_TOKEN_REUSED")
    assert_problem(await refresh(client, owner.json()["refresh_token"]), 401, "INVALID_REFRESH_TOKEN")
