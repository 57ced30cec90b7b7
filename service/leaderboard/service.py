"""Reading the boards. Public ranks come from the roll-up; a resident's own grams add what the roll-up
has not reached yet, read live from their ledger entries.

Each read is one statement on a plain read-only connection (Database.read_connection): a board read
waits on the database once, not for a transaction's BEGIN, its queries one after another and its end."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import asyncpg

from service.db import Database
from service.errors import NotFound
from service.leaderboard.boards import CATEGORY_OF, Board, Category, GroupKind, Scope, mask_nickname
from service.leaderboard.cache import TOP_DEPTH, Ranked, Top, TopCache
from service.leaderboard.errors import ScopeRequired, StandingHidden, UnknownScope
from service.leaderboard.rollup import SCORED_ENTRIES
from service.leaderboard.schemas import BoardEntry, BoardRef, GroupBoard, GroupEntry, Standing

# Every board query takes the board as $1 period, $2 period_start, $3 category.
_BOARD = "s.period = $1 AND s.period_start = $2 AND s.category = $3 AND s.visible AND s.grams > 0"


def _scope_filter(scope: Scope, parameter: str) -> str:
    """The scope's condition on a score row; each matches its own partial index."""
    if scope is Scope.district:
        return ""
    return f" AND s.{scope.value}_id = {parameter}"


def _top_sql(scope: Scope) -> str:
    scope_id, limit = ("", "$4") if scope is Scope.district else ("$4", "$5")
    return f"""
        SELECT st.rolled_at, x.resident_id, x.grams, x.nickname, x.pseudonym
          FROM leaderboard_state st
          LEFT JOIN LATERAL (
              SELECT s.resident_id, s.grams, r.nickname, r.pseudonym
                FROM leaderboard_score s JOIN accounts_resident r ON r.id = s.resident_id
               WHERE {_BOARD}{_scope_filter(scope, scope_id)}
               ORDER BY s.grams DESC, s.resident_id
               LIMIT {limit}
          ) x ON true
         WHERE st.id = 1
         ORDER BY x.grams DESC, x.resident_id
    """


_TOP_SQL = {scope: _top_sql(scope) for scope in Scope}


async def resolve_scope(
    connection: asyncpg.Connection, *, scope: Scope, scope_id: int | None, resident_id: int | None
) -> int:
    """The scope id a request means: the one named, or the resident's own community or organisation."""
    if scope is Scope.district:
        return 0
    if scope_id is None:
        if resident_id is not None:
            scope_id = await connection.fetchval(
                f"SELECT {scope.value}_id FROM accounts_resident WHERE id = $1", resident_id
            )
        if scope_id is None:
            raise ScopeRequired(
                "Pass scope_id, or join a community or organisation in your profile.",
                "请传入 scope_id，或先在个人资料中加入社区或组织。",
            )
        return int(scope_id)
    table = "accounts_community" if scope is Scope.community else "accounts_organisation"
    if not await connection.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE id = $1)", scope_id):
        raise UnknownScope(f"No {scope.value} with id {scope_id}.", f"编号为 {scope_id} 的社区或组织不存在。")
    return scope_id


def _board_args(board: Board) -> tuple[Any, ...]:
    return (board.period.value, board.period_start, board.category.value)


def _scope_args(board: Board) -> tuple[Any, ...]:
    return () if board.scope is Scope.district else (board.scope_id,)


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


async def top(db: Database, cache: TopCache, *, board: Board) -> Top:
    """The board's first TOP_DEPTH residents, from the cache or, once it has expired, from the roll-up."""

    async def read() -> Top:
        # Its own connection: the read outlives a request that gives up waiting, and serves every
        # request for this board that arrives meanwhile.
        async with db.read_connection() as connection:
            rows = await connection.fetch(_TOP_SQL[board.scope], *_board_args(board), *_scope_args(board), TOP_DEPTH)
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


def _live_category_filter(category: Category) -> str:
    if category is Category.all:
        return ""
    types = ", ".join(f"'{t.value}'" for t, c in CATEGORY_OF.items() if c is category)
    return f" AND b.behaviour_type IN ({types})"


def _standing_sql(scope: Scope, category: Category, bounded: bool) -> str:
    """A resident's standing in one statement: their grams (rolled up plus live), the visible residents
    around them, and the rank of each. $4 scope, $5 scope id (0 for the district), $6 resident,
    $7 neighbours wanted each side, $8 the period's end when it has one."""
    near = f"{_BOARD}{_scope_filter(scope, '$5')} AND s.resident_id <> $6"
    period_end = " AND b.local_date < $8" if bounded else ""
    return f"""
        WITH own AS MATERIALIZED (
            SELECT r.leaderboard_visible AND r.deleted_at IS NULL AS visible,
                   COALESCE(s.grams, 0) AS rolled, COALESCE(s.visible, false) AS rolled_visible,
                   s.community_id AS rolled_community_id, s.organisation_id AS rolled_organisation_id,
                   COALESCE(s.grams, 0) + COALESCE((
                       SELECT sum(e.amount)
                         FROM {SCORED_ENTRIES}
                        WHERE e.account_id = a.id AND e.id > st.rolled_entry_id
                          AND b.local_date >= $2{period_end}{_live_category_filter(category)}), 0)::bigint AS grams,
                   st.rolled_at
              FROM accounts_resident r
              JOIN ledger_account a ON a.resident_id = r.id
             CROSS JOIN leaderboard_state st
              LEFT JOIN leaderboard_score s ON s.period = $1 AND s.period_start = $2
                    AND s.category = $3 AND s.resident_id = r.id
             WHERE r.id = $6 AND st.id = 1
        ), near AS (
            (SELECT s.resident_id, s.grams, 'above' AS side FROM leaderboard_score s
              WHERE {near} AND s.grams = (SELECT grams FROM own) AND s.resident_id < $6
              ORDER BY s.resident_id DESC LIMIT $7)
            UNION ALL
            (SELECT s.resident_id, s.grams, 'above' FROM leaderboard_score s
              WHERE {near} AND s.grams > (SELECT grams FROM own)
              ORDER BY s.grams, s.resident_id DESC LIMIT $7)
            UNION ALL
            (SELECT s.resident_id, s.grams, 'below' FROM leaderboard_score s
              WHERE {near} AND s.grams = (SELECT grams FROM own) AND s.resident_id > $6
              ORDER BY s.resident_id LIMIT $7)
            UNION ALL
            (SELECT s.resident_id, s.grams, 'below' FROM leaderboard_score s
              WHERE {near} AND s.grams < (SELECT grams FROM own)
              ORDER BY s.grams DESC, s.resident_id LIMIT $7)
        ), ranked AS (
            SELECT g.grams, k.rank
              FROM (SELECT grams FROM near UNION SELECT grams FROM own WHERE grams > 0) g
             CROSS JOIN LATERAL leaderboard_ranks($1, $2, $3, $4, $5, g.grams) k
        )
        SELECT 'me' AS side, NULL::bigint AS resident_id, o.grams, NULL::text AS nickname, NULL::text AS pseudonym,
               k.rank, o.visible, o.rolled, o.rolled_visible, o.rolled_community_id, o.rolled_organisation_id,
               o.rolled_at
          FROM own o LEFT JOIN ranked k ON k.grams = o.grams
        UNION ALL
        SELECT n.side, n.resident_id, n.grams, r.nickname, r.pseudonym, k.rank, NULL, NULL, NULL, NULL, NULL, NULL
          FROM near n
          JOIN accounts_resident r ON r.id = n.resident_id
          JOIN ranked k ON k.grams = n.grams
    """


_STANDING_SQL = {
    (scope, category, bounded): _standing_sql(scope, category, bounded)
    for scope in Scope
    for category in Category
    for bounded in (False, True)
}


async def standing(
    connection: asyncpg.Connection, *, board: Board, resident_id: int, neighbours: int, me: int | None
) -> Standing:
    """A resident's grams (rolled up plus live), competition rank and the visible residents around them."""
    bounded = board.period_end is not None
    rows = await connection.fetch(
        _STANDING_SQL[board.scope, board.category, bounded],
        *_board_args(board),
        board.scope.value,
        board.scope_id,
        resident_id,
        neighbours,
        *((board.period_end,) if bounded else ()),
    )
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


def _groups_sql(kind: GroupKind) -> str:
    table = "accounts_community" if kind is GroupKind.community else "accounts_organisation"
    return f"""
        SELECT st.rolled_at, x.*
          FROM leaderboard_state st
          LEFT JOIN LATERAL (
              SELECT g.id, g.name_zh, g.name_en, COALESCE(s.grams, 0) AS grams, COALESCE(z.residents, 0) AS residents
                FROM {table} g
                LEFT JOIN leaderboard_group_score s ON s.scope = $4 AND s.scope_id = g.id
                      AND s.period = $1 AND s.period_start = $2 AND s.category = $3
                LEFT JOIN leaderboard_group_size z ON z.scope = $4 AND z.scope_id = g.id
          ) x ON true
         WHERE st.id = 1
    """


_GROUPS_SQL = {kind: _groups_sql(kind) for kind in GroupKind}


async def groups(
    connection: asyncpg.Connection, *, kind: GroupKind, board: Board, per_resident: bool, limit: int
) -> GroupBoard:
    found = await connection.fetch(_GROUPS_SQL[kind], *_board_args(board), kind.value)
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


async def resident_by_handle(connection: asyncpg.Connection, handle: str) -> int:
    resident_id = await connection.fetchval(
        "SELECT id FROM accounts_resident WHERE pseudonym = $1 AND deleted_at IS NULL", handle
    )
    if resident_id is None:
        raise NotFound("No resident with this handle.", "没有该居民。")
    return int(resident_id)
