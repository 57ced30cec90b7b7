"""Staff users (enterprise users and administrators), enterprises and organisations; what administrators
do to them is logged."""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import actions, repository
from service.accounts.enterprise_schemas import (
    EnterpriseAdminRead,
    EnterpriseApplication,
    EnterpriseApplicationStatus,
    EnterprisePage,
    EnterpriseRead,
    EnterpriseRegister,
    EnterpriseReview,
)
from service.accounts.enterprise_schemas import EnterpriseReviewDecision as Decision
from service.accounts.errors import ScopeNotForRole, UnknownCommunity, UnknownEnterprise, UsernameTaken
from service.accounts.models import Community, Enterprise, EnterpriseStatus, Role, User
from service.accounts.passwords import check_password, hash_password
from service.accounts.repository import scopes
from service.accounts.schemas import (
    CommunityRead,
    OrganisationCreate,
    OrganisationRead,
    StaffWhoAmI,
    UserCreate,
    UserPage,
    UserRead,
    UserUpdate,
)
from service.accounts.tokens import Principal
from service.db import ReadSession
from service.errors import Conflict, NotFound
from service.kit.pagination import decode_cursor, encode_cursor

DEMO_ADMIN_USERNAME = "demo-admin"


# ---------------------------------------------------------------------------------------------- users


# Roles that may be kept to one community: a super-administrator is district-wide by definition.
SCOPED_ROLES = (Role.admin_auditor, Role.admin_operator)


def _scope_read(user: User, communities: dict[int, Community]) -> CommunityRead | None:
    community = communities.get(user.scope_community_id) if user.scope_community_id is not None else None
    return CommunityRead.model_validate(community) if community is not None else None


def user_read(user: User, communities: dict[int, Community]) -> UserRead:
    return UserRead(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        enterprise_id=user.enterprise_id,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
        disabled=user.disabled_at is not None,
        scope=_scope_read(user, communities),
    )


async def _check_scope(
    session: AsyncSession, *, role: Role, community_id: int | None, communities: dict[int, Community]
) -> None:
    """A scope is for an auditor or an operator, and names a community that exists."""
    if community_id is None:
        return
    if role not in SCOPED_ROLES:
        raise ScopeNotForRole(
            "Only an auditor or an operator can be kept to one community.",
            "只有审计员或操作员可以限定到单个社区。",
            errors=[
                {"field": "scope_community_id", "in": "body", "code": "NOT_FOR_ROLE", "message": "auditor or operator"}
            ],
        )
    if community_id not in communities:
        raise UnknownCommunity(
            errors=[{"field": "scope_community_id", "in": "body", "code": "UNKNOWN", "message": "no such community"}]
        )


async def create_user(session: AsyncSession, *, data: UserCreate, known_words: tuple[str, ...] = ()) -> User:
    """A new enterprise or administrator user; `add_user` is the same, logged as an administrator's action.
    The password must meet the policy, with the user's names and `known_words` counted as guessable."""
    if (data.role is Role.enterprise) != (data.enterprise_id is not None):
        raise UnknownEnterprise(
            "enterprise_id is required for the enterprise role and only for it.",
            "企业角色必须且只能指定 enterprise_id。",
            errors=[
                {"field": "enterprise_id", "in": "body", "code": "REQUIRED_FOR_ROLE", "message": "enterprise role only"}
            ],
        )
    if data.enterprise_id is not None and await repository.get_enterprise(session, data.enterprise_id) is None:
        raise UnknownEnterprise(
            errors=[{"field": "enterprise_id", "in": "body", "code": "UNKNOWN", "message": "no such enterprise"}]
        )
    await check_password(data.password, user_inputs=[data.username, data.display_name, *known_words])
    if data.scope_community_id is not None:
        communities = await scopes.communities_by_id(session)
        await _check_scope(session, role=data.role, community_id=data.scope_community_id, communities=communities)
    user = await repository.insert_user(
        session,
        {
            "username": data.username,
            "password_hash": await hash_password(data.password),
            "role": data.role.value,
            "display_name": data.display_name,
            "enterprise_id": data.enterprise_id,
            "scope_community_id": data.scope_community_id,
        },
    )
    if user is None:
        raise UsernameTaken
    return user


async def add_user(session: AsyncSession, *, admin: Principal | None, data: UserCreate) -> UserRead:
    """Create a user by an administrator's hand (`admin` None: the command line), and log it."""
    user = await create_user(session, data=data)
    await actions.log(
        session,
        admin,
        "user.create",
        f"user:{user.id}",
        username=user.username,
        role=user.role,
        scope_community_id=user.scope_community_id,
    )
    return user_read(user, await scopes.communities_by_id(session))


async def users(session: ReadSession, *, cursor: str | None, limit: int) -> UserPage:
    """A page of enterprise and administrator users, oldest first."""
    communities = await scopes.communities_by_id(session)
    rows = await repository.list_users(session, after_id=decode_cursor(cursor) or 0, limit=limit + 1)
    items = [user_read(u, communities) for u in rows[:limit]]
    return UserPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


async def whoami(session: ReadSession, *, user_id: int) -> StaffWhoAmI:
    user = await repository.get_user(session, user_id)
    if user is None:
        raise NotFound
    return StaffWhoAmI(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        enterprise_id=user.enterprise_id,
        scope=_scope_read(user, await scopes.communities_by_id(session)),
    )


async def update_user(session: AsyncSession, *, admin: Principal, user_id: int, changes: UserUpdate) -> UserRead:
    """Disable a user or enable it again, and set or clear an administrator's scope; each logged."""
    user = await repository.get_user(session, user_id)
    if user is None:
        raise NotFound
    communities = await scopes.communities_by_id(session)
    if "scope_community_id" in changes.model_fields_set and changes.scope_community_id != user.scope_community_id:
        user = await _set_scope(
            session, admin=admin, user=user, community_id=changes.scope_community_id, communities=communities
        )
    if changes.disabled is not None:
        user = await _set_disabled(session, admin=admin, user_id=user_id, disabled=changes.disabled)
    return user_read(user, communities)


async def _set_scope(
    session: AsyncSession, *, admin: Principal, user: User, community_id: int | None, communities: dict[int, Community]
) -> User:
    """Keep an administrator to one community, or free it to the whole district. Its tokens say its scope,
    so it is signed out everywhere: it signs in again under the new one."""
    await _check_scope(session, role=Role(user.role), community_id=community_id, communities=communities)
    before = user.scope_community_id
    changed = await scopes.set_user_scope(session, user.id, community_id=community_id)
    assert changed is not None
    await repository.revoke_subject_tokens(session, subject_kind="user", subject_id=user.id, reason="scope-changed")
    await actions.log(session, admin, "user.scope", f"user:{user.id}", before=before, after=community_id)
    return changed


async def _set_disabled(session: AsyncSession, *, admin: Principal, user_id: int, disabled: bool) -> User:
    """Disable a user, signing it out everywhere, or enable it again; never one's own account."""
    if user_id == admin.subject_id and disabled:
        raise Conflict("You cannot disable your own account.", "不能停用自己的账号。")
    user = await repository.set_user_disabled(session, user_id, disabled=disabled)
    if user is None:
        raise NotFound
    if disabled:
        await repository.revoke_subject_tokens(session, subject_kind="user", subject_id=user_id, reason="disabled")
    await actions.log(session, admin, "user.disable" if disabled else "user.enable", f"user:{user_id}")
    return user


async def ensure_demo_admin(session: AsyncSession) -> tuple[str, str] | None:
    """Create the demo super-administrator once; returns its credentials only when just created."""
    if await repository.any_super_admin(session):
        return None
    password = secrets.token_urlsafe(12)
    await create_user(
        session,
        data=UserCreate(
            username=DEMO_ADMIN_USERNAME, password=password, display_name="Demo administrator", role=Role.admin_super
        ),
    )
    return DEMO_ADMIN_USERNAME, password


# ---------------------------------------------------------------------------------------------- enterprises


async def create_enterprise(session: AsyncSession, *, name: str, status: EnterpriseStatus) -> Enterprise:
    enterprise = await repository.insert_enterprise(session, name=name, status=status.value)
    if enterprise is None:
        raise Conflict("An enterprise of this name exists.", "同名企业已存在。")
    return enterprise


async def onboard_enterprise(session: AsyncSession, *, operator: Principal, name: str) -> EnterpriseRead:
    """An enterprise an operator adds directly, already approved; and log it."""
    enterprise = await create_enterprise(session, name=name, status=EnterpriseStatus.approved)
    await actions.log(session, operator, "enterprise.create", f"enterprise:{enterprise.id}", name=name)
    return EnterpriseRead.model_validate(enterprise)


async def register_enterprise(session: AsyncSession, *, data: EnterpriseRegister) -> EnterpriseApplication:
    """An enterprise applies: it and its first user are created, pending an operator's review. The user can
    sign in at once and see the application's status, but publishes and retires nothing until approved.
    The user's username is drawn by the service: a public form that took a chosen one would answer which
    usernames exist."""
    enterprise = await repository.insert_enterprise(
        session,
        name=data.name,
        status=EnterpriseStatus.pending.value,
        credit_code=data.credit_code,
        contact_name=data.contact_name,
        contact_phone=data.contact_phone,
    )
    if enterprise is None:
        raise Conflict("An enterprise with this name or credit code is registered.", "同名或同一信用代码的企业已注册。")
    for _ in range(5):  # 50 random bits: a collision is as good as impossible, and then another draw
        username = "ent-" + "".join(secrets.choice(_USERNAME_ALPHABET) for _ in range(10))
        try:
            # the insert skips a taken username (ON CONFLICT DO NOTHING): nothing to roll back
            await create_user(
                session,
                data=UserCreate(
                    username=username,
                    password=data.password,
                    display_name=data.display_name,
                    role=Role.enterprise,
                    enterprise_id=enterprise.id,
                ),
                known_words=(data.name, data.contact_name),
            )
        except UsernameTaken:
            continue
        return EnterpriseApplication(**EnterpriseRead.model_validate(enterprise).model_dump(), username=username)
    raise UsernameTaken


_USERNAME_ALPHABET = "abcdefghjkmnpqrstvwxyz0123456789"


async def own_application(session: ReadSession, *, enterprise_id: int) -> EnterpriseApplicationStatus:
    """The enterprise's application as its own users see it: its status and the operator's last reason."""
    enterprise = await repository.get_enterprise(session, enterprise_id)
    if enterprise is None:
        raise NotFound("No such enterprise.", "企业不存在。")
    return EnterpriseApplicationStatus.model_validate(enterprise)


async def enterprises(
    session: ReadSession, *, status: EnterpriseStatus | None, cursor: str | None, limit: int
) -> EnterprisePage:
    """A page of enterprises (of one status, if given), oldest first."""
    rows = await repository.list_enterprises(
        session, status=status.value if status else None, after_id=decode_cursor(cursor) or 0, limit=limit + 1
    )
    items = [EnterpriseAdminRead.model_validate(e) for e in rows[:limit]]
    return EnterprisePage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


_REVIEW_MOVES = {
    Decision.approve: ({EnterpriseStatus.pending}, EnterpriseStatus.approved),
    Decision.reject: ({EnterpriseStatus.pending}, EnterpriseStatus.rejected),
    Decision.suspend: ({EnterpriseStatus.approved}, EnterpriseStatus.suspended),
    Decision.reinstate: ({EnterpriseStatus.suspended, EnterpriseStatus.rejected}, EnterpriseStatus.approved),
}


async def review_enterprise(
    session: AsyncSession, *, operator: Principal, enterprise_id: int, review: EnterpriseReview
) -> EnterpriseAdminRead:
    """Approve or reject an application, or suspend or reinstate an enterprise, and log it."""
    enterprise = await repository.lock_enterprise(session, enterprise_id)
    if enterprise is None:
        raise NotFound("No such enterprise.", "企业不存在。")
    allowed_from, to = _REVIEW_MOVES[review.decision]
    if EnterpriseStatus(enterprise.status) not in allowed_from:
        raise Conflict(
            f"An enterprise that is {enterprise.status} cannot be given the decision {review.decision.value}.",
            f"状态为 {enterprise.status} 的企业不能执行 {review.decision.value}。",
        )
    enterprise = await repository.set_enterprise_status(
        session, enterprise_id, status=to.value, reviewer=actions.actor_of(operator), reason=review.reason
    )
    # its users' tokens say whether it is approved: they refresh them now
    await repository.revocations.end_access_of_enterprise(session, enterprise_id=enterprise_id)
    await actions.log(
        session,
        operator,
        "enterprise.review",
        f"enterprise:{enterprise_id}",
        reason=review.reason,
        decision=review.decision.value,
        status=enterprise.status,
    )
    return EnterpriseAdminRead.model_validate(enterprise)


# ---------------------------------------------------------------------------------------------- organisations


async def create_organisation(
    session: AsyncSession, *, operator: Principal, data: OrganisationCreate
) -> OrganisationRead:
    """A school, enterprise or public institution residents can join, and log it."""
    if data.community_id is not None and not await repository.community_exists(session, data.community_id):
        raise NotFound("No such community.", "社区不存在。")
    if await repository.organisation_code_exists(session, data.code):
        raise Conflict("This organisation code is taken.", "组织代码已被占用。")
    organisation = await repository.insert_organisation(session, data.model_dump())
    await actions.log(session, operator, "organisation.create", f"organisation:{organisation.id}", code=data.code)
    return OrganisationRead.model_validate(organisation)
