"""Factor drafts: one administrator uploads a version, another approves it, and only then is it published.

A draft is checked on upload exactly as a published file is (`service.parse`). Approval publishes it
through `service.publish` in the same transaction, so the caches learn of it after the commit as for any
version. The uploader cannot approve their own draft (the table refuses it too); they may withdraw it,
and another administrator may reject it, each with a reason. A draft whose set and version were published
since no longer applies and cannot be approved. Every step is in the admin action log.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import actions
from service.accounts.tokens import Principal
from service.db import ReadSession
from service.factors import entries, repository, service
from service.factors.cache import FactorCache
from service.factors.errors import (
    FactorDraftDecided,
    FactorDraftNotFound,
    FactorDraftOwnApproval,
    FactorDraftStale,
    FactorVersionExists,
)
from service.factors.model import BehaviourType, FactorSet
from service.factors.models import FactorDraft
from service.factors.schemas import FactorDraftDetail, FactorDraftPage, FactorDraftRead, FactorEntry
from service.kit.pagination import decode_cursor, encode_cursor


def _read(draft: FactorDraft, *, stale: bool) -> FactorDraftRead:
    return FactorDraftRead(
        draft_id=draft.id,
        set=draft.set_code,
        version=draft.version,
        valid_from=FactorSet.model_validate(draft.content).valid_from,
        status=draft.status,  # type: ignore[arg-type]
        uploaded_by=draft.uploaded_by,
        uploaded_at=draft.uploaded_at,
        decided_by=draft.decided_by,
        decided_at=draft.decided_at,
        reason=draft.reason,
        version_id=draft.factor_version_id,
        stale=stale,
    )


async def _read_one(session: AsyncSession | ReadSession, draft: FactorDraft) -> FactorDraftRead:
    stale = draft.status == "pending" and await repository.version_exists(session, draft.set_code, draft.version)
    return _read(draft, stale=stale)


async def upload(session: AsyncSession, *, user: Principal, source_text: str) -> FactorDraftRead:
    """Check a factor file and keep it as a pending draft; a version already published is refused."""
    factor_set = service.parse(source_text)
    if await repository.version_exists(session, factor_set.set, factor_set.version):
        raise FactorVersionExists(
            f"{factor_set.set} {factor_set.version} is already published; give the draft a new version.",
            f"{factor_set.set} {factor_set.version} 已发布，请为草稿使用新的版本号。",
        )
    draft = await repository.insert_draft(
        session,
        {
            "set_code": factor_set.set,
            "version": factor_set.version,
            "source_text": source_text,
            "content": factor_set.model_dump(mode="json", by_alias=True),
            "status": "pending",
            "uploaded_by": actions.actor_of(user),
        },
    )
    await actions.log(
        session, user, "factor.draft.upload", f"factor_draft:{draft.id}", set=draft.set_code, version=draft.version
    )
    return _read(draft, stale=False)


async def drafts_page(session: ReadSession, *, status: str | None, cursor: str | None, limit: int) -> FactorDraftPage:
    rows = await repository.drafts(session, status=status, before=decode_cursor(cursor), limit=limit + 1)
    published = await repository.published_versions(
        session, {(row.set_code, row.version) for row in rows[:limit] if row.status == "pending"}
    )
    items = [
        _read(row, stale=row.status == "pending" and (row.set_code, row.version) in published) for row in rows[:limit]
    ]
    return FactorDraftPage(items=items, next_cursor=encode_cursor(items[-1].draft_id) if len(rows) > limit else None)


def in_force_entries(cache: FactorCache, at: datetime) -> tuple[list[FactorEntry], list[int]]:
    """The figures in force at `at`, type by type, and the ids of the versions they come from."""
    found: list[FactorEntry] = []
    version_ids: list[int] = []
    for behaviour in BehaviourType:
        resolved = cache.resolve(behaviour, at)
        if resolved is None:
            continue
        stored = cache.get(resolved.version_id)
        assert stored is not None
        found += entries.entries(stored.factor_set, [behaviour])
        if resolved.version_id not in version_ids:
            version_ids.append(resolved.version_id)
    return found, version_ids


async def draft_detail(session: ReadSession, *, cache: FactorCache, draft_id: int) -> FactorDraftDetail:
    """The draft, its file, and its differences from the figures in force now."""
    draft = await repository.get_draft(session, draft_id)
    if draft is None:
        raise FactorDraftNotFound
    before, version_ids = in_force_entries(cache, datetime.now(UTC))
    after = entries.entries(FactorSet.model_validate(draft.content))
    in_force = []
    for version_id in version_ids:
        stored = cache.get(version_id)
        assert stored is not None
        in_force.append(service.version_read(stored))
    return FactorDraftDetail(
        draft=await _read_one(session, draft),
        source=draft.source_text,
        in_force=in_force,
        diff=entries.diff(before, after),
    )


async def draft_set(session: ReadSession, *, draft_id: int) -> tuple[FactorDraftRead, FactorSet]:
    """A draft and its parsed factor set, for those who compute with it (the what-if of audit)."""
    draft = await repository.get_draft(session, draft_id)
    if draft is None:
        raise FactorDraftNotFound
    return await _read_one(session, draft), FactorSet.model_validate(draft.content)


async def _pending(session: AsyncSession, draft_id: int) -> FactorDraft:
    draft = await repository.lock_draft(session, draft_id)
    if draft is None:
        raise FactorDraftNotFound
    if draft.status != "pending":
        raise FactorDraftDecided(
            f"Draft {draft_id} is {draft.status} already.", f"草稿 {draft_id} 已是{_STATUS_ZH[draft.status]}状态。"
        )
    return draft


_STATUS_ZH = {"pending": "待批准", "approved": "已批准", "rejected": "已驳回", "withdrawn": "已撤回"}


async def approve(session: AsyncSession, *, user: Principal, draft_id: int) -> FactorDraftRead:
    """Publish a pending draft uploaded by someone else. The caller refreshes the caches after the commit."""
    draft = await _pending(session, draft_id)
    approver = actions.actor_of(user)
    if draft.uploaded_by == approver:
        raise FactorDraftOwnApproval(
            "You uploaded this draft: another operator or super-administrator approves it.",
            "该草稿由您上传，须由另一位运营或超级管理员批准。",
        )
    stale = FactorDraftStale(
        f"{draft.set_code} {draft.version} was published since this draft was uploaded.",
        f"{draft.set_code} {draft.version} 在该草稿上传后已发布。",
    )
    if await repository.version_exists(session, draft.set_code, draft.version):
        raise stale
    published = await service.publish(session, source_text=draft.source_text, published_by=approver)
    if not published.created:
        raise stale
    decided = await repository.decide_draft(
        session, draft_id, {"status": "approved", "decided_by": approver, "factor_version_id": published.stored.id}
    )
    await actions.log(
        session,
        user,
        "factor.publish",
        f"factor_version:{published.stored.id}",
        draft_id=draft_id,
        set=draft.set_code,
        version=draft.version,
        uploaded_by=draft.uploaded_by,
    )
    return _read(decided, stale=False)


async def reject(session: AsyncSession, *, user: Principal, draft_id: int, reason: str) -> FactorDraftRead:
    """Set a pending draft aside with a reason: withdrawn by its uploader, rejected by anyone else."""
    draft = await _pending(session, draft_id)
    actor = actions.actor_of(user)
    status = "withdrawn" if draft.uploaded_by == actor else "rejected"
    decided = await repository.decide_draft(
        session, draft_id, {"status": status, "decided_by": actor, "reason": reason}
    )
    await actions.log(
        session,
        user,
        f"factor.draft.{'withdraw' if status == 'withdrawn' else 'reject'}",
        f"factor_draft:{draft_id}",
        reason=reason,
        set=draft.set_code,
        version=draft.version,
    )
    return _read(decided, stale=False)
