"""An administrator in the morning: the district dashboard, the ledger search, an export, the flag queue."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from locust import HttpUser, between, task

from load_tests.scenarios.base import manifest, sign_in_staff

_admins = itertools.count()


class Admin(HttpUser):
    fixed_count = 2  # two administrators on duty, however many residents
    wait_time = between(5, 15)

    def on_start(self) -> None:
        self.headers = sign_in_staff(self, manifest().admins, _admins)

    @task(3)
    def dashboard(self) -> None:
        today = datetime.now(UTC).date()
        query = f"start={today - timedelta(days=6)}&end={today + timedelta(days=1)}&group_by=day"
        self.client.get(f"/v1/admin/dashboard?{query}", headers=self.headers, name="/v1/admin/dashboard")

    @task(1)
    def dashboard_csv(self) -> None:
        today = datetime.now(UTC).date()
        query = f"start={today - timedelta(days=30)}&end={today + timedelta(days=1)}&group_by=day"
        self.client.get(f"/v1/admin/dashboard.csv?{query}", headers=self.headers, name="/v1/admin/dashboard.csv")

    @task(2)
    def ledger_search(self) -> None:
        self.client.get("/v1/admin/audit/transfers?limit=100", headers=self.headers)

    @task(1)
    def export(self) -> None:
        since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
        self.client.get(
            f"/v1/admin/audit/transfers/export?format=csv&since={since}",
            headers=self.headers,
            name="/v1/admin/audit/transfers/export",
        )

    @task(1)
    def flag_queue(self) -> None:
        self.client.get("/v1/admin/flags?limit=50", headers=self.headers)
