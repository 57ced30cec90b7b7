"""The sealer: committed ledger entries become leaves of the Merkle log, and each step is signed.

One background task per deployment (leader-elected by an advisory lock) runs a step every
`receipt_seal_interval_s`, at once again while behind. A step, in one transaction:

1. reads the settled horizon (service.ledger.horizon): every entry at or below it is committed or gone;
2. takes the entries above the sealed mark, in id order, up to a chunk, with each one's leaf hash, which
   the database computes from the fields and in the format of service.audit.receipt_verifier.leaf_line
   (the verification job recomputes every leaf from the same fields in Python, by that function);
3. appends them to the tree from its frontier, storing each leaf and the subtrees it completes of
   merkle.STORED_FROM levels or more (smaller ones are hashed again from their leaves when needed);
4. signs a checkpoint of the new size and root, and advances the mark.

So checkpoints follow the ledger by about a step while entries flow, and a receipt can be had for an
entry about a second after its credit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.audit import merkle
from service.audit.receipt_verifier import LEAF_FIELDS, LEAF_PREFIX
from service.audit.signing import CheckpointSigner
from service.db import Database, ReadSession
from service.ledger.horizon import settled_horizon

logger = logging.getLogger(__name__)

LOCK_KEY = 0x7470_7365  # "tpse": one sealer at a time across all workers and hosts
CHUNK = 20_000

# The leaf fields of an entry, as receipts show them and the verifier hashes them.
ENTRY_FIELDS = """
    e.id, e.transfer_id, e.account_id, e.amount AS amount_g, t.kind, t.debit_account_id, t.credit_account_id,
    t.amount AS transfer_amount_g, t.behaviour_id, t.factor_version_id, t.reverses_transfer_id,
    to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at
"""

# An entry's leaf line, as leaf_line() writes it: the prefix and each field as text ('' for none), joined
# by '|'. Hashing it in the database spares the leader's worker a Python object per field of every entry.
_LEAF_LINE = " || '|' || ".join([f"'{LEAF_PREFIX}'", *(f"coalesce(f.{name}::text, '')" for name in LEAF_FIELDS)])
_ENTRIES = text(
    f"""
    SELECT f.id, sha256(decode('00', 'hex') || convert_to({_LEAF_LINE}, 'UTF8')) AS leaf
      FROM (SELECT {ENTRY_FIELDS}
              FROM ledger_entry e JOIN ledger_transfer t ON t.id = e.transfer_id
             WHERE e.id > :after AND e.id <= :upto
             ORDER BY e.id
             LIMIT :chunk) f
     ORDER BY f.id
    """
)
NODES = text(
    """
    SELECT n.level, n.idx, n.hash
      FROM ledger_seal_node n
      JOIN unnest(CAST(:levels AS smallint[]), CAST(:idxs AS bigint[])) AS w(level, idx)
        ON n.level = w.level AND n.idx = w.idx
    """
)
_INSERT_LEAVES = text(
    "INSERT INTO ledger_seal_leaf (idx, entry_id) "
    "SELECT * FROM unnest(CAST(:idxs AS bigint[]), CAST(:entries AS bigint[]))"
)
_INSERT_NODES = text(
    "INSERT INTO ledger_seal_node (level, idx, hash) "
    "SELECT * FROM unnest(CAST(:levels AS smallint[]), CAST(:idxs AS bigint[]), CAST(:hashes AS bytea[]))"
)
_INSERT_CHECKPOINT = text(
    "INSERT INTO ledger_checkpoint (tree_size, root_hash, signed_at, key_id, signature) "
    "VALUES (:size, :root, :signed_at, :key_id, :signature)"
)


@dataclass(frozen=True, slots=True)
class Sealed:
    leaves: int
    tree_size: int
    behind: bool


async def fetch_nodes(connection: AsyncConnection | ReadSession, wanted: set[merkle.Node]) -> dict[merkle.Node, bytes]:
    """The wanted subtrees' hashes (and those of the leaves read to hash the ones not stored)."""
    derived = {node for node in wanted if not merkle.is_stored(node[0])}
    read = (wanted - derived) | {(0, leaf) for node in derived for leaf in merkle.leaves_of(node)}
    if not read:
        return {}
    levels, idxs = zip(*sorted(read), strict=True)
    rows = await connection.execute(NODES, {"levels": list(levels), "idxs": list(idxs)})
    nodes = {(row.level, row.idx): bytes(row.hash) for row in rows}
    for node in derived:
        nodes[node] = merkle.subtree_hash([nodes[(0, leaf)] for leaf in merkle.leaves_of(node)])
    return nodes


def signed_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def seal_once(db: Database, signer: CheckpointSigner, *, settle_s: float = 2.0) -> Sealed:
    """Seal at most one chunk of committed entries and sign the new tree; only the leader does anything."""
    async with db.engine.begin() as connection:
        if not await connection.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}):
            return Sealed(0, 0, behind=False)
        horizon = await settled_horizon(connection, settle_s)
        sealed, size = (
            await connection.execute(text("SELECT sealed_entry_id, tree_size FROM ledger_seal_state"))
        ).one()
        if horizon is None or horizon <= sealed:
            return Sealed(0, size, behind=False)
        rows = (await connection.execute(_ENTRIES, {"after": sealed, "upto": horizon, "chunk": CHUNK})).all()
        full = len(rows) == CHUNK
        mark = rows[-1].id if full else horizon
        if rows:
            known = await fetch_nodes(connection, set(merkle.frontier(size)))
            written = [
                w for w in merkle.append(size, [bytes(row.leaf) for row in rows], known) if merkle.is_stored(w[0])
            ]
            await connection.execute(
                _INSERT_LEAVES, {"idxs": list(range(size, size + len(rows))), "entries": [row.id for row in rows]}
            )
            await connection.execute(
                _INSERT_NODES,
                {"levels": [w[0] for w in written], "idxs": [w[1] for w in written], "hashes": [w[2] for w in written]},
            )
            size += len(rows)
            root = merkle.root(size, known)
            signed_at = signed_now()
            await connection.execute(
                _INSERT_CHECKPOINT,
                {
                    "size": size,
                    "root": root,
                    "signed_at": signed_at,
                    "key_id": signer.key_id,
                    "signature": signer.sign(size, root, signed_at),
                },
            )
        await connection.execute(
            text("UPDATE ledger_seal_state SET sealed_entry_id = :mark, tree_size = :size"),
            {"mark": mark, "size": size},
        )
    return Sealed(len(rows), size, behind=full)
