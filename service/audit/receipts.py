"""Receipts, checkpoints and consistency proofs, computed from the stored tree, and the signing key."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from service.audit import merkle
from service.audit.consent_schemas import ConsentLeafRead, ConsentReceiptRead
from service.audit.errors import CheckpointNotFound, ConsentEventNotFound, EntryNotFound, ReceiptNotReady
from service.audit.repository import receipts as repository
from service.audit.schemas import CheckpointRead, ConsistencyRead, PublicKeyRead, ReceiptEntry, ReceiptRead
from service.audit.sealer import fetch_nodes
from service.audit.signing import CheckpointSigner
from service.db import ReadSession


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _checkpoint_read(row: Any) -> CheckpointRead:
    return CheckpointRead(
        tree_size=row.tree_size,
        root_hash=_b64(row.root_hash),
        signed_at=row.signed_at,
        key_id=row.key_id,
        signature=_b64(row.signature),
    )


async def latest_checkpoint(session: ReadSession) -> CheckpointRead:
    row = await repository.latest_checkpoint(session)
    if row is None:
        raise CheckpointNotFound("Nothing has been sealed yet.", "尚无已封存的记录。")
    return _checkpoint_read(row)


async def checkpoint(session: ReadSession, *, tree_size: int) -> CheckpointRead:
    row = await repository.checkpoint(session, tree_size=tree_size)
    if row is None:
        raise CheckpointNotFound
    return _checkpoint_read(row)


async def _hashes(session: ReadSession, ranges: list[merkle.Range]) -> list[str]:
    nodes = await fetch_nodes(session, merkle.nodes_for(ranges))
    return [_b64(merkle.range_hash(start, end, nodes)) for start, end in ranges]


async def receipt(
    session: ReadSession,
    *,
    signer: CheckpointSigner,
    resident_id: int,
    entry_id: int | None = None,
    behaviour_id: int | None = None,
) -> ReceiptRead:
    """The receipt for one of the resident's entries: by its id, or the credit of one of their behaviours."""
    row = await repository.resident_entry(
        session, resident_id=resident_id, entry_id=entry_id, behaviour_id=behaviour_id
    )
    if row is None:
        raise EntryNotFound
    fields = {name: getattr(row, name) for name in ReceiptEntry.model_fields}
    return ReceiptRead(
        entry=ReceiptEntry(**fields), **await inclusion(session, signer=signer, leaf_index=row.leaf_index)
    )


async def inclusion(session: ReadSession, *, signer: CheckpointSigner, leaf_index: int | None) -> dict[str, Any]:
    """The fields of InclusionRead for a leaf under the latest checkpoint; ReceiptNotReady while the item
    is not sealed (`leaf_index` None) or no checkpoint covers it yet."""
    latest = await latest_checkpoint(session) if leaf_index is not None else None
    if leaf_index is None or latest is None or leaf_index >= latest.tree_size:
        raise ReceiptNotReady
    ranges = merkle.inclusion_ranges(leaf_index, 0, latest.tree_size)
    nodes = await fetch_nodes(session, merkle.nodes_for(ranges) | {(0, leaf_index)})
    return {
        "leaf_index": leaf_index,
        "leaf_hash": _b64(nodes[(0, leaf_index)]),
        "inclusion_proof": [_b64(merkle.range_hash(start, end, nodes)) for start, end in ranges],
        "checkpoint": latest,
        "public_key": signer.public_key_b64,
    }


async def consistency(session: ReadSession, *, first: int, second: int) -> ConsistencyRead:
    if first > second:  # no checkpoint of the later size can precede the earlier one
        raise CheckpointNotFound("`first` must not be larger than `second`.", "first 不能大于 second。")
    earlier, later = await checkpoint(session, tree_size=first), await checkpoint(session, tree_size=second)
    return ConsistencyRead(
        first=earlier, second=later, proof=await _hashes(session, merkle.consistency_ranges(first, second))
    )


def public_key(*, signer: CheckpointSigner) -> PublicKeyRead:
    """The key that signs checkpoints, as published for anyone checking a receipt."""
    return PublicKeyRead(algorithm="Ed25519", key_id=signer.key_id, public_key=signer.public_key_b64)


async def consent_receipt(
    session: ReadSession, *, signer: CheckpointSigner, resident_id: int, link_id: uuid.UUID, kind: str
) -> ConsentReceiptRead:
    """The receipt for the grant or the revocation of one of the resident's links."""
    row = await repository.resident_consent_event(session, resident_id=resident_id, link_id=link_id, kind=kind)
    if row is None:
        raise ConsentEventNotFound
    fields = {name: getattr(row, name) for name in ConsentLeafRead.model_fields}
    return ConsentReceiptRead(
        consent=ConsentLeafRead(**fields), **await inclusion(session, signer=signer, leaf_index=row.leaf_index)
    )
