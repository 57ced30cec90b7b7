"""Reading the boards. Public ranks come from the roll-up; a resident's own grams add what the roll-up
has not reached yet, read live from their ledger entries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import text

from service.db import ReadSession
from service.errors import NotFound
from service.leaderboard.boards import CATEGORY_OF, Board, Category, GroupKind, Scope, mask_nickname
from service.leaderboard.errors import ScopeRequired, StandingHidden, UnknownScope
from service.leaderboard.rollup import SCORED_ENTRIES
from service.leaderboard.schemas import BoardEntry, BoardRef, GroupBoard, GroupEntry, Leaderboard, Standing

_BOARD = "s.period = :period AND s.period_start = :start AND s.category = :category AND s.visible AND s.grams > 0"
_SCOPE_FILTER = {
    Scope.district: "",
    Scope.community: " AND s.community_id = :scope_id",
    Scope.organisation: " AND s.organisation_id = :scope_id",
}


def _params(board: Board) -> dict[str, Any]:
    return {
        "period": board.period.value,
        "start": board.period_start,
        "category": board.category.value,
        "scope": board.scope.value,
        "scope_id": board.scope_id,
    }


async def resolve_scope(session: ReadSession, *, scope: Scope, scope_id: int | None, resident_id: int | None) -> int:
    """The scope id a request means: the one named, or the resident's own community or organisation."""
    if scope is Scope.district:
        return 0
    if scope_id is None:
        if resident_id is not None:
            column = "community_id" if scope is Scope.community else "organisation_id"
            scope_id = await session.scalar(
                text(f"SELECT {column} FROM accounts_resident WHERE id = :id"), {"id": resident_id}
            )
        if scope_id is None:
            raise ScopeRequired(
                "Pass scope_id, or join a community or organisation in your profile.",
                "请传入 scope_id，或先在个人资料中加入社区或组织。",
            )
        return int(scope_id)
    table = "accounts_community" if scope is Scope.community else "accounts_organisation"
    if not await session.scalar(text(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE id = :id)"), {"id": scope_id}):
        raise UnknownScope(f"No {scope.value} with id {scope_id}.", f"编号为 {scope_id} 的社区或组织不存在。")
    return scope_id


async def _as_of(session: ReadSession) -> datetime:
    return await session.scalar(text("SELECT rolled_at FROM leaderboard_state WHERE id = 1"))  # type: ignore[no-any-return]


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


def _entry(row: Any, rank: int, me: int | None) -> BoardEntry:
    return BoardEntry(
        rank=rank,
        nickname=mask_nickname(row.nickname),
        handle=row.pseudonym,
        grams=row.grams,
        is_me=row.resident_id == me,
    )


async def top(session: ReadSession, *, board: Board, limit: int, me: int | None) -> Leaderboard:
    rows = (
        await session.execute(
            text(
                f"""
                SELECT s.resident_id, s.grams, r.nickname, r.pseudonym
                  FROM leaderboard_score s JOIN accounts_resident r ON r.id = s.resident_id
                 WHERE {_BOARD}{_SCOPE_FILTER[board.scope]}
                 ORDER BY s.grams DESC, s.resident_id
                 LIMIT :limit
                """
            ),
            {**_params(board), "limit": limit},
        )
    ).all()
    entries: list[BoardEntry] = []
    for position, row in enumerate(rows):
        # competition rank: a row shares the rank of the first row with its grams
        rank = entries[-1].rank if entries and entries[-1].grams == row.grams else position + 1
        entries.append(_entry(row, rank, me))
    return Leaderboard(board=_ref(board, await _as_of(session)), entries=entries)


def _live_category_filter(category: Category) -> str:
    if category is Category.all:
        return ""
    types = ", ".join(f"'{t.value}'" for t, c in CATEGORY_OF.items() if c is category)
    return f" AND b.behaviour_type IN ({types})"


async def standing(
    session: ReadSession, *, board: Board, resident_id: int, neighbours: int, me: int | None
) -> Standing:
    """A resident's grams (rolled up plus live), competition rank and the visible residents around them."""
    period_end = " AND b.local_date < :end" if board.period_end else ""
    own = (
        await session.execute(
            text(
                f"""
                SELECT r.leaderboard_visible AND r.deleted_at IS NULL AS visible,
                       COALESCE(s.grams, 0) AS rolled, COALESCE(s.visible, false) AS rolled_visible,
                       s.community_id AS rolled_community_id, s.organisation_id AS rolled_organisation_id,
                       COALESCE(s.grams, 0) + COALESCE((
                           SELECT sum(e.amount)
                             FROM {SCORED_ENTRIES}
                            WHERE e.account_id = a.id AND e.id > st.rolled_entry_id
                              AND b.local_date >= :start{period_end}{_live_category_filter(board.category)}), 0) AS grams,
                       st.rolled_at
                  FROM accounts_resident r
                  JOIN ledger_account a ON a.resident_id = r.id
                 CROSS JOIN leaderboard_state st
                  LEFT JOIN leaderboard_score s ON s.period = :period AND s.period_start = :start
                        AND s.category = :category AND s.resident_id = r.id
                 WHERE r.id = :resident AND st.id = 1
                """
            ),
            {**_params(board), "end": board.period_end, "resident": resident_id},
        )
    ).one()
    if me != resident_id and not own.visible:
        raise StandingHidden("This resident has chosen not to appear.", "该居民选择不公开。")
    rank: int | None = None
    if own.grams > 0:
        rank = int(await session.scalar(text(_RANK), {**_params(board), "grams": own.grams}))
        # The tallies still count this resident at their rolled-up grams; above their live grams, that
        # is one resident too many.
        if own.rolled > own.grams and _tallied(board, own):
            rank -= 1
    above, below = await _neighbours(session, board=board, resident_id=resident_id, grams=own.grams, k=neighbours)
    return Standing(
        board=_ref(board, own.rolled_at),
        grams=own.grams,
        rank=rank,
        visible=own.visible,
        above=[_entry(row, row.rank, me) for row in above],
        below=[_entry(row, row.rank, me) for row in below],
    )


def _tallied(board: Board, own: Any) -> bool:
    """Whether the tallies count the resident's rolled-up row on this board (as the roll-up files it)."""
    if not own.rolled_visible or own.rolled <= 0:
        return False
    if board.scope is Scope.community:
        return bool(own.rolled_community_id == board.scope_id)
    if board.scope is Scope.organisation:
        return bool(own.rolled_organisation_id == board.scope_id)
    return True


_RANK = "SELECT leaderboard_rank(:period, :start, :category, :scope, :scope_id, :grams)"


async def _neighbours(
    session: ReadSession, *, board: Board, resident_id: int, grams: int, k: int
) -> tuple[Sequence[Any], Sequence[Any]]:
    if k == 0:
        return [], []
    where = f"{_BOARD}{_SCOPE_FILTER[board.scope]} AND s.resident_id <> :resident"
    rows = (
        await session.execute(
            text(
                f"""
                WITH near AS (
                    (SELECT s.resident_id, s.grams, 'above' AS side FROM leaderboard_score s
                      WHERE {where} AND s.grams = :grams AND s.resident_id < :resident
                      ORDER BY s.resident_id DESC LIMIT :k)
                    UNION ALL
                    (SELECT s.resident_id, s.grams, 'above' FROM leaderboard_score s
                      WHERE {where} AND s.grams > :grams
                      ORDER BY s.grams, s.resident_id DESC LIMIT :k)
                    UNION ALL
                    (SELECT s.resident_id, s.grams, 'below' FROM leaderboard_score s
                      WHERE {where} AND s.grams = :grams AND s.resident_id > :resident
                      ORDER BY s.resident_id LIMIT :k)
                    UNION ALL
                    (SELECT s.resident_id, s.grams, 'below' FROM leaderboard_score s
                      WHERE {where} AND s.grams < :grams
                      ORDER BY s.grams DESC, s.resident_id LIMIT :k)
                ), ranked AS (
                    SELECT g.grams, leaderboard_rank(:period, :start, :category, :scope, :scope_id, g.grams) AS rank
                      FROM (SELECT DISTINCT grams FROM near) g
                )
                SELECT n.resident_id, n.grams, n.side, r.nickname, r.pseudonym, k.rank
                  FROM near n
                  JOIN accounts_resident r ON r.id = n.resident_id
                  JOIN ranked k ON k.grams = n.grams
                 ORDER BY n.grams DESC, n.resident_id
                """
            ),
            {**_params(board), "resident": resident_id, "grams": grams, "k": k},
        )
    ).all()
    above = [row for row in rows if row.side == "above"][-k:]
    below = [row for row in rows if row.side == "below"][:k]
    return above, below


def _rounded(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


async def groups(session: ReadSession, *, kind: GroupKind, board: Board, per_resident: bool, limit: int) -> GroupBoard:
    table = "accounts_community" if kind is GroupKind.community else "accounts_organisation"
    rows = (
        await session.execute(
            text(
                f"""
                SELECT g.id, g.name_zh, g.name_en, COALESCE(s.grams, 0) AS grams, COALESCE(z.residents, 0) AS residents
                  FROM {table} g
                  LEFT JOIN leaderboard_group_score s ON s.scope = :kind AND s.scope_id = g.id
                        AND s.period = :period AND s.period_start = :start AND s.category = :category
                  LEFT JOIN leaderboard_group_size z ON z.scope = :kind AND z.scope_id = g.id
                """
            ),
            {**_params(board), "kind": kind.value},
        )
    ).all()

    def per(row: Any) -> Decimal:
        return Decimal(row.grams) / row.residents if row.residents else Decimal(0)

    def score(row: Any) -> Decimal:
        return per(row) if per_resident else Decimal(row.grams)

    ordered = sorted(rows, key=lambda row: (-score(row), row.id))
    entries: list[GroupEntry] = []
    for position, row in enumerate(ordered[:limit]):
        tied = position > 0 and score(ordered[position - 1]) == score(row)
        entries.append(
            GroupEntry(
                rank=entries[-1].rank if tied else position + 1,
                id=row.id,
                name_zh=row.name_zh,
                name_en=row.name_en,
                grams=row.grams,
                residents=row.residents,
                grams_per_resident=_rounded(per(row)),
            )
        )
    return GroupBoard(
        kind=kind,
        period=board.period,
        period_start=board.period_start,
        category=board.category,
        order="per_resident" if per_resident else "total",
        as_of=await _as_of(session),
        entries=entries,
    )


async def resident_by_handle(session: ReadSession, handle: str) -> int:
    resident_id = await session.scalar(
        text("SELECT id FROM accounts_resident WHERE pseudonym = :handle AND deleted_at IS NULL"), {"handle": handle}
    )
    if resident_id is None:
        raise NotFound("No resident with this handle.", "没有该居民。")
    return int(resident_id)
