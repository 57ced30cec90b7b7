"""A resident on the morning commute: signs in, records rides and the morning's waste sorting, checks the
balance, the history and the boards, now and then redeems a reward."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from locust import HttpUser, between, task

from load_tests.common.sites import scanned
from load_tests.scenarios.base import ACKNOWLEDGED, iso, manifest, write

# (type, km range, km/h) for rides; hydrogen buses run on Jinnan's line 653 and friends.
RIDES = (
    ("metro_ride", (3.0, 25.0), 35.0),
    ("bus_ride", (2.0, 12.0), 18.0),
    ("hydrogen_bus_ride", (2.0, 12.0), 18.0),
    ("shared_bike", (0.8, 4.0), 12.0),
)
WASTE = ("kitchen_waste", "recyclables", "hazardous")


class Resident(HttpUser):
    wait_time = between(2, 8)

    def on_start(self) -> None:
        seeded = manifest()
        self.number = random.randint(1, seeded.residents)
        reply = self.client.post("/v1/auth/dev", json={"name": f"{seeded.resident_prefix}{self.number}"})
        self.headers = {"Authorization": f"Bearer {reply.json()['access_token']}"}
        # this resident's day so far, from twenty hours back: each trip starts after the last one ended
        self.clock = datetime.now(UTC) - timedelta(hours=20) + timedelta(seconds=random.randint(0, 600))
        self.behaviour_ids: list[int] = []
        self.balance_g = 0

    def _record(self, body: dict[str, Any], name: str) -> None:
        client_id = body["client_id"]
        ACKNOWLEDGED.attempted.add(client_id)

        def trip_already_recorded(response: Any) -> bool:
            # a partner reported this trip first: the app says so, and nothing is lost
            if response.status_code == 409 and response.json().get("code") == "TRIP_ALREADY_RECORDED":
                ACKNOWLEDGED.already_recorded.add(client_id)
                return True
            return False

        reply = write(
            self, "/v1/behaviours", body=body, headers=lambda: self.headers, name=name, settled=trip_already_recorded
        )
        if reply:
            ACKNOWLEDGED.behaviour(client_id, reply)
            self.behaviour_ids.append(reply["id"])
            self.balance_g = reply["balance_g"]

    @task(6)
    def record_ride(self) -> None:
        kind, (low, high), speed = random.choice(RIDES)
        km = round(random.uniform(low, high), 1)
        started, ended = self.clock, self.clock + timedelta(hours=km / speed)
        self.clock = ended + timedelta(minutes=random.randint(5, 15))
        body = {
            "client_id": str(uuid.uuid4()),
            "type": kind,
            "occurred_at": iso(started),
            "ended_at": iso(ended),
            "quantity": str(km),
            "evidence": scanned(kind, started, ended),
        }
        self._record(body, "/v1/behaviours [ride]")

    @task(2)
    def record_waste_sorting(self) -> None:
        started = self.clock + timedelta(minutes=random.randint(5, 15))
        self.clock = started + timedelta(minutes=2)  # a weighing at the station takes a minute or two
        body = {
            "client_id": str(uuid.uuid4()),
            "type": "waste_sorting",
            "category": random.choice(WASTE),
            "occurred_at": iso(started),
            "ended_at": iso(self.clock),
            "quantity": str(round(random.uniform(0.2, 3.0), 2)),
            "evidence": scanned("waste_sorting", started, self.clock),
        }
        self._record(body, "/v1/behaviours [waste]")

    @task(4)
    def balance(self) -> None:
        reply = self.client.get("/v1/me/balance", headers=self.headers)
        if reply.ok:
            self.balance_g = reply.json()["balance_g"]

    @task(2)
    def history(self) -> None:
        self.client.get("/v1/me/behaviours?limit=20", headers=self.headers)

    @task(1)
    def calculation(self) -> None:
        if self.behaviour_ids:
            behaviour = random.choice(self.behaviour_ids)
            self.client.get(f"/v1/me/behaviours/{behaviour}", headers=self.headers, name="/v1/me/behaviours/[id]")

    @task(2)
    def district_board(self) -> None:
        self.client.get("/v1/leaderboards/residents?period=week&limit=20", headers=self.headers)

    @task(2)
    def my_rank(self) -> None:
        self.client.get("/v1/me/leaderboard?period=week&neighbours=3", headers=self.headers, name="/v1/me/leaderboard")

    @task(1)
    def community_boards(self) -> None:
        self.client.get("/v1/leaderboards/groups?kind=community&order=per_resident", headers=self.headers)

    @task(1)
    def rewards_and_redeem(self) -> None:
        reply = self.client.get("/v1/rewards?limit=20", headers=self.headers)
        if not reply.ok:
            return
        affordable = [r for r in reply.json()["items"] if r["price_g"] <= self.balance_g and r["stock_left"] > 0]
        if not affordable:
            return
        reward = random.choice(affordable)
        redeemed = write(
            self,
            f"/v1/rewards/{reward['id']}/redeem",
            body={"client_id": str(uuid.uuid4())},
            headers=lambda: self.headers,
            name="/v1/rewards/[id]/redeem",
            # 409: spent meanwhile by another of this resident's sessions, or the stock ran out
            settled=lambda response: response.status_code == 409,
        )
        if redeemed:
            self.balance_g = redeemed["balance_g"]
            ACKNOWLEDGED.vouchers[reward["enterprise_id"]].append(redeemed["voucher"]["code"])
