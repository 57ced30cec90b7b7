"""Sites registered straight into a database, each with a key derived from its code, and the codes they
show: the load run's and the bench's (and the test suite's, tests/fixtures/evidence.py).

Both sides derive the keys: the seed registers each site's public key, and the simulated residents sign
the codes a site's screen would have shown when they scanned it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.sites import codes


@dataclass(frozen=True)
class SeededSite:
    id: int
    code: str
    kind: str
    latitude: float
    longitude: float

    @cached_property
    def key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"seeded site {self.code}".encode()).digest())

    def code_at(self, moment: datetime) -> str:
        """The code this site showed in the minute holding `moment`."""
        return codes.sign(self.key, self.id, 1, codes.window_start_for(moment.astimezone(UTC), 1), 1)


# Ids far above what the identity column hands out, so that sites registered during a run never meet
# them. Metro stations 20 km apart and bike docks 3 km apart: every ride the scenario makes is plausible.
METRO_IN = SeededSite(900_101, "load-metro-shuanglin", "metro_station", 39.0000, 117.3000)
METRO_OUT = SeededSite(900_102, "load-metro-necc", "metro_station", 39.1800, 117.3000)
BUS = SeededSite(900_103, "load-bus-xianshuigu", "bus_stop", 38.9900, 117.3800)
HYDROGEN = SeededSite(900_104, "load-hydrogen-653", "hydrogen_bus_stop", 38.9800, 117.3900)
BIKE_IN = SeededSite(900_105, "load-bike-haihe-1", "bike_dock", 39.0500, 117.4000)
BIKE_OUT = SeededSite(900_106, "load-bike-haihe-2", "bike_dock", 39.0770, 117.4000)
RECYCLING = SeededSite(900_107, "load-recycling-01", "recycling_station", 39.0100, 117.3100)
LOAD_SITES = (METRO_IN, METRO_OUT, BUS, HYDROGEN, BIKE_IN, BIKE_OUT, RECYCLING)

# The sites a behaviour type's codes come from: start, then end where the type needs one.
ROUTES: dict[str, tuple[SeededSite, ...]] = {
    "metro_ride": (METRO_IN, METRO_OUT),
    "bus_ride": (BUS,),
    "hydrogen_bus_ride": (HYDROGEN,),
    "shared_bike": (BIKE_IN, BIKE_OUT),
    "waste_sorting": (RECYCLING,),
}


def scanned(type_: str, started: datetime, ended: datetime) -> dict[str, str]:
    """The evidence of a report: the codes scanned where it started and, for a ride, where it ended."""
    route = ROUTES[type_]
    evidence = {"start_code": route[0].code_at(started)}
    if len(route) == 2:
        evidence["end_code"] = route[1].code_at(ended)
    return evidence


async def seed_sites(connection: asyncpg.Connection, sites: Sequence[SeededSite] = ()) -> None:
    """Register `sites` (the load sites unless given), each with key 1, valid from a year back."""
    sites = sites or LOAD_SITES
    await connection.executemany(
        """
        INSERT INTO sites_site (id, code, name_zh, name_en, kind, latitude, longitude, valid_from)
        VALUES ($1, $2, $2, $2, $3, $4, $5, now() - interval '1 year')
        """,
        [(s.id, s.code, s.kind, s.latitude, s.longitude) for s in sites],
    )
    await connection.executemany(
        "INSERT INTO sites_site_key (site_id, key_number, public_key) VALUES ($1, 1, $2)",
        [(s.id, s.key.public_key().public_bytes_raw()) for s in sites],
    )
