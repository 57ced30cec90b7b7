"""Reading the boards, one function per endpoint. Public ranks come from the roll-up; a resident's own
grams add what the roll-up has not reached yet, read live from their ledger entries.

Each board read is one statement on a plain read-only connection (Database.read_connection): it waits on
the database once, not for a transaction's BEGIN, its queries one after another and its end."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import asyncpg

from service.accounts.models import Role
from service.accounts.tokens import Principal
from service.db import Database
from service.errors import NotFound
from service.kit.clock import local_date
from service.leaderboard.boards import Board, Category, GroupKind, GroupOrder, Period, Scope, mask_nickname
from service.leaderboard.cache import TOP_DEPTH, Ranked, Top, TopCache
from service.leaderboard.errors import ScopeRequired, StandingHidden, UnknownScope
from service.leaderboard.repository import reads
from service.leaderboard.schemas import BoardEntry, BoardRef, GroupBoard, GroupEntry, Standing


async def top_board(
    db: Database,
    *,
    cache: TopCache,
    viewer: Principal,
    period: Period,
    on: date | None,
    category: Category,
    scope: Scope,
    scope_id: int | None,
    limit: int,
) -> bytes:
    """The JSON of a board's first `limit` residents as of the last roll-up; the viewer's own row, if
    among them, says is_me."""
    me = _me(viewer)
    resolved = 0
    if scope is not Scope.district:
        async with db.read_connection() as connection:
            resolved = await _resolve_scope(connection, scope=scope, scope_id=scope_id, resident_id=me)
    top = await _top(db, cache, board=_board(period, on, category, scope, resolved))
    return top.reply(limit, me)


async def my_standing(
    connection: asyncpg.Connection,
    *,
    resident_id: int,
    period: Period,
    on: date | None,
    category: Category,
    scope: Scope,
    scope_id: int | None,
    neighbours: int,
) -> Standing:
    """The resident's own grams and rank, counting credits the roll-up has not reached, and their neighbours."""
    resolved = await _resolve_scope(connection, scope=scope, scope_id=scope_id, resident_id=resident_id)
    board = _board(period, on, category, scope, resolved)
    return await _standing(connection, board=board, resident_id=resident_id, neighbours=neighbours, me=resident_id)


async def standing_by_handle(
    connection: asyncpg.Connection,
    *,
    viewer: Principal,
    handle: str,
    period: Period,
    on: date | None,
    category: Category,
    scope: Scope,
    scope_id: int | None,
    neighbours: int,
) -> Standing:
    """Another resident's standing, named by their handle; refused when they have opted out of public
    boards, unless the viewer is that resident."""
    resident_id = await reads.resident_by_handle(connection, handle=handle)
    if resident_id is None:
        raise NotFound("No resident with this handle.", "没有该居民。")
    resolved = await _resolve_scope(connection, scope=scope, scope_id=scope_id, resident_id=resident_id)
    board = _board(period, on, category, scope, resolved)
    return await _standing(connection, board=board, resident_id=resident_id, neighbours=neighbours, me=_me(viewer))


async def group_board(
    connection: asyncpg.Connection,
    *,
    kind: GroupKind,
    period: Period,
    on: date | None,
    category: Category,
    order: GroupOrder,
    limit: int,
) -> GroupBoard:
    """Communities or organisations ranked by their members' grams, in total or per registered resident;
    equal scores share a rank."""
    board = _board(period, on, category, Scope.district, 0)
    per_resident = order is GroupOrder.per_resident
    found = await reads.groups(connection, kind=kind, board=board)
    rows = [row for row in found if row["id"] is not None]

    def per(row: asyncpg.Record) -> Decimal:
        return Decimal(row["grams"]) / row["residents"] if row["residents"] else Decimal(0)

    def score(row: asyncpg.Record) -> Decimal:
        return per(row) if per_resident else Decimal(row["grams"])

    ordered = sorted(rows, key=lambda row: (-score(row), row["id"]))
    entries: list[GroupEntry] = []
    for position, row in enumerate(ordered[:limit]):
        tied = position > 0 and score(ordered[position - 1]) == score(row)
        entries.append(
            GroupEntry(
                rank=entries[-1].rank if tied else position + 1,
                id=row["id"],
                name_zh=row["name_zh"],
                name_en=row["name_en"],
                grams=row["grams"],
                residents=row["residents"],
                grams_per_resident=_rounded(per(row)),
            )
        )
    return GroupBoard(
        kind=kind,
        period=board.period,
        period_start=board.period_start,
        category=board.category,
        order="per_resident" if per_resident else "total",
        as_of=found[0]["rolled_at"],
        entries=entries,
    )


def _me(principal: Principal) -> int | None:
    """The resident asking, whose own row is marked; None for staff."""
    return principal.subject_id if principal.role is Role.resident else None


def _board(period: Period, on: date | None, category: Category, scope: Scope, scope_id: int) -> Board:
    """The board holding `on`, by default today in Asia/Shanghai."""
    return Board.of(period, on or local_date(datetime.now(UTC)), category, scope, scope_id)


async def _resolve_scope(
    connection: asyncpg.Connection, *, scope: Scope, scope_id: int | None, resident_id: int | None
) -> int:
    """The scope id a request means: the one named, or the resident's own community or organisation."""
    if scope is Scope.district:
        return 0
    if scope_id is None:
        if resident_id is not None:
            scope_id = await reads.own_scope_id(connection, scope=scope, resident_id=resident_id)
        if scope_id is None:
            raise ScopeRequired(
                "Pass scope_id, or join a community or organisation in your profile.",
                "请传入 scope_id，或先在个人资料中加入社区或组织。",
            )
        return scope_id
    if not await reads.scope_exists(connection, scope=scope, scope_id=scope_id):
        raise UnknownScope(f"No {scope.value} with id {scope_id}.", f"编号为 {scope_id} 的社区或组织不存在。")
    return scope_id


def _ref(board: Board, as_of: datetime) -> BoardRef:
    return BoardRef(
        period=board.period,
        period_start=board.period_start,
        period_end=board.period_end,
        category=board.category,
        scope=board.scope,
        scope_id=board.scope_id or None,
        as_of=as_of,
    )


def _entry(row: asyncpg.Record, rank: int, me: int | None) -> BoardEntry:
    return BoardEntry(
        rank=rank,
        nickname=mask_nickname(row["nickname"]),
        handle=row["pseudonym"],
        grams=row["grams"],
        is_me=row["resident_id"] == me,
    )


async def _top(db: Database, cache: TopCache, *, board: Board) -> Top:
    """The board's first TOP_DEPTH residents, from the cache or, once it has expired, from the roll-up."""

    async def read() -> Top:
        # Its own connection: the read outlives a request that gives up waiting, and serves every
        # request for this board that arrives meanwhile.
        async with db.read_connection() as connection:
            rows = await reads.top(connection, board=board, depth=TOP_DEPTH)
        ranked: list[Ranked] = []
        for position, row in enumerate(rows):
            if row["resident_id"] is None:  # the board is empty: only the roll-up's time came back
                break
            # competition rank: a row shares the rank of the first row with its grams
            previous = ranked[-1].entry if ranked else None
            rank = previous.rank if previous is not None and previous.grams == row["grams"] else position + 1
            ranked.append(Ranked(row["resident_id"], _entry(row, rank, None)))
        return Top(board=_ref(board, rows[0]["rolled_at"]), ranked=ranked)

    return await cache.get(board, read)


async def _standing(
    connection: asyncpg.Connection, *, board: Board, resident_id: int, neighbours: int, me: int | None
) -> Standing:
    """A resident's grams (rolled up plus live), competition rank and the visible residents around them."""
    rows = await reads.standing(connection, board=board, resident_id=resident_id, neighbours=neighbours)
    own = next((row for row in rows if row["side"] == "me"), None)
    if own is None:
        raise NotFound("No resident with this handle.", "没有该居民。")
    if me != resident_id and not own["visible"]:
        raise StandingHidden("This resident has chosen not to appear.", "该居民选择不公开。")
    rank: int | None = None
    if own["grams"] > 0:
        rank = int(own["rank"])
        # The tallies still count this resident at their rolled-up grams; above their live grams, that
        # is one resident too many.
        if own["rolled"] > own["grams"] and _tallied(board, own):
            rank -= 1
    near = sorted((row for row in rows if row["side"] != "me"), key=lambda row: (-row["grams"], row["resident_id"]))
    # each side holds up to `neighbours` from each of its two queries: keep those nearest the resident
    above = [row for row in near if row["side"] == "above"][-neighbours:] if neighbours else []
    below = [row for row in near if row["side"] == "below"][:neighbours]
    return Standing(
        board=_ref(board, own["rolled_at"]),
        grams=own["grams"],
        rank=rank,
        visible=own["visible"],
        above=[_entry(row, row["rank"], me) for row in above],
        below=[_entry(row, row["rank"], me) for row in below],
    )


def _tallied(board: Board, own: asyncpg.Record) -> bool:
    """Whether the tallies count the resident's rolled-up row on this board (as the roll-up files it)."""
    if not own["rolled_visible"] or own["rolled"] <= 0:
        return False
    if board.scope is Scope.community:
        return bool(own["rolled_community_id"] == board.scope_id)
    if board.scope is Scope.organisation:
        return bool(own["rolled_organisation_id"] == board.scope_id)
    return True


def _rounded(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
