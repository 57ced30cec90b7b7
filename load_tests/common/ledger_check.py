"""After a load run: every write the service acknowledged is credited exactly once, nothing twice.

The Locust users write down each acknowledged behaviour (resident: client_id; partner: partner code and
external id) with the behaviour id and grams the service answered, and every key they tried at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg

from service.kit.devdb import asyncpg_dsn

RESIDENT_ROWS = """
SELECT client_id::text AS key, id, credited_g FROM ingest_behaviour WHERE client_id = ANY($1::uuid[])
"""
PARTNER_ROWS = """
SELECT p.code || ':' || b.external_id AS key, b.id, b.credited_g
  FROM ingest_behaviour b JOIN accounts_partner p ON p.id = b.partner_id
 WHERE p.code || ':' || b.external_id = ANY($1::text[])
"""
# Behaviours whose issued grams differ from what they say they credited: none issued twice, none lost.
MISCREDITED = """
SELECT b.id, b.credited_g, coalesce(sum(t.amount), 0) AS issued, count(t.id) AS transfers
  FROM ingest_behaviour b
  LEFT JOIN ledger_transfer t ON t.behaviour_id = b.id AND t.kind = 'issuance'
 WHERE b.status = 'credited'
 GROUP BY b.id, b.credited_g
HAVING coalesce(sum(t.amount), 0) <> b.credited_g OR count(t.id) > 1
 LIMIT 20
"""


def read_acknowledged(path: Path) -> dict[str, Any] | None:
    """What the Locust users wrote down at the end of the run; None if they never got to."""
    if not path.exists():
        return None
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


async def check_acknowledged(url: str, document: dict[str, Any] | None, log: Callable[[str], None]) -> list[str]:
    if document is None:
        return ["acknowledged.json was not written: the Locust run did not end cleanly"]
    problems: list[str] = []
    connection = await asyncpg.connect(**asyncpg_dsn(url))
    try:
        for kind, sql, acks in (
            ("resident behaviour", RESIDENT_ROWS, document["behaviours"]),
            ("partner record", PARTNER_ROWS, document["partner_records"]),
        ):
            attempted = [key for key in document["attempted"] if (":" in key) == (kind == "partner record")]
            rows = await connection.fetch(sql, attempted)
            found: dict[str, list[asyncpg.Record]] = {}
            for row in rows:
                found.setdefault(row["key"], []).append(row)
            twice = [key for key, stored in found.items() if len(stored) > 1]
            if twice:
                problems.append(f"{len(twice)} {kind}s stored more than once, e.g. {twice[:3]}")
            lost = [key for key in acks if key not in found]
            if lost:
                problems.append(f"{len(lost)} acknowledged {kind}s are missing, e.g. {lost[:3]}")
            differ = [
                key
                for key, ack in acks.items()
                if key in found
                and (found[key][0]["id"] != ack["behaviour_id"] or found[key][0]["credited_g"] != ack["credited_g"])
            ]
            if differ:
                problems.append(f"{len(differ)} {kind}s differ from what was acknowledged, e.g. {differ[:3]}")
            stored_refused = [key for key in document.get("already_recorded", []) if key in found]
            if kind == "resident behaviour" and stored_refused:
                problems.append(f"{len(stored_refused)} behaviours answered 409 were stored, e.g. {stored_refused[:3]}")
            unanswered = len(found) - len([key for key in found if key in acks])
            refused = len(document.get("already_recorded", [])) if kind == "resident behaviour" else 0
            log(
                f"{kind}s: {len(acks):,} acknowledged, all stored once; {len(attempted):,} tried"
                + (f", {refused:,} answered TRIP_ALREADY_RECORDED" if refused else "")
                + f"; {unanswered:,} stored without an acknowledgement seen (each once)"
                if not (twice or lost or differ)
                else f"{kind}s: problems found"
            )
        miscredited = await connection.fetch(MISCREDITED)
        if miscredited:
            problems.append(f"behaviours whose issuance differs from their credit: {[dict(r) for r in miscredited]}")
        else:
            log("every credited behaviour has exactly its credited grams issued, once")
    finally:
        await connection.close()
    return problems
