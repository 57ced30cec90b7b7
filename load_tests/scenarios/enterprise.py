"""An enterprise at the counter: takes the vouchers residents show, checks its credits, now and then
retires some for a carbon-neutral claim."""

from __future__ import annotations

import itertools
import random
import uuid
from typing import Any

from locust import HttpUser, between, task

from load_tests.scenarios.base import ACKNOWLEDGED, answered, manifest, with_retries

_enterprises = itertools.count()


class Enterprise(HttpUser):
    fixed_count = 6  # six counters taking vouchers, however many residents
    wait_time = between(3, 10)

    def on_start(self) -> None:
        seeded = manifest()
        user = seeded.enterprises[next(_enterprises) % len(seeded.enterprises)]
        reply = self.client.post("/v1/auth/login", json=user)
        self.headers = {"Authorization": f"Bearer {reply.json()['access_token']}"}
        self.enterprise_id = self.client.get("/v1/enterprise/me", headers=self.headers).json()["enterprise_id"]

    @task(3)
    def accept_voucher(self) -> None:
        waiting = ACKNOWLEDGED.vouchers[self.enterprise_id]
        if not waiting:
            return
        code = waiting.popleft()
        with self.client.post(
            "/v1/enterprise/vouchers/accept", json={"code": code}, headers=self.headers, catch_response=True
        ) as response:
            if response.status_code == 409:  # the resident cancelled it meanwhile, or it was taken already
                response.success()

    @task(2)
    def credits(self) -> None:
        self.client.get("/v1/enterprise/me", headers=self.headers)

    @task(1)
    def own_rewards(self) -> None:
        self.client.get("/v1/enterprise/rewards", headers=self.headers)

    @task(1)
    def retire(self) -> None:
        retirable = self.client.get("/v1/enterprise/me", headers=self.headers).json().get("retirable_g", 0)
        if retirable < 100:
            return
        body = {
            "client_id": str(uuid.uuid4()),
            "amount_g": random.randint(1, min(retirable, 5000)),
            "purpose": "早高峰低碳出行活动碳中和",
            "beneficiary": "国家会展中心（天津）",
        }

        def send() -> dict[str, Any] | None:
            with self.client.post(
                "/v1/enterprise/retirements", json=body, headers=self.headers, catch_response=True
            ) as response:
                if not answered(response):
                    response.failure(f"no answer: {response.status_code}")
                    return None
                if response.status_code not in (200, 201):
                    response.failure(f"{response.status_code} {response.text[:200]}")
                    return {}
                certificate: dict[str, Any] = response.json()
                return certificate

        certificate = with_retries(send)
        if certificate:
            self.client.get(f"/v1/certificates/{certificate['number']}", name="/v1/certificates/[number]")
