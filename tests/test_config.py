"""Production refuses to start while any development convenience is on; outside production they are on."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from load_tests.common.service import free_port
from service.accounts.tokens import generate_signing_key_pem
from service.config import DEVELOPMENT_SECRET_KEY, ConfigurationRefused, Settings, check_production
from service.main import create_app
from tests.conftest import Api

MakeApi = Callable[..., Awaitable[Api]]

SIGNING_KEY = generate_signing_key_pem()

PRODUCTION: dict[str, Any] = {
    "env": "production",
    "database_url": "postgresql://tanpuhui@db.internal:5432/tanpuhui",
    "jwt_keys": [{"kid": "k2026", "private_key": SIGNING_KEY}],
    "secret_key": "p" * 48,
    "wechat_appid": "wx0123456789abcdef",
    "wechat_secret": "a-real-wechat-app-secret",
}

# What production with nothing set still lacks; the demo admin and dev login default to off there.
DEFAULT_PROBLEMS = [
    "TANPUHUI_DATABASE_URL",
    "TANPUHUI_JWT_KEYS",
    "TANPUHUI_SECRET_KEY",
    "TANPUHUI_WECHAT_SECRET",
]


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def production(**overrides: Any) -> Settings:
    return settings(**{**PRODUCTION, **overrides})


def test_production_with_every_setting_made_properly_passes() -> None:
    configured = production()

    assert configured.production_problems() == []
    check_production(configured)


@pytest.mark.parametrize(
    ("convenience", "named"),
    [
        ({"database_url": None}, "TANPUHUI_DATABASE_URL"),
        ({"demo_admin": True}, "TANPUHUI_DEMO_ADMIN"),
        ({"dev_login": True}, "TANPUHUI_DEV_LOGIN"),
        ({"jwt_keys": []}, "TANPUHUI_JWT_KEYS"),
        ({"secret_key": DEVELOPMENT_SECRET_KEY}, "TANPUHUI_SECRET_KEY"),
        ({"secret_key": "too-short-for-production"}, "TANPUHUI_SECRET_KEY"),
        ({"wechat_secret": ""}, "TANPUHUI_WECHAT_SECRET"),
        ({"wechat_appid": "wx-development"}, "TANPUHUI_WECHAT_APPID"),
        ({"forwarded_allow_ips": "10.0.0.5, *"}, "TANPUHUI_FORWARDED_ALLOW_IPS"),
        ({"wechat_api_base": "http://api.weixin.qq.com"}, "TANPUHUI_WECHAT_API_BASE"),
        ({"wechat_api_base": "https://10.1.2.3"}, "TANPUHUI_WECHAT_API_BASE"),
        ({"wechat_api_base": "https://169.254.169.254/latest"}, "TANPUHUI_WECHAT_API_BASE"),
        ({"wechat_api_base": "https://[::1]:8443"}, "TANPUHUI_WECHAT_API_BASE"),
        ({"wechat_api_base": "https://localhost"}, "TANPUHUI_WECHAT_API_BASE"),
    ],
    ids=[
        "embedded-database",
        "demo-admin",
        "dev-login",
        "builtin-signing-key",
        "development-secret-key",
        "short-secret-key",
        "missing-wechat-secret",
        "development-wechat-appid",
        "every-proxy-trusted",
        "wechat-over-http",
        "wechat-private-address",
        "wechat-link-local-address",
        "wechat-loopback-address",
        "wechat-localhost",
    ],
)
def test_production_refuses_while_a_development_convenience_is_on(convenience: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigurationRefused) as refused:
        check_production(production(**convenience))

    assert len(refused.value.problems) == 1
    assert named in refused.value.problems[0]
    assert named in str(refused.value)


def test_production_with_defaults_names_every_problem_at_once() -> None:
    with pytest.raises(ConfigurationRefused) as refused:
        check_production(settings(env="production"))

    message = str(refused.value)
    assert len(refused.value.problems) == len(DEFAULT_PROBLEMS)
    for named in DEFAULT_PROBLEMS:
        assert named in message
    assert "TANPUHUI_DEMO_ADMIN" not in message
    assert "TANPUHUI_DEV_LOGIN" not in message


def test_production_with_every_convenience_on_names_each_of_them() -> None:
    with pytest.raises(ConfigurationRefused) as refused:
        check_production(settings(env="production", demo_admin=True, dev_login=True))

    assert len(refused.value.problems) == len(DEFAULT_PROBLEMS) + 2
    for named in [*DEFAULT_PROBLEMS, "TANPUHUI_DEMO_ADMIN", "TANPUHUI_DEV_LOGIN"]:
        assert named in str(refused.value)


def test_production_refusal_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "TANPUHUI_ENV": "production",
        "TANPUHUI_DATABASE_URL": PRODUCTION["database_url"],
        "TANPUHUI_JWT_KEYS": '[{"kid": "k2026", "private_key": ' + repr(SIGNING_KEY).replace("'", '"') + "}]",
        "TANPUHUI_SECRET_KEY": PRODUCTION["secret_key"],
        "TANPUHUI_WECHAT_APPID": PRODUCTION["wechat_appid"],
        "TANPUHUI_WECHAT_SECRET": PRODUCTION["wechat_secret"],
    }.items():
        monkeypatch.setenv(name, value)
    check_production(settings())

    monkeypatch.setenv("TANPUHUI_DEV_LOGIN", "true")

    with pytest.raises(ConfigurationRefused) as refused:
        check_production(settings())
    assert [p for p in refused.value.problems if "TANPUHUI_DEV_LOGIN" in p] == refused.value.problems


def test_create_app_refuses_production_with_development_conveniences() -> None:
    with pytest.raises(ConfigurationRefused) as refused:
        create_app(production(demo_admin=True, dev_login=True))

    assert "TANPUHUI_DEMO_ADMIN" in str(refused.value)
    assert "TANPUHUI_DEV_LOGIN" in str(refused.value)


def test_create_app_accepts_production_set_up_properly() -> None:
    app = create_app(production())

    assert app.state.settings.is_production


@pytest.mark.parametrize("env", ["development", "test"])
def test_demo_admin_and_dev_login_are_on_by_default_outside_production(env: str) -> None:
    configured = settings(env=env)

    assert configured.demo_admin_enabled
    assert configured.dev_login_enabled
    assert configured.production_problems() == []


def test_demo_admin_and_dev_login_are_off_by_default_in_production() -> None:
    configured = production()

    assert not configured.demo_admin_enabled
    assert not configured.dev_login_enabled


def test_development_conveniences_can_be_turned_off_outside_production() -> None:
    configured = settings(env="development", demo_admin=False, dev_login=False)

    assert not configured.demo_admin_enabled
    assert not configured.dev_login_enabled


# ---------------------------------------------------------------------------------------------- over HTTP


async def test_the_dev_login_answers_404_when_turned_off(make_api: MakeApi) -> None:
    api = await make_api(dev_login=False)

    response = await api.client.post("/v1/auth/dev", json={"name": "carol"}, headers={"Accept-Language": "en"})
    unknown = await api.client.post("/v1/auth/no-such-login", json={"name": "carol"}, headers={"Accept-Language": "en"})

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "NOT_FOUND"
    assert "access_token" not in response.text
    same = ("type", "code", "status", "title", "detail")
    assert {k: response.json()[k] for k in same} == {k: unknown.json()[k] for k in same}


async def test_the_dev_login_is_indistinguishable_from_an_unknown_route_when_turned_off(make_api: MakeApi) -> None:
    """Fails: the body is validated before the endpoint checks the setting, so `{}` answers 422 and names
    the `name` field, telling a prober that the dev login exists (service/accounts/router.py, sign_in_dev)."""
    api = await make_api(dev_login=False)

    response = await api.client.post("/v1/auth/dev", json={})

    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


def _production_overrides() -> dict[str, Any]:
    """What make_api needs beyond its defaults (a database, WeChat credentials) to run as production; WeChat
    at its public address, as production requires (these tests do not sign residents in through it)."""
    return {
        "env": "production",
        "jwt_keys": PRODUCTION["jwt_keys"],
        "secret_key": PRODUCTION["secret_key"],
        "wechat_api_base": "https://api.weixin.qq.com",
    }


async def test_outside_production_the_demo_admin_is_created_and_the_dev_login_works(
    make_api: MakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api = await make_api(env="development", demo_admin=None, dev_login=None)
    printed = capsys.readouterr().out
    found = re.search(r"username: (\S+)\s+password: (\S+)", printed)
    assert found, printed

    admin = await api.client.post("/v1/auth/login", json={"username": found[1], "password": found[2]})
    resident = await api.client.post("/v1/auth/dev", json={"name": "carol"})

    assert admin.status_code == 200, admin.text
    assert admin.json()["role"] == "admin-super"
    assert resident.status_code == 200, resident.text


async def test_in_production_there_is_no_demo_admin_and_no_dev_login(
    make_api: MakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api = await make_api(**_production_overrides(), demo_admin=None, dev_login=None)
    printed = capsys.readouterr().out

    resident = await api.client.post("/v1/auth/dev", json={"name": "carol"})

    assert api.settings.is_production
    assert "password" not in printed
    assert resident.status_code == 404
    assert resident.json()["code"] == "NOT_FOUND"
    async with api.db.engine.connect() as connection:
        users = (await connection.execute(text("SELECT count(*) FROM accounts_user"))).scalar_one()
    assert users == 0


async def test_the_api_page_is_off_in_production_unless_asked_for(make_api: MakeApi) -> None:
    default = await make_api(**_production_overrides())
    asked = await make_api(**_production_overrides(), docs=True)

    assert (await default.client.get("/docs")).status_code == 404
    assert (await default.client.get("/docs/assets/swagger-ui-bundle.js")).status_code == 404
    assert (await asked.client.get("/docs")).status_code == 200


# ---------------------------------------------------------------------------------------------- the command


def test_serve_in_production_with_defaults_exits_naming_the_problems(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("TANPUHUI_")}
    env["TANPUHUI_ENV"] = "production"
    command = Path(sys.executable).with_name("tanpuhui")
    started = time.monotonic()

    result = subprocess.run(  # noqa: S603
        [str(command), "serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 2, result.stderr
    assert time.monotonic() - started < 20
    assert "refusing to start in production" in result.stderr
    for named in DEFAULT_PROBLEMS:
        assert named in result.stderr
    assert "serving on" not in result.stdout
    assert "Traceback" not in result.stderr
    assert not (tmp_path / ".data").exists()


# ---------------------------------------------------------------------------------------------- exposure


EVERY_ADDRESS = "0.0.0.0"  # noqa: S104


def test_outside_production_another_address_or_a_remote_database_is_refused() -> None:
    assert settings().exposure_problems("127.0.0.1") == []
    assert settings().exposure_problems("::1") == []
    assert settings().exposure_problems("localhost") == []
    assert "binding 0.0.0.0" in settings().exposure_problems(EVERY_ADDRESS)[0]
    assert "binding 192.0.2.7" in settings(env="test").exposure_problems("192.0.2.7")[0]
    for local in ("postgresql://u@127.0.0.1/db", "postgresql://u@localhost:5433/db", "postgresql:///db?host=/run/pg"):
        assert settings(database_url=local).exposure_problems() == []
    remote = settings(database_url="postgresql://u@db.internal/db").exposure_problems()
    assert len(remote) == 1
    assert "TANPUHUI_DATABASE_URL" in remote[0]
    assert (
        settings(unsafe_expose_development=True, database_url="postgresql://u@db.internal/db").exposure_problems(
            EVERY_ADDRESS
        )
        == []
    )
    assert production().exposure_problems(EVERY_ADDRESS) == []


def _serve(tmp_path: Path, *args: str, **variables: str) -> subprocess.Popen[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("TANPUHUI_")}
    env.update(variables)
    command = Path(sys.executable).with_name("tanpuhui")
    return subprocess.Popen(  # noqa: S603
        [str(command), "serve", *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize(
    ("args", "variables", "named"),
    [
        (["--host", "0.0.0.0"], {}, "binding 0.0.0.0"),  # noqa: S104
        ([], {"TANPUHUI_HOST": "0.0.0.0"}, "binding 0.0.0.0"),  # noqa: S104
        ([], {"TANPUHUI_ENV": "test", "TANPUHUI_DATABASE_URL": "postgresql://u@192.0.2.10/x"}, "TANPUHUI_DATABASE_URL"),
    ],
    ids=["host-argument", "host-setting", "remote-database"],
)
def test_serve_outside_production_refuses_to_reach_another_machine(
    tmp_path: Path, args: list[str], variables: dict[str, str], named: str
) -> None:
    """TANPUHUI_ENV unset is development: with its built-in key anyone could sign an administrator's token."""
    process = _serve(tmp_path, *args, **variables)
    stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == 2, stderr
    assert "refusing to start in" in stderr
    assert named in stderr
    assert "TANPUHUI_UNSAFE_EXPOSE_DEVELOPMENT" in stderr
    assert "serving on" not in stdout
    assert "Traceback" not in stderr
    assert not (tmp_path / ".data").exists()


def _first_log_line(process: subprocess.Popen[str]) -> dict[str, Any]:
    try:
        assert process.stderr is not None
        return dict(json.loads(process.stderr.readline()))
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_the_first_log_line_says_development_serves_this_machine_only(tmp_path: Path) -> None:
    process = _serve(tmp_path, "--port", str(free_port()), TANPUHUI_DATABASE_URL="postgresql://u@127.0.0.1:1/x")

    line = _first_log_line(process)

    assert line["level"] == "warning"
    assert line["msg"].startswith("tanpuhui in development, serving this machine only")
    assert "a signing key from the source" in line["msg"]
    assert "the demo administrator" in line["msg"]


def test_the_override_serves_another_address_and_says_so_first(tmp_path: Path) -> None:
    process = _serve(
        tmp_path,
        "--host",
        "0.0.0.0",  # noqa: S104
        "--port",
        str(free_port()),
        TANPUHUI_UNSAFE_EXPOSE_DEVELOPMENT="true",
        TANPUHUI_DATABASE_URL="postgresql://u@127.0.0.1:1/x",
    )

    line = _first_log_line(process)

    assert line["level"] == "warning"
    assert line["msg"].startswith("UNSAFE: tanpuhui in development")
    assert "on 0.0.0.0" in line["msg"]
    assert "anyone who reaches it can act as an administrator" in line["msg"]
