"""An enterprise at the counter: takes the vouchers residents show, checks its credits, now and then
retires some for a carbon-neutral claim."""

from __future__ import annotations

import itertools
import random
import uuid

from locust import HttpUser, between, task

from load_tests.scenarios.base import ACKNOWLEDGED, manifest, sign_in_staff, write

_enterprises = itertools.count()


class Enterprise(HttpUser):
    fixed_count = 6  # six counters taking vouchers, however many residents
    wait_time = between(3, 10)

    def on_start(self) -> None:
        self.headers = sign_in_staff(self, manifest().enterprises, _enterprises)
        self.enterprise_id = self.client.get("/v1/enterprise/me", headers=self.headers).json()["enterprise_id"]

    @task(3)
    def accept_voucher(self) -> None:
        waiting = ACKNOWLEDGED.vouchers[self.enterprise_id]
        if not waiting:
            return
        write(
            self,
            "/v1/enterprise/vouchers/accept",
            body={"code": waiting.popleft()},
            headers=lambda: self.headers,
            # 409: the resident cancelled it meanwhile, or it was taken already
            settled=lambda response: response.status_code == 409,
        )

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

        certificate = write(self, "/v1/enterprise/retirements", body=body, headers=lambda: self.headers)
        if certificate:
            self.client.get(f"/v1/certificates/{certificate['number']}", name="/v1/certificates/[number]")
