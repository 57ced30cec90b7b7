"""Seed a database for a load run: residents, enterprises with rewards, administrators, data partners.

    python -m load_tests.common.seed --database-url URL --residents 900000 --out load_tests/results/seed.json

Residents are written set-wise (they sign in through the development login as `load-<n>`, so the run
needs a service outside production); everyone else is created through the service's own functions. A
few thousand residents have linked their accounts at every partner (written set-wise too,
common/links.py): the partners' records name them by the pseudonyms of those links.
The manifest holds what the Locust users need to sign in: usernames, passwords, partner keys. It holds
secrets, so it is written under load_tests/results/, which git ignores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from load_tests.common.links import link_residents
from load_tests.common.sites import seed_sites
from service.accounts import partners, staff
from service.accounts.models import EnterpriseStatus, Role
from service.accounts.schemas import UserCreate
from service.config import Environment, Settings
from service.db import Database
from service.kit.devdb import asyncpg_dsn
from service.kit.secrets import SecretBox, derive_key
from service.redemption import rewards
from service.redemption.models import RewardCategory
from service.redemption.schemas import RewardCreate

RESIDENT_PREFIX = "load-"
ENTERPRISES = 20
REWARDS_PER_ENTERPRISE = 3
# Transit-card operators, the hydrogen-bus line, bike share and recycling stations push batches.
PARTNERS = (
    ("load-metro", "Tianjin metro card", "transit_card"),
    ("load-bus", "Jinnan bus QR", "transit_card"),
    ("load-h2bus", "Hydrogen bus line", "hydrogen_bus"),
    ("load-recycle", "Smart recycling stations", "recycling_station"),
)

# Residents spread over the district's communities, one in fifty hidden from public boards.
SEED_RESIDENTS_SQL = """
INSERT INTO accounts_resident (openid, pseudonym, nickname, community_id, leaderboard_visible)
SELECT 'dev:' || $3 || g, 'r-load-' || g, '居民' || g,
       c.ids[1 + g % array_length(c.ids, 1)], g % 50 <> 0
  FROM generate_series($1::bigint, $2::bigint) g
 CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM accounts_community) c
"""


@dataclass
class Manifest:
    residents: int
    resident_prefix: str = RESIDENT_PREFIX
    enterprises: list[dict[str, str]] = field(default_factory=list)  # username, password
    admins: list[dict[str, str]] = field(default_factory=list)
    partners: list[dict[str, str]] = field(default_factory=list)  # code, kind, key_id, secret
    # per partner code, the pseudonyms of the residents it reports for (each linked at every partner)
    partner_pseudonyms: dict[str, list[str]] = field(default_factory=dict)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False), encoding="utf-8")
        path.chmod(0o600)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


async def seed_residents(url: str, count: int, *, chunk: int = 100_000) -> list[int]:
    """Write `count` residents; returns the ids of a few thousand of them, for the partners."""
    connection = await asyncpg.connect(**asyncpg_dsn(url))
    try:
        for first in range(1, count + 1, chunk):
            await connection.execute(SEED_RESIDENTS_SQL, first, min(count, first + chunk - 1), RESIDENT_PREFIX)
        await connection.execute("ANALYZE accounts_resident")
        await connection.execute("ANALYZE ledger_account")
        rows = await connection.fetch(
            "SELECT id FROM accounts_resident WHERE openid LIKE 'dev:' || $1 || '%' ORDER BY random() LIMIT 5000",
            RESIDENT_PREFIX,
        )
    finally:
        await connection.close()
    return [row["id"] for row in rows]


def _reward(enterprise: int, number: int) -> RewardCreate:
    now = datetime.now(UTC)
    return RewardCreate(
        title=f"低碳好礼 {enterprise}-{number}",
        description="到店出示兑换码领取",
        category=RewardCategory.food_drink,
        price_g=200 + 100 * number,
        stock=1_000_000,
        per_resident_limit=1000,
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=90),
        voucher_valid_days=30,
        image_url=None,
    )


async def seed(url: str, residents: int) -> Manifest:
    """Everything a load run signs in as; returns the manifest (not yet written)."""
    settings = Settings(_env_file=None, env=Environment.test, database_url=url, migrate_on_start=False)  # type: ignore[arg-type]
    manifest = Manifest(residents=residents)
    linked = await seed_residents(url, residents)
    connection = await asyncpg.connect(**asyncpg_dsn(url))
    try:
        await seed_sites(connection)
    finally:
        await connection.close()
    db = Database(url, settings=settings)
    box = SecretBox(derive_key(settings.secret_key.get_secret_value(), "partner-secrets"))
    created: list[tuple[int, str, str, str]] = []  # each partner's id, code, name and kind
    try:
        async with db.sessionmaker.begin() as session:
            for number in range(1, ENTERPRISES + 1):
                enterprise = await staff.create_enterprise(
                    session, name=f"津南低碳商户 {number}", status=EnterpriseStatus.approved
                )
                manifest.enterprises.append(
                    await _staff(session, f"load-enterprise-{number}", f"商户 {number}", Role.enterprise, enterprise.id)
                )
                for reward in range(REWARDS_PER_ENTERPRISE):
                    await rewards.publish(
                        session, enterprise_id=enterprise.id, data=_reward(number, reward), base_url=""
                    )
            for number, role in enumerate((Role.admin_super, Role.admin_auditor), start=1):
                manifest.admins.append(await _staff(session, f"load-admin-{number}", f"管理员 {number}", role))
            for code, name, kind in PARTNERS:
                partner = await partners.create_partner(session, code=code, name=name, kind=kind)
                key, secret = await partners.issue_partner_key(session, box=box, partner_id=partner.id)
                manifest.partners.append({"code": code, "kind": kind, "key_id": key.key_id, "secret": secret})
                created.append((partner.id, code, name, kind))
    finally:
        await db.dispose()
    connection = await asyncpg.connect(**asyncpg_dsn(url))
    try:
        for partner_id, code, name, kind in created:
            pseudonyms = await link_residents(
                connection,
                linked,
                partner_id=partner_id,
                partner_name=name,
                partner_kind=kind,
                retention_days=settings.retention_evidence_days,
            )
            manifest.partner_pseudonyms[code] = list(pseudonyms.values())
        await connection.execute("ANALYZE consent_link")
    finally:
        await connection.close()
    return manifest


async def _staff(
    session: AsyncSession, username: str, display_name: str, role: Role, enterprise_id: int | None = None
) -> dict[str, str]:
    """A staff account with a fresh password; answers the sign-in a load user will use."""
    sign_in = {"username": username, "password": secrets.token_urlsafe(16)}
    data = UserCreate(**sign_in, display_name=display_name, role=role, enterprise_id=enterprise_id)  # type: ignore[arg-type]
    await staff.create_user(session, data=data)
    return sign_in


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a migrated database (postgresql+asyncpg://…)")
    parser.add_argument("--residents", type=int, default=900_000)
    parser.add_argument("--out", type=Path, default=Path("load_tests/results/seed.json"))
    args = parser.parse_args()
    manifest = asyncio.run(seed(args.database_url, args.residents))
    manifest.write(args.out)
    print(f"seeded {args.residents:,} residents, {ENTERPRISES} enterprises, {len(PARTNERS)} partners → {args.out}")


if __name__ == "__main__":
    main()
