"""What every job reads of the sealed log: an entry's leaf fields, and stored subtrees by level and index."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.db import ReadSession

# The leaf fields of an entry, as receipts show them and the verifier hashes them.
ENTRY_FIELDS = """
    e.id, e.transfer_id, e.account_id, e.amount AS amount_g, t.kind, t.debit_account_id, t.credit_account_id,
    t.amount AS transfer_amount_g, t.behaviour_id, t.factor_version_id, t.reverses_transfer_id,
    to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at
"""

# The leaf fields of a consent event (receipt_verifier.CONSENT_FIELDS) in their textual forms, from
# consent_event c joined to its consent_link k.
_CONSENT_COLUMNS = {
    "id": "c.id",
    "link_id": "k.public_id::text",
    "partner_id": "c.partner_id",
    "kind": "c.kind",
    "text_version": "c.text_version",
    "locale": "c.locale",
    "text_sha256": "encode(c.text_sha256, 'hex')",
    "method": "c.method",
    "reason": "c.reason",
    "occurred_at": """to_char(c.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
}


def consent_fields(prefix: str = "") -> str:
    """The select list of a consent event's leaf fields, each named `prefix` + its field name."""
    return ", ".join(f"{expression} AS {prefix}{name}" for name, expression in _CONSENT_COLUMNS.items())


CONSENT_FIELDS = consent_fields()

_NODES = text(
    """
    SELECT n.level, n.idx, n.hash
      FROM ledger_seal_node n
      JOIN unnest(CAST(:levels AS smallint[]), CAST(:idxs AS bigint[])) AS w(level, idx)
        ON n.level = w.level AND n.idx = w.idx
    """
)


async def nodes(
    connection: AsyncConnection | ReadSession, *, levels: list[int], idxs: list[int]
) -> dict[tuple[int, int], bytes]:
    """The stored hashes of the (level, idx) pairs given side by side; a pair not stored is left out."""
    rows = await connection.execute(_NODES, {"levels": levels, "idxs": idxs})
    return {(row.level, row.idx): bytes(row.hash) for row in rows}
