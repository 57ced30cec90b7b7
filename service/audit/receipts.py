"""Receipts, checkpoints and consistency proofs, computed from the stored tree."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import TextClause, text

from service.audit import merkle
from service.audit.errors import CheckpointNotFound, EntryNotFound, ReceiptNotReady
from service.audit.schemas import CheckpointRead, ConsistencyRead, ReceiptEntry, ReceiptRead
from service.audit.sealer import ENTRY_FIELDS, fetch_nodes
from service.audit.signing import CheckpointSigner
from service.db import ReadSession


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


_CHECKPOINT = "SELECT tree_size, root_hash, signed_at, key_id, signature FROM ledger_checkpoint"


def checkpoint_read(row: Any) -> CheckpointRead:
    return CheckpointRead(
        tree_size=row.tree_size,
        root_hash=_b64(row.root_hash),
        signed_at=row.signed_at,
        key_id=row.key_id,
        signature=_b64(row.signature),
    )


async def latest_checkpoint(connection: ReadSession) -> CheckpointRead:
    row = (await connection.execute(text(f"{_CHECKPOINT} ORDER BY tree_size DESC LIMIT 1"))).first()
    if row is None:
        raise CheckpointNotFound("Nothing has been sealed yet.", "尚无已封存的记录。")
    return checkpoint_read(row)


async def checkpoint(connection: ReadSession, tree_size: int) -> CheckpointRead:
    row = (await connection.execute(text(f"{_CHECKPOINT} WHERE tree_size = :s"), {"s": tree_size})).first()
    if row is None:
        raise CheckpointNotFound
    return checkpoint_read(row)


async def _hashes(connection: ReadSession, ranges: list[merkle.Range]) -> list[str]:
    nodes = await fetch_nodes(connection, merkle.nodes_for(ranges))
    return [_b64(merkle.range_hash(start, end, nodes)) for start, end in ranges]


def _resident_entry(where: str) -> TextClause:
    return text(
        f"""
        SELECT {ENTRY_FIELDS}, l.idx AS leaf_index
          FROM ledger_entry e
          JOIN ledger_transfer t ON t.id = e.transfer_id
          JOIN ledger_account a ON a.id = e.account_id AND a.resident_id = :resident
          LEFT JOIN ledger_seal_leaf l ON l.entry_id = e.id
         WHERE {where}
         ORDER BY e.id
         LIMIT 1
        """
    )


_BY_ENTRY = _resident_entry("e.id = :key")
_BY_BEHAVIOUR = _resident_entry("t.behaviour_id = :key AND t.kind = 'issuance'")


async def receipt(
    connection: ReadSession,
    signer: CheckpointSigner,
    *,
    resident_id: int,
    entry_id: int | None = None,
    behaviour_id: int | None = None,
) -> ReceiptRead:
    """The receipt for one of the resident's entries: by its id, or the credit of one of their behaviours."""
    statement = _BY_ENTRY if entry_id is not None else _BY_BEHAVIOUR
    row = (await connection.execute(statement, {"resident": resident_id, "key": entry_id or behaviour_id})).first()
    if row is None:
        raise EntryNotFound
    latest = await latest_checkpoint(connection) if row.leaf_index is not None else None
    if latest is None or row.leaf_index >= latest.tree_size:
        raise ReceiptNotReady
    ranges = merkle.inclusion_ranges(row.leaf_index, 0, latest.tree_size)
    nodes = await fetch_nodes(connection, merkle.nodes_for(ranges) | {(0, row.leaf_index)})
    fields = {name: getattr(row, name) for name in ReceiptEntry.model_fields}
    return ReceiptRead(
        entry=ReceiptEntry(**fields),
        leaf_index=row.leaf_index,
        leaf_hash=_b64(nodes[(0, row.leaf_index)]),
        inclusion_proof=[_b64(merkle.range_hash(start, end, nodes)) for start, end in ranges],
        checkpoint=latest,
        public_key=signer.public_key_b64,
    )


async def consistency(connection: ReadSession, first: int, second: int) -> ConsistencyRead:
    if first > second:  # no checkpoint of the later size can precede the earlier one
        raise CheckpointNotFound("`first` must not be larger than `second`.", "first 不能大于 second。")
    earlier, later = await checkpoint(connection, first), await checkpoint(connection, second)
    return ConsistencyRead(
        first=earlier, second=later, proof=await _hashes(connection, merkle.consistency_ranges(first, second))
    )
