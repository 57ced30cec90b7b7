"""A data partner pushing signed batches: transit-card and hydrogen-bus taps, recycling-station weighings."""

from __future__ import annotations

import itertools
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from locust import HttpUser, between, task

from load_tests.scenarios.base import ACKNOWLEDGED, iso, manifest, write
from service.accounts.signing import signed_headers

BATCH = 200
PATH = "/v1/partner/behaviours"
_partners = itertools.count()


class Partner(HttpUser):
    fixed_count = 4  # one feed per seeded partner, however many residents
    wait_time = between(3, 10)

    def on_start(self) -> None:
        seeded = manifest()
        self.partner = seeded.partners[next(_partners) % len(seeded.partners)]
        # the residents linked here, by the pseudonyms this partner knows them by
        self.residents = seeded.partner_pseudonyms[self.partner["code"]]
        self.sequence = itertools.count(1)
        self.prefix = f"{self.partner['code']}-{uuid.uuid4().hex[:8]}"

    def _record(self, now: datetime) -> dict[str, Any]:
        # taps of the last hour for residents the partner knows, spread so one resident's trips rarely meet
        occurred = now - timedelta(minutes=random.uniform(5, 55))
        record: dict[str, Any] = {
            "external_id": f"{self.prefix}-{next(self.sequence)}",
            "pseudonym": random.choice(self.residents),
            "occurred_at": iso(occurred),
        }
        kind = self.partner["kind"]
        if kind == "recycling_station":
            record |= {"type": "waste_sorting", "category": random.choice(("kitchen_waste", "recyclables"))}
            record["quantity"] = str(round(random.uniform(0.2, 3.0), 2))
        else:
            ride = "hydrogen_bus_ride" if kind == "hydrogen_bus" else random.choice(("metro_ride", "bus_ride"))
            km = round(random.uniform(2.0, 15.0), 1)
            record |= {"type": ride, "quantity": str(km), "ended_at": iso(occurred + timedelta(hours=km / 30))}
        return record

    @task
    def push_batch(self) -> None:
        now = datetime.now(UTC)
        body = json.dumps({"records": [self._record(now) for _ in range(BATCH)]}).encode()
        keys = [f"{self.partner['code']}:{r['external_id']}" for r in json.loads(body)["records"]]
        ACKNOWLEDGED.attempted.update(keys)

        def signed() -> dict[str, str]:
            # each attempt is signed afresh (a signature is good once), over the very same records
            headers = signed_headers(self.partner["key_id"], self.partner["secret"], "POST", PATH, body)
            return {**headers, "content-type": "application/json"}

        reply = write(self, PATH, raw=body, headers=signed)
        for key, outcome in zip(keys, (reply or {}).get("results", []), strict=False):
            if outcome["outcome"] in ("accepted", "capped", "duplicate") and outcome["behaviour_id"] is not None:
                ACKNOWLEDGED.partner_record(key, outcome)
