"""What an administrator may reach: the whole district, or the residents of one community.

A town or community officer is an auditor or operator whose user names a community
(`accounts_user.scope_community_id`); every list, figure, export and action about residents then covers
that community's residents only. The access token carries the scope, so `Principal.scope_community_id`
says it without a database read. A super-administrator is always district-wide.

How an endpoint keeps to it:

1. Who may call. `deps.ScopedReader` and `deps.ScopedOperator` admit officers; every other administrator
   dependency (`AdminReader`, `AdminOperator`, `AdminSuper`) refuses them with 403 DISTRICT_ONLY, so an
   endpoint is district-only unless it opts in, and it opts in only once it keeps to the scope below.
2. A list, figure or export: `community = scope.community_of(principal, asked)` is the community the
   query keeps to (None: the whole district); `asked` is the endpoint's own community filter, if it has
   one, and an officer asking for another community gets 403 OUTSIDE_SCOPE. Then, in SQLAlchemy,
   `.where(scope.resident_in(Behaviour.resident_id, community))`; in a text() statement, the fragment
   `scope.resident_in_sql("b.resident_id")` with `scope.params(community)` bound (only when `community`
   is not None). Both read `ix_accounts_resident_community_id_id`.
3. One object (a resident, a report, a flag, a photo, a transfer): `scope.reaches(principal,
   resident.community_id)`, or `await scope.reaches_resident(session, principal, resident_id)`; when
   false, answer 404 exactly as for an object that does not exist, so that nothing outside the scope is
   confirmed to exist.
4. Anything not about one community's residents (users, enterprises, partners, sites, factor versions,
   organisations, ledger verification) stays district-only: step 1 does it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.errors import DistrictOnly, OutsideScope
from service.accounts.models import Resident
from service.accounts.tokens import Principal
from service.db import ReadSession

PARAM = "scope_community_id"


def community_of(principal: Principal, asked: int | None = None) -> int | None:
    """The community a query about residents keeps to, None for the whole district: an officer's own
    community (asking for another is OUTSIDE_SCOPE), else the community `asked` for, if any."""
    scope = principal.scope_community_id
    if scope is None:
        return asked
    if asked is not None and asked != scope:
        raise OutsideScope(
            f"You are responsible for community {scope} only.",
            f"您只负责编号为 {scope} 的社区。",
            errors=[{"field": "community_id", "in": "query", "code": "OUTSIDE_SCOPE", "message": "not your community"}],
        )
    return scope


def reaches(principal: Principal, community_id: int | None) -> bool:
    """Whether the principal may reach a resident of `community_id` (None: a resident of no community,
    whom only district-wide administrators reach)."""
    return principal.scope_community_id is None or principal.scope_community_id == community_id


async def reaches_resident(session: AsyncSession | ReadSession, principal: Principal, resident_id: int | None) -> bool:
    """Whether the principal may reach the resident of this internal id (None: something about no one
    resident, which only district-wide administrators reach). One primary-key read for an officer, none
    for anyone else."""
    if principal.scope_community_id is None:
        return True
    if resident_id is None:
        return False
    community = await session.scalar(select(Resident.community_id).where(Resident.id == resident_id))
    return community == principal.scope_community_id


def require_district(principal: Principal) -> None:
    """Refuse an officer what only a district-wide administrator may do."""
    if principal.scope_community_id is not None:
        raise DistrictOnly


def residents_of(community_id: int) -> Any:
    """The ids of a community's residents, as a subquery."""
    return select(Resident.id).where(Resident.community_id == community_id)


def resident_in(column: Any, community_id: int | None) -> ColumnElement[bool]:
    """A condition that `column` (a resident's internal id) is a resident of `community_id`; always true
    for None (the whole district)."""
    if community_id is None:
        return true()
    return column.in_(residents_of(community_id))  # type: ignore[no-any-return]


def resident_in_sql(column: str) -> str:
    """The same condition for a text() statement, with `:scope_community_id` to bind (`params`)."""
    return f"{column} IN (SELECT id FROM accounts_resident WHERE community_id = :{PARAM})"  # noqa: S608 -- a column name of the caller's text; the value is bound


def params(community_id: int | None) -> dict[str, int]:
    """The value `resident_in_sql` binds, or nothing for the whole district."""
    return {} if community_id is None else {PARAM: community_id}
