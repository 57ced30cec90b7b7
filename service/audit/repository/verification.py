"""The queries `tanpuhui audit verify` walks, on one read-only repeatable-read snapshot: the ledger's
invariants, every behaviour with what was issued for it, and the sealed log's leaves and checkpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.audit.repository.log import ENTRY_FIELDS, consent_fields
from service.db import Database
from service.ledger import repository as ledger_repository

# The ledger's invariants, by name, each a query for the rows that break it (run as verify.LEDGER_CHECKS).
LEDGER_CHECKS = {
    "negative balance": "SELECT id, balance FROM ledger_account WHERE kind <> 'system' AND balance < 0",
    "balance differs from the sum of its entries": """
        SELECT a.id, a.balance, coalesce(sum(e.amount), 0) AS entries
          FROM ledger_account a LEFT JOIN ledger_entry e ON e.account_id = a.id
         WHERE a.kind <> 'system'
         GROUP BY a.id, a.balance HAVING a.balance <> coalesce(sum(e.amount), 0)
    """,
    "transfer is not two entries that cancel": """
        SELECT t.id, t.amount, count(e.id) AS entries, coalesce(sum(e.amount), 0) AS total
          FROM ledger_transfer t LEFT JOIN ledger_entry e ON e.transfer_id = t.id
         GROUP BY t.id, t.amount
        HAVING count(e.id) <> 2 OR coalesce(sum(e.amount), 0) <> 0 OR max(e.amount) <> t.amount
    """,
    "lot holdings differ from the balance, or one is negative": """
        WITH held AS (
            SELECT e.account_id, e.transfer_id AS lot_id, e.amount AS grams
              FROM ledger_entry e JOIN ledger_transfer t ON t.id = e.transfer_id AND t.kind = 'issuance'
             WHERE e.amount > 0
            UNION ALL SELECT to_account_id, lot_id, grams FROM ledger_lot_move
            UNION ALL SELECT from_account_id, lot_id, -grams FROM ledger_lot_move
        ), per_lot AS (
            SELECT account_id, lot_id, sum(grams) AS grams FROM held GROUP BY account_id, lot_id
        ), per_account AS (
            SELECT account_id, sum(grams) AS grams, min(grams) AS least FROM per_lot GROUP BY account_id
        )
        SELECT a.id, a.balance, p.grams AS holdings, p.least
          FROM ledger_account a LEFT JOIN per_account p ON p.account_id = a.id
         WHERE a.kind <> 'system' AND (coalesce(p.grams, 0) <> a.balance OR coalesce(p.least, 0) < 0)
    """,
    "transfer after issuance does not move lots of its amount": """
        SELECT t.id, t.kind, t.amount, coalesce(sum(m.grams), 0) AS moved
          FROM ledger_transfer t LEFT JOIN ledger_lot_move m ON m.transfer_id = t.id
         WHERE t.kind <> 'issuance'
         GROUP BY t.id, t.kind, t.amount
        HAVING coalesce(sum(m.grams), 0) <> t.amount
    """,
    "retired grams differ from the certificates": """
        SELECT retired, certified
          FROM (SELECT (SELECT coalesce(sum(amount), 0) FROM ledger_transfer WHERE kind = 'retirement') AS retired,
                       (SELECT coalesce(sum(amount_g), 0) FROM redemption_certificate) AS certified) s
         WHERE retired <> certified
    """,
}
_LEDGER_CHECKS = {what: text(sql) for what, sql in LEDGER_CHECKS.items()}

_READ_ONLY = text("SET TRANSACTION READ ONLY")
_FACTOR_VERSIONS = text("SELECT id, content FROM factor_version")
_BEHAVIOURS = text(
    """
    SELECT b.id, b.behaviour_type, b.category, b.tier, b.status, b.quantity, b.factor_version_id,
           b.reduction_g_per_unit, b.weight, b.grams, b.credited_g,
           coalesce((SELECT sum(t.amount) FROM ledger_transfer t
                      WHERE t.behaviour_id = b.id AND t.kind = 'issuance'), 0) AS issued,
           (SELECT count(*) FROM ledger_transfer t
             WHERE t.behaviour_id = b.id AND t.kind = 'issuance' AND t.factor_version_id <> b.factor_version_id)
             AS other_versions
      FROM ingest_behaviour b
     WHERE b.id > :after
     ORDER BY b.id
     LIMIT :chunk
    """
)
_ORPHAN_ISSUANCE = text(
    """
    SELECT t.id FROM ledger_transfer t LEFT JOIN ingest_behaviour b ON b.id = t.behaviour_id
     WHERE t.kind = 'issuance' AND (b.id IS NULL OR t.factor_version_id IS NULL)
    """
)
_LEAVES = text(
    f"""
    SELECT l.idx, l.entry_id, l.consent_event_id, n.hash AS stored, {ENTRY_FIELDS}, {consent_fields("consent_")}
      FROM ledger_seal_leaf l
      JOIN ledger_seal_node n ON n.level = 0 AND n.idx = l.idx
      LEFT JOIN ledger_entry e ON e.id = l.entry_id
      LEFT JOIN ledger_transfer t ON t.id = e.transfer_id
      LEFT JOIN consent_event c ON c.id = l.consent_event_id
      LEFT JOIN consent_link k ON k.id = c.link_id
     WHERE l.idx >= :start
     ORDER BY l.idx
     LIMIT :chunk
    """  # noqa: S608 -- built once from ENTRY_FIELDS and consent_fields; values are bound
)
# Partner records credited while no link of their resident with their partner was in force: granted at
# or before the record was stored and not revoked until after.
_CREDITS_WITHOUT_CONSENT = text(
    """
    SELECT b.id, b.partner_id, b.created_at
      FROM ingest_behaviour b
     WHERE b.source = 'partner' AND b.credited_g > 0
       AND NOT EXISTS (
           SELECT 1 FROM consent_link l
            WHERE l.resident_id = b.resident_id AND l.partner_id = b.partner_id AND l.granted_at <= b.created_at
              AND (l.revoked_at IS NULL OR l.revoked_at > b.created_at))
     ORDER BY b.id
     LIMIT :limit
    """
)
_PARTNER_CREDITS = text("SELECT count(*) FROM ingest_behaviour WHERE source = 'partner' AND credited_g > 0")
# Links whose grant, or revocation, is not a consent event at the time the link gives.
_LINKS_WITHOUT_EVENTS = text(
    """
    SELECT l.public_id
      FROM consent_link l
     WHERE NOT EXISTS (SELECT 1 FROM consent_event g
                        WHERE g.link_id = l.id AND g.kind = 'granted' AND g.occurred_at = l.granted_at)
        OR (l.revoked_at IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM consent_event r
                             WHERE r.link_id = l.id AND r.kind = 'revoked' AND r.occurred_at = l.revoked_at))
     ORDER BY l.id
     LIMIT :limit
    """
)
_CHECKPOINTS = text(
    "SELECT tree_size, root_hash, signed_at, signature FROM ledger_checkpoint WHERE tree_size > :after "
    "ORDER BY tree_size LIMIT :chunk"
)
_BEHAVIOUR_COUNT = text("SELECT count(*) FROM ingest_behaviour")
_LEAF_COUNT = text("SELECT coalesce(max(idx) + 1, 0) FROM ledger_seal_leaf")
_UNSEALED = text(
    "SELECT (SELECT count(*) FROM ledger_entry WHERE id > s.sealed_entry_id)"
    " + (SELECT count(*) FROM consent_event WHERE id > s.sealed_consent_event_id) FROM ledger_seal_state s"
)


@asynccontextmanager
async def snapshot(db: Database) -> AsyncIterator[AsyncConnection]:
    """A connection in one read-only repeatable-read transaction, so that writes going on meanwhile cannot
    confuse the checks; rolled back at the end."""
    async with db.engine.connect() as connection:
        await connection.execution_options(isolation_level="REPEATABLE READ")
        await connection.execute(_READ_ONLY)
        yield connection
        await connection.rollback()


async def sum_of_balances(connection: AsyncConnection) -> int:
    """Stored balances plus the derived balances of system accounts: zero while the books balance."""
    return int((await connection.execute(ledger_repository.BALANCE_CHECK_SQL)).scalar_one())


async def ledger_violations(connection: AsyncConnection, *, check: str) -> Sequence[Row[Any]]:
    """The rows that break one of LEDGER_CHECKS, named by its key."""
    return (await connection.execute(_LEDGER_CHECKS[check])).all()


async def factor_versions(connection: AsyncConnection) -> Sequence[Row[Any]]:
    return (await connection.execute(_FACTOR_VERSIONS)).all()


async def orphan_issuances(connection: AsyncConnection) -> Sequence[Row[Any]]:
    """Issuance transfers with no behaviour or no factor version."""
    return (await connection.execute(_ORPHAN_ISSUANCE)).all()


async def behaviours(connection: AsyncConnection, *, after: int, chunk: int) -> Sequence[Row[Any]]:
    """Up to `chunk` behaviours after id `after`, each with what was issued for it and whether any of it
    was issued under another factor version."""
    return (await connection.execute(_BEHAVIOURS, {"after": after, "chunk": chunk})).all()


async def leaves(connection: AsyncConnection, *, start: int, chunk: int) -> Sequence[Row[Any]]:
    """Up to `chunk` leaves from index `start`, each with its stored hash and its entry's leaf fields, or
    its consent event's prefixed `consent_` (None when the entry or event is gone)."""
    return (await connection.execute(_LEAVES, {"start": start, "chunk": chunk})).all()


async def partner_credit_count(connection: AsyncConnection) -> int:
    return int(await connection.scalar(_PARTNER_CREDITS))


async def credits_without_consent(connection: AsyncConnection, *, limit: int) -> Sequence[Row[Any]]:
    """Up to `limit` partner records credited with no link of their resident in force when stored."""
    return (await connection.execute(_CREDITS_WITHOUT_CONSENT, {"limit": limit})).all()


async def links_without_events(connection: AsyncConnection, *, limit: int) -> Sequence[Row[Any]]:
    """Up to `limit` links whose grant or revocation has no consent event at its time."""
    return (await connection.execute(_LINKS_WITHOUT_EVENTS, {"limit": limit})).all()


async def checkpoints(connection: AsyncConnection, *, after: int, chunk: int) -> Sequence[Row[Any]]:
    """Up to `chunk` checkpoints larger than `after`, smallest first."""
    return (await connection.execute(_CHECKPOINTS, {"after": after, "chunk": chunk})).all()


async def behaviour_count(connection: AsyncConnection) -> int:
    return int(await connection.scalar(_BEHAVIOUR_COUNT))


async def leaf_count(connection: AsyncConnection) -> int:
    return int(await connection.scalar(_LEAF_COUNT))


async def unsealed_entries(connection: AsyncConnection) -> int:
    return int(await connection.scalar(_UNSEALED))
