"""The sealer: committed ledger entries and consent events become leaves of the Merkle log, and each step
is signed.

One background task per deployment (leader-elected by an advisory lock) runs a step every
`receipt_seal_interval_s`, at once again while behind. A step, in one transaction:

1. reads the settled horizon (service.ledger.horizon): every entry at or below it is committed or gone;
2. takes the entries above the sealed mark, in id order, up to a chunk, with each one's leaf hash, which
   the database computes from the fields and in the format of service.audit.receipt_verifier.leaf_line
   (repository/sealing.py; the verification job recomputes every leaf from the same fields in Python, by
   that function); then the consent events above theirs (service/consent), hashed here by
   receipt_verifier.consent_leaf_line. A step's entries come before its consent events in the log;
3. appends them to the tree from its frontier, storing each leaf and the subtrees it completes of
   merkle.STORED_FROM levels or more (smaller ones are hashed again from their leaves when needed);
4. signs a checkpoint of the new size and root, and advances the mark.

So checkpoints follow the ledger by about a step while entries flow, and a receipt can be had for an
entry about a second after its credit. `fetch_nodes` reads subtrees for the sealer, receipts and the
verification job alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from service.audit import merkle
from service.audit.receipt_verifier import consent_leaf_line, leaf_hash
from service.audit.repository import log as log_repository
from service.audit.repository import sealing as repository
from service.audit.signing import CheckpointSigner
from service.db import Database, ReadSession, try_xact_lock
from service.ledger.horizon import settled_horizons

logger = logging.getLogger(__name__)

LOCK_KEY = 0x7470_7365  # "tpse": one sealer at a time across all workers and hosts
CHUNK = 20_000


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
    nodes = await log_repository.nodes(connection, levels=list(levels), idxs=list(idxs))
    for node in derived:
        nodes[node] = merkle.subtree_hash([nodes[(0, leaf)] for leaf in merkle.leaves_of(node)])
    return nodes


def signed_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def seal_once(db: Database, signer: CheckpointSigner, *, settle_s: float = 2.0) -> Sealed:
    """Seal at most one chunk of committed entries and one of consent events, and sign the new tree; only
    the leader does anything."""
    async with db.engine.begin() as connection:
        if not await try_xact_lock(connection, LOCK_KEY):
            return Sealed(0, 0, behind=False)
        sealed, sealed_consent, size = await repository.seal_state(connection)
        horizons = await settled_horizons(connection, settle_s, ("ledger_entry", "consent_event"))
        if horizons is None:
            return Sealed(0, size, behind=False)
        horizon, consent_horizon = horizons
        entries = (
            await repository.entries_to_seal(connection, after=sealed, upto=horizon, chunk=CHUNK)
            if horizon > sealed
            else []
        )
        consents = (
            await repository.consents_to_seal(connection, after=sealed_consent, upto=consent_horizon, chunk=CHUNK)
            if consent_horizon > sealed_consent
            else []
        )
        full = len(entries) == CHUNK or len(consents) == CHUNK
        mark = entries[-1].id if len(entries) == CHUNK else max(horizon, sealed)
        consent_mark = consents[-1].id if len(consents) == CHUNK else max(consent_horizon, sealed_consent)
        if (mark, consent_mark) == (sealed, sealed_consent):
            return Sealed(0, size, behind=False)
        leaves = [bytes(row.leaf) for row in entries] + [
            leaf_hash(consent_leaf_line(dict(row._mapping))) for row in consents
        ]
        if leaves:
            known = await fetch_nodes(connection, set(merkle.frontier(size)))
            written = [w for w in merkle.append(size, leaves, known) if merkle.is_stored(w[0])]
            await repository.insert_leaves(
                connection,
                idxs=list(range(size, size + len(leaves))),
                entries=[row.id for row in entries] + [None] * len(consents),
                consents=[None] * len(entries) + [row.id for row in consents],
            )
            await repository.insert_nodes(
                connection,
                levels=[w[0] for w in written],
                idxs=[w[1] for w in written],
                hashes=[w[2] for w in written],
            )
            size += len(leaves)
            root = merkle.root(size, known)
            signed_at = signed_now()
            await repository.insert_checkpoint(
                connection,
                size=size,
                root=root,
                signed_at=signed_at,
                key_id=signer.key_id,
                signature=signer.sign(size, root, signed_at),
            )
        await repository.advance(connection, mark=mark, consent_mark=consent_mark, size=size)
    return Sealed(len(leaves), size, behind=full)
