"""The public top of each board, kept in memory for a second.

Public ranks lag the ledger by the roll-up's interval anyway, and every resident who opens the
mini-program asks for the same few boards (this week, the district, their community): one worker
reading the top 100 from the database and building its reply once a second serves all of them. A board
that has expired is read again by the first request that wants it; requests arriving meanwhile wait for
that read rather than starting their own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from service.leaderboard.boards import Board
from service.leaderboard.schemas import BoardEntry, BoardRef, Leaderboard

# Every top board is read to this depth and cut to the `limit` asked for.
TOP_DEPTH = 100


@dataclass(frozen=True, slots=True)
class Ranked:
    """One resident on a public board: `entry` as the public sees it (is_me false)."""

    resident_id: int
    entry: BoardEntry


@dataclass(slots=True)
class Top:
    """A board's first TOP_DEPTH residents as last rolled up, best first, and replies built from them."""

    board: BoardRef
    ranked: list[Ranked]
    _replies: dict[int, bytes] = field(default_factory=dict)

    def reply(self, limit: int, me: int | None) -> bytes:
        """The JSON of the first `limit` entries; the signed-in resident's own row, if among them, says
        is_me. The reply everybody else gets is built once per limit."""
        shown = self.ranked[:limit]
        if me is not None and any(r.resident_id == me for r in shown):
            entries = [r.entry.model_copy(update={"is_me": True}) if r.resident_id == me else r.entry for r in shown]
            return Leaderboard(board=self.board, entries=entries).model_dump_json().encode()
        reply = self._replies.get(limit)
        if reply is None:
            reply = self._replies[limit] = (
                Leaderboard(board=self.board, entries=[r.entry for r in shown]).model_dump_json().encode()
            )
        return reply


@dataclass(slots=True)
class _Held:
    expires: float
    top: asyncio.Future[Top]


class TopCache:
    """Top boards by Board, each kept `ttl_s` seconds (0 reads every time), at most `max_boards` of them."""

    def __init__(self, ttl_s: float, *, max_boards: int = 1024, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_boards = max_boards
        self._clock = clock
        self._held: dict[Board, _Held] = {}

    async def get(self, board: Board, read: Callable[[], Awaitable[Top]]) -> Top:
        if self.ttl_s <= 0:
            return await read()
        now = self._clock()
        held = self._held.get(board)
        if held is None or held.expires <= now:
            held = self._start(board, read, now)
        # A read that failed is not kept: its waiters see the error, the next request reads again.
        return await asyncio.shield(held.top)

    def _start(self, board: Board, read: Callable[[], Awaitable[Top]], now: float) -> _Held:
        if len(self._held) >= self.max_boards:
            self._held = {key: held for key, held in self._held.items() if held.expires > now}
            while len(self._held) >= self.max_boards:
                del self._held[next(iter(self._held))]
        task = asyncio.ensure_future(read())
        held = self._held[board] = _Held(expires=now + self.ttl_s, top=task)

        def forget_failure(done: asyncio.Future[Top]) -> None:
            if (done.cancelled() or done.exception() is not None) and self._held.get(board) is held:
                del self._held[board]

        task.add_done_callback(forget_failure)
        return held
