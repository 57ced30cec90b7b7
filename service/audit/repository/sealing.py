"""The sealer's statements: its leader lock and marks, the entries and consent events above the marks
(entries with their leaf hashes, events with their leaf fields), and the rows a step appends (leaves,
stored subtrees, the signed checkpoint)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.audit.receipt_verifier import LEAF_FIELDS, LEAF_PREFIX
from service.audit.repository.log import CONSENT_FIELDS, ENTRY_FIELDS

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
    """  # noqa: S608 -- built once from the verifier's field names and ENTRY_FIELDS; values are bound
)
_CONSENTS = text(
    f"""
    SELECT {CONSENT_FIELDS}
      FROM consent_event c JOIN consent_link k ON k.id = c.link_id
     WHERE c.id > :after AND c.id <= :upto
     ORDER BY c.id
     LIMIT :chunk
    """  # noqa: S608 -- built once from CONSENT_FIELDS; values are bound
)
_STATE = text("SELECT sealed_entry_id, sealed_consent_event_id, tree_size FROM ledger_seal_state")
_INSERT_LEAVES = text(
    "INSERT INTO ledger_seal_leaf (idx, entry_id, consent_event_id) "
    "SELECT * FROM unnest(CAST(:idxs AS bigint[]), CAST(:entries AS bigint[]), CAST(:consents AS bigint[]))"
)
_INSERT_NODES = text(
    "INSERT INTO ledger_seal_node (level, idx, hash) "
    "SELECT * FROM unnest(CAST(:levels AS smallint[]), CAST(:idxs AS bigint[]), CAST(:hashes AS bytea[]))"
)
_INSERT_CHECKPOINT = text(
    "INSERT INTO ledger_checkpoint (tree_size, root_hash, signed_at, key_id, signature) "
    "VALUES (:size, :root, :signed_at, :key_id, :signature)"
)
_ADVANCE = text(
    "UPDATE ledger_seal_state SET sealed_entry_id = :mark, sealed_consent_event_id = :consent_mark, tree_size = :size"
)


async def seal_state(connection: AsyncConnection) -> tuple[int, int, int]:
    """The last entry sealed, the last consent event sealed and the log's size."""
    row = (await connection.execute(_STATE)).one()
    return row.sealed_entry_id, row.sealed_consent_event_id, row.tree_size


async def entries_to_seal(connection: AsyncConnection, *, after: int, upto: int, chunk: int) -> Sequence[Row[Any]]:
    """Up to `chunk` entries with ids in (after, upto], in id order: each one's id and leaf hash."""
    return (await connection.execute(_ENTRIES, {"after": after, "upto": upto, "chunk": chunk})).all()


async def consents_to_seal(connection: AsyncConnection, *, after: int, upto: int, chunk: int) -> Sequence[Row[Any]]:
    """Up to `chunk` consent events with ids in (after, upto], in id order, with their leaf fields."""
    return (await connection.execute(_CONSENTS, {"after": after, "upto": upto, "chunk": chunk})).all()


async def insert_leaves(
    connection: AsyncConnection, *, idxs: list[int], entries: list[int | None], consents: list[int | None]
) -> None:
    """Leaves `idxs`, each an entry or a consent event (the other None)."""
    await connection.execute(_INSERT_LEAVES, {"idxs": idxs, "entries": entries, "consents": consents})


async def insert_nodes(connection: AsyncConnection, *, levels: list[int], idxs: list[int], hashes: list[bytes]) -> None:
    await connection.execute(_INSERT_NODES, {"levels": levels, "idxs": idxs, "hashes": hashes})


async def insert_checkpoint(
    connection: AsyncConnection, *, size: int, root: bytes, signed_at: str, key_id: str, signature: bytes
) -> None:
    await connection.execute(
        _INSERT_CHECKPOINT,
        {"size": size, "root": root, "signed_at": signed_at, "key_id": key_id, "signature": signature},
    )


async def advance(connection: AsyncConnection, *, mark: int, consent_mark: int, size: int) -> None:
    """Move the sealed marks to `mark` (entries) and `consent_mark` and record the log's new size."""
    await connection.execute(_ADVANCE, {"mark": mark, "consent_mark": consent_mark, "size": size})
