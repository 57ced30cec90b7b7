"""Contract tests: Schemathesis, as its command line runs it, against the service over real HTTP.

Every check Schemathesis has, in every phase (the document's examples, coverage of each parameter's
edges, fuzzing, and stateful sequences that follow one answer into the next request), run on every
operation of mobile_api_docs/openapi.json, signed in as the caller each operation is for
(tests/contract/hooks.py). The service runs under uvicorn on loopback against a real PostgreSQL database
holding a small world (residents with credits, an approved enterprise with a reward, a partner key), so
generated ids often hit real rows. The run passes only when Schemathesis reports nothing.

CONTRACT_EXAMPLES sets how many requests each operation gets in the fuzzing phase (default 12).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from service.accounts import partners
from service.accounts.models import Role
from tests.conftest import STAFF_PASSWORD, Api
from tests.fixtures.redemption import earn, publish, redeem_ok
from tests.fixtures.serving import serving

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "12"))
# Every check there is, and every phase: nothing is left out of the run.
SCHEMATHESIS = [
    "--checks=all",
    "--phases=examples,coverage,fuzzing,stateful",
    "--mode=all",
    f"--max-examples={EXAMPLES}",
    "--seed=20261206",
    "--generation-deterministic",
    "--workers=1",
    "--request-timeout=30",
    "--suppress-health-check=all",
]


async def build_world(api: Api, sign_in_staff: Callable[..., Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """A bearer token per role and a partner key, as tests/contract/hooks.py reads them."""
    client = api.client
    resident = (await client.post("/v1/auth/dev", json={"name": "contract"})).json()
    await earn(client, resident, rides=3)
    enterprise = await sign_in_staff(Role.enterprise)
    reward = await publish(client, enterprise)
    await redeem_ok(client, resident, reward["id"])
    admin = await sign_in_staff(Role.admin_super)
    async with api.db.sessionmaker.begin() as session:
        partner = await partners.create_partner(session, code="contract-bus", name="Bus", kind="transit_card")
        key, secret = await partners.issue_partner_key(session, box=api.app.state.secret_box, partner_id=partner.id)
    return {
        "tokens": {
            "resident": resident["access_token"],
            "enterprise": enterprise["access_token"],
            "admin": admin["access_token"],
        },
        "partner": {"key_id": key.key_id, "secret": secret},
        "admin_sign_in": {"username": "super-user", "password": STAFF_PASSWORD},
    }


@pytest.mark.slow
async def test_every_operation_keeps_to_the_document(
    api: Api, sign_in_staff: Callable[..., Awaitable[dict[str, Any]]], tmp_path: Path
) -> None:
    world = await build_world(api, sign_in_staff)
    async with serving(api.app) as base_url:
        environment = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SCHEMATHESIS_HOOKS": "tests.contract.hooks",
            "CONTRACT_WORLD": json.dumps({**world, "base_url": base_url}),
            "NO_COLOR": "1",
        }
        run = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "schemathesis.cli",
            f"--config-file={HERE / 'schemathesis.toml'}",
            "run",
            str(ROOT / "mobile_api_docs" / "openapi.json"),
            f"--url={base_url}",
            *SCHEMATHESIS,
            cwd=tmp_path,
            env=environment,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await run.communicate()
    report = output.decode(errors="replace")
    sys.stdout.write(report)  # the whole report, shown by pytest when the run fails
    assert run.returncode == 0, "Schemathesis found the service departing from its document (its report above)"
