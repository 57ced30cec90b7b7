"""The reward catalogue: enterprises publish and change rewards, residents browse what is on offer.

Changing a reward locks its row alone (a redemption's stock update waits on the same lock). Publishing,
browsing and reading take no locks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Enterprise, EnterpriseStatus
from service.db import ReadSession
from service.errors import ValidationFailed
from service.kit.pagination import decode_cursor, encode_cursor
from service.photos import reward_images
from service.redemption import enterprises, repository
from service.redemption.errors import RewardNotFound
from service.redemption.models import Reward, RewardCategory, RewardStatus
from service.redemption.schemas import RewardCreate, RewardPage, RewardRead, RewardUpdate


def reward_read(reward: Reward, enterprise: Enterprise, *, base_url: str) -> RewardRead:
    """The reward with the one picture a card shows: an uploaded one at the service's address for it
    (after `base_url`, the service's public origin, when one is set), else the https address given."""
    image_url = reward_images.url_of(reward.image_id, base_url=base_url) if reward.image_id else reward.image_url
    return RewardRead.model_validate({**_columns(reward), "enterprise_name": enterprise.name, "image_url": image_url})


def _columns(row: Any) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def is_on_offer(reward: Reward, enterprise: Enterprise, *, now: datetime) -> bool:
    """Active, of an approved enterprise and inside its window; sold out or not."""
    return (
        reward.status == RewardStatus.active.value
        and enterprise.status == EnterpriseStatus.approved.value
        and reward.valid_from <= now < reward.valid_until
    )


# ---------------------------------------------------------------------------------------------- enterprises


async def publish(session: AsyncSession, *, enterprise_id: int, data: RewardCreate, base_url: str) -> RewardRead:
    enterprise = await enterprises.approved(session, enterprise_id=enterprise_id)
    values = data.model_dump(exclude={"stock", "image_url", "image_id"})
    image_id = (
        await reward_images.of_enterprise(session, enterprise_id=enterprise_id, image_id=data.image_id)
        if data.image_id
        else None
    )
    reward = await repository.insert_reward(
        session,
        values={
            **values,
            "enterprise_id": enterprise_id,
            "stock_total": data.stock,
            "stock_left": data.stock,
            "image_url": str(data.image_url) if data.image_url else None,
            "image_id": image_id,
        },
    )
    return reward_read(reward, enterprise, base_url=base_url)


async def change(
    session: AsyncSession, *, enterprise_id: int, reward_id: int, changes: RewardUpdate, base_url: str
) -> RewardRead:
    """Change what the enterprise may change of its reward; a new picture replaces the one it had, whichever
    kind either is."""
    enterprise = await enterprises.approved(session, enterprise_id=enterprise_id)
    reward = await repository.lock_reward(session, reward_id=reward_id, enterprise_id=enterprise_id)
    if reward is None:
        raise RewardNotFound
    values: dict[str, Any] = changes.model_dump(exclude_unset=True, exclude={"add_stock", "image_url", "image_id"})
    if changes.image_url is not None:
        values.update(image_url=str(changes.image_url), image_id=None)
    if changes.image_id is not None:
        image_id = await reward_images.of_enterprise(session, enterprise_id=enterprise_id, image_id=changes.image_id)
        values.update(image_url=None, image_id=image_id)
    if changes.add_stock:
        values["stock_total"] = reward.stock_total + changes.add_stock
        values["stock_left"] = reward.stock_left + changes.add_stock
    if changes.valid_until is not None and changes.valid_until <= reward.valid_from:
        raise ValidationFailed(
            "valid_until must be after valid_from.",
            "结束时间须晚于开始时间。",
            errors=[
                {"field": "valid_until", "in": "body", "code": "BEFORE_VALID_FROM", "message": "not after valid_from"}
            ],
        )
    if not values:
        return reward_read(reward, enterprise, base_url=base_url)
    changed = await repository.update_reward(session, reward_id=reward.id, values=values)
    return reward_read(changed, enterprise, base_url=base_url)


async def of_enterprise(session: AsyncSession | ReadSession, *, enterprise_id: int, base_url: str) -> list[RewardRead]:
    """The enterprise's own rewards, withdrawn ones included, newest first."""
    enterprise = await repository.get_enterprise(session, enterprise_id=enterprise_id)
    assert enterprise is not None  # the signed-in user's enterprise
    rows = await repository.enterprise_rewards(session, enterprise_id=enterprise.id)
    return [reward_read(reward, enterprise, base_url=base_url) for reward in rows]


# ---------------------------------------------------------------------------------------------- residents


async def browse(
    session: AsyncSession | ReadSession,
    *,
    category: RewardCategory | None,
    cursor: str | None,
    limit: int,
    base_url: str,
) -> RewardPage:
    """Rewards on offer now, newest first, a page of `limit` (asked for one more, to know there is more)."""
    rows = await repository.browse_rewards(
        session,
        category=category.value if category else None,
        before_id=decode_cursor(cursor),
        limit=limit + 1,
        now=datetime.now(UTC),
    )
    items = [reward_read(reward, enterprise, base_url=base_url) for reward, enterprise in rows[:limit]]
    return RewardPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)


async def on_offer(session: AsyncSession | ReadSession, *, reward_id: int, base_url: str) -> RewardRead:
    """One reward on offer; one that is not is not found."""
    found = await repository.get_reward(session, reward_id=reward_id)
    if found is None or not is_on_offer(*found, now=datetime.now(UTC)):
        raise RewardNotFound
    return reward_read(*found, base_url=base_url)
