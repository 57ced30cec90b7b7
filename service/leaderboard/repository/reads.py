"""The board reads, each one statement on a plain asyncpg read-only connection: a board's top and group
totals from the roll-up's scores and tallies, a resident's standing from those plus their ledger entries
the roll-up has not reached, and the lookups that name a resident or a scope."""

from __future__ import annotations

from typing import Any

import asyncpg

from service.leaderboard.boards import CATEGORY_OF, Board, Category, GroupKind, Scope
from service.leaderboard.repository.rollup import SCORED_ENTRIES

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
    """  # noqa: S608 - assembled from module constants and enum members; values are bound


_TOP = {scope: _top_sql(scope) for scope in Scope}


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
    """  # noqa: S608 - assembled from module constants and enum members; values are bound


_STANDING = {
    (scope, category, bounded): _standing_sql(scope, category, bounded)
    for scope in Scope
    for category in Category
    for bounded in (False, True)
}


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
    """  # noqa: S608 - the table is one of two names fixed here; values are bound


_GROUPS = {kind: _groups_sql(kind) for kind in GroupKind}


_RESIDENT_BY_HANDLE = "SELECT id FROM accounts_resident WHERE pseudonym = $1 AND deleted_at IS NULL"
_OWN_SCOPE_ID = {
    Scope.community: "SELECT community_id FROM accounts_resident WHERE id = $1",
    Scope.organisation: "SELECT organisation_id FROM accounts_resident WHERE id = $1",
}
_SCOPE_EXISTS = {
    Scope.community: "SELECT EXISTS (SELECT 1 FROM accounts_community WHERE id = $1)",
    Scope.organisation: "SELECT EXISTS (SELECT 1 FROM accounts_organisation WHERE id = $1)",
}


def _board_args(board: Board) -> tuple[Any, ...]:
    return (board.period.value, board.period_start, board.category.value)


def _scope_args(board: Board) -> tuple[Any, ...]:
    return () if board.scope is Scope.district else (board.scope_id,)


async def top(connection: asyncpg.Connection, *, board: Board, depth: int) -> list[asyncpg.Record]:
    """The board's first `depth` visible residents as last rolled up, best first, each with the roll-up's
    time; one row with only the time when the board is empty."""
    rows: list[asyncpg.Record] = await connection.fetch(
        _TOP[board.scope], *_board_args(board), *_scope_args(board), depth
    )
    return rows


async def standing(
    connection: asyncpg.Connection, *, board: Board, resident_id: int, neighbours: int
) -> list[asyncpg.Record]:
    """The resident's own row (side 'me') and up to twice `neighbours` visible residents on each side of
    them ('above', 'below'), each with its rank."""
    bounded = board.period_end is not None
    rows: list[asyncpg.Record] = await connection.fetch(
        _STANDING[board.scope, board.category, bounded],
        *_board_args(board),
        board.scope.value,
        board.scope_id,
        resident_id,
        neighbours,
        *((board.period_end,) if bounded else ()),
    )
    return rows


async def groups(connection: asyncpg.Connection, *, kind: GroupKind, board: Board) -> list[asyncpg.Record]:
    """Every community or organisation with its members' grams on the board and its registered residents,
    each with the roll-up's time; one row with only the time when there are none."""
    rows: list[asyncpg.Record] = await connection.fetch(_GROUPS[kind], *_board_args(board), kind.value)
    return rows


async def resident_by_handle(connection: asyncpg.Connection, *, handle: str) -> int | None:
    """The id of the resident with this pseudonym, unless their account is deleted."""
    resident_id = await connection.fetchval(_RESIDENT_BY_HANDLE, handle)
    return None if resident_id is None else int(resident_id)


async def own_scope_id(connection: asyncpg.Connection, *, scope: Scope, resident_id: int) -> int | None:
    """The resident's community or organisation, if they have joined one."""
    scope_id = await connection.fetchval(_OWN_SCOPE_ID[scope], resident_id)
    return None if scope_id is None else int(scope_id)


async def scope_exists(connection: asyncpg.Connection, *, scope: Scope, scope_id: int) -> bool:
    return bool(await connection.fetchval(_SCOPE_EXISTS[scope], scope_id))
