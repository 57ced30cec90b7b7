"""What every scenario shares: the seed manifest, what the service acknowledged, retrying as the docs say.

A write that fails for want of an answer (a dropped connection, a 5xx) is retried with the same
idempotency key until the service answers, as mobile_api_docs/ tells front ends to do. Every write the
service acknowledged is remembered, and written at the end of the run to LOAD_ACKNOWLEDGED, so that the
runner can check each was credited exactly once.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from locust import HttpUser, events
from locust.clients import ResponseContextManager

from load_tests.common.seed import Manifest

RETRIES = 8
RETRY_PAUSE_S = 0.5


def manifest() -> Manifest:
    return _MANIFEST


_MANIFEST = Manifest.read(Path(os.environ.get("LOAD_MANIFEST", "load_tests/results/seed.json")))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class Acknowledged:
    """Writes the service acknowledged: resident behaviours by client_id, partner records by external id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.behaviours: dict[str, dict[str, Any]] = {}
        self.partner_records: dict[str, dict[str, Any]] = {}
        self.attempted: set[str] = set()
        self.already_recorded: set[str] = set()  # answered 409 TRIP_ALREADY_RECORDED: nothing to credit
        # voucher codes waiting at each enterprise's counter
        self.vouchers: defaultdict[int, deque[str]] = defaultdict(deque)

    def behaviour(self, client_id: str, reply: dict[str, Any]) -> None:
        with self._lock:
            self.behaviours[client_id] = {"behaviour_id": reply["id"], "credited_g": reply["credited_g"]}

    def partner_record(self, key: str, outcome: dict[str, Any]) -> None:
        with self._lock:
            self.partner_records[key] = {"behaviour_id": outcome["behaviour_id"], "credited_g": outcome["credited_g"]}

    def dump(self, path: Path) -> None:
        document = {
            "behaviours": self.behaviours,
            "partner_records": self.partner_records,
            "attempted": sorted(self.attempted),
            "already_recorded": sorted(self.already_recorded),
        }
        path.write_text(json.dumps(document), encoding="utf-8")


ACKNOWLEDGED = Acknowledged()


def _write_acknowledged(**_: Any) -> None:
    target = os.environ.get("LOAD_ACKNOWLEDGED")
    if target:
        ACKNOWLEDGED.dump(Path(target))


events.test_stop.add_listener(_write_acknowledged)  # type: ignore[no-untyped-call]


def answered(response: ResponseContextManager) -> bool:
    """The service gave an answer that settles the write (anything but a dropped connection or a 5xx)."""
    return 0 < response.status_code < 500


def _never(_: ResponseContextManager) -> bool:
    return False


def write(
    user: HttpUser,
    path: str,
    *,
    headers: Callable[[], dict[str, str]],
    body: dict[str, Any] | None = None,
    raw: bytes | None = None,
    name: str | None = None,
    settled: Callable[[ResponseContextManager], bool] = _never,
) -> dict[str, Any] | None:
    """POST a write; while the service does not answer, send it again, the same request with the same
    idempotency key (`headers` is called per attempt, so a signature can be made afresh).

    Returns the reply of a 2xx; {} for a refusal the caller expects (`settled`: counted a success) or any
    other 4xx (counted a failure); None if the service never answered."""

    def send() -> dict[str, Any] | None:
        with user.client.post(path, json=body, data=raw, headers=headers(), name=name, catch_response=True) as response:
            if not answered(response):
                response.failure(f"no answer: {response.status_code}")
                return None
            if 200 <= response.status_code < 300:
                reply: dict[str, Any] = response.json()
                return reply
            if settled(response):
                response.success()
            else:
                response.failure(f"{response.status_code} {response.text[:200]}")
            return {}

    for attempt in range(RETRIES):
        outcome = send()
        if outcome is not None:
            return outcome
        time.sleep(RETRY_PAUSE_S * (attempt + 1))
    return None


def sign_in_staff(user: HttpUser, accounts: list[dict[str, str]], turn: Iterator[int]) -> dict[str, str]:
    """Sign in as the next of the seeded enterprise or administrator accounts; returns the auth header."""
    account = accounts[next(turn) % len(accounts)]
    reply = user.client.post("/v1/auth/login", json=account)
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}
