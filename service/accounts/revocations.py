"""Access tokens ended before they expire, known to every worker within about a second and checked
without a database read per request.

A revocation (service/accounts/repository/revocations.py) is a row of `accounts_access_revocation` written
in the transaction that disables a user, deletes an account, ends a sign-in or reviews an enterprise, with
a NOTIFY delivered when it commits. Each worker holds the rows of the last access-token lifetime in
memory; its loop (`tasks.follow_revocations`) listens on the channel and reads what is new when told, and
reads every POLL_INTERVAL_S whatever happens, so that a notification lost with a dropped connection
delays a revocation by that long at most. The worker that made a revocation reads it as soon as its
transaction commits (`after_commit`), so the client that signed out or deleted its account is refused at
once by the worker it spoke to.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.repository import revocations as store
from service.accounts.tokens import Grant, Principal
from service.db import Database

logger = logging.getLogger(__name__)

# Reads done whatever the notifications say: the longest a lost one can delay a revocation.
POLL_INTERVAL_S = 3.0


@dataclass
class Revocations:
    """The revocations a worker knows of. `within` is how long a revocation matters: an access token's
    lifetime and the verification leeway, after which every token it concerns has expired anyway."""

    within: timedelta
    _subjects: dict[tuple[str, int], float] = field(default_factory=dict)
    _sessions: dict[str, float] = field(default_factory=dict)
    _last_id: int = 0

    def refused(self, principal: Principal, grant: Grant) -> bool:
        """Whether a token of `principal` with `grant` was revoked: one issued by its subject's revocation,
        or of a sign-in that was ended."""
        revoked = self._subjects.get((principal.subject_kind, principal.subject_id))
        if revoked is not None and grant.issued_at <= revoked:
            return True
        return grant.session_id is not None and grant.session_id in self._sessions

    async def load(self, db: Database) -> None:
        """Read the revocations made since the last read, and forget those that no longer matter."""
        async with db.sessionmaker() as session:
            rows = await store.since(session, after_id=self._last_id, within=self.within)
        for row in rows:
            self._remember(row)
        self._forget_expired()

    async def after_commit(self, db: Database, session: AsyncSession) -> None:
        """Read at once the revocations a committed request made (an after-commit hook of service/db.py).
        A failed read is left to the worker's loop, which reads within POLL_INTERVAL_S."""
        if not session.info.pop(store.REVOKED, False):
            return
        try:
            await self.load(db)
        except Exception as exc:
            logger.warning("access revocations not read after commit (%s)", type(exc).__name__)

    def _remember(self, row: Any) -> None:
        self._last_id = max(self._last_id, int(row.id))
        revoked_at = float(row.revoked_at)
        if row.family_id is not None:
            self._sessions[str(row.family_id)] = revoked_at
        else:
            key = (str(row.subject_kind), int(row.subject_id))
            self._subjects[key] = max(revoked_at, self._subjects.get(key, 0.0))

    def _forget_expired(self) -> None:
        horizon = time.time() - self.within.total_seconds()
        self._subjects = {key: at for key, at in self._subjects.items() if at > horizon}
        self._sessions = {key: at for key, at in self._sessions.items() if at > horizon}
