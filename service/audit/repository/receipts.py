"""Reads behind receipts and the public transparency endpoints: signed checkpoints, and a resident's entry
or consent event with its leaf's position."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row, TextClause, text

from service.audit.repository.log import CONSENT_FIELDS, ENTRY_FIELDS
from service.db import ReadSession

_CHECKPOINT = "SELECT tree_size, root_hash, signed_at, key_id, signature FROM ledger_checkpoint"
_LATEST_CHECKPOINT = text(f"{_CHECKPOINT} ORDER BY tree_size DESC LIMIT 1")
_CHECKPOINT_OF_SIZE = text(f"{_CHECKPOINT} WHERE tree_size = :s")


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
        """  # noqa: S608 -- built at import from ENTRY_FIELDS and the conditions below; values bound
    )


_BY_ENTRY = _resident_entry("e.id = :key")
_BY_BEHAVIOUR = _resident_entry("t.behaviour_id = :key AND t.kind = 'issuance'")


_CONSENT_EVENT = text(
    f"""
    SELECT {CONSENT_FIELDS}, l.idx AS leaf_index
      FROM consent_event c
      JOIN consent_link k ON k.id = c.link_id AND k.resident_id = :resident AND k.public_id = :link
      LEFT JOIN ledger_seal_leaf l ON l.consent_event_id = c.id
     WHERE c.kind = :kind
     ORDER BY c.id
     LIMIT 1
    """  # noqa: S608 -- built at import from CONSENT_FIELDS; values bound
)


async def latest_checkpoint(session: ReadSession) -> Row[Any] | None:
    return (await session.execute(_LATEST_CHECKPOINT)).first()


async def checkpoint(session: ReadSession, *, tree_size: int) -> Row[Any] | None:
    return (await session.execute(_CHECKPOINT_OF_SIZE, {"s": tree_size})).first()


async def resident_entry(
    session: ReadSession, *, resident_id: int, entry_id: int | None = None, behaviour_id: int | None = None
) -> Row[Any] | None:
    """One of the resident's entries, by its id or as the credit of one of their behaviours, with its leaf
    index (None while it is not sealed)."""
    statement = _BY_ENTRY if entry_id is not None else _BY_BEHAVIOUR
    return (await session.execute(statement, {"resident": resident_id, "key": entry_id or behaviour_id})).first()


async def resident_consent_event(
    session: ReadSession, *, resident_id: int, link_id: uuid.UUID, kind: str
) -> Row[Any] | None:
    """The grant or the revocation of one of the resident's links, with its leaf index (None while it is
    not sealed)."""
    return (await session.execute(_CONSENT_EVENT, {"resident": resident_id, "link": link_id, "kind": kind})).first()
