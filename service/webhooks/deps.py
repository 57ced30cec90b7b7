"""Whose webhooks a request is about: the signed partner's or the signed-in enterprise's; and the box
that seals their secrets."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from service.accounts.deps import CurrentPartner, EnterpriseUser
from service.kit.secrets import SecretBox
from service.webhooks.events import Owner


async def _partner(caller: CurrentPartner) -> Owner:
    return Owner("partner", caller.partner.id)


async def _enterprise(user: EnterpriseUser) -> Owner:
    assert user.enterprise_id is not None  # the token of an enterprise user always names its enterprise
    return Owner("enterprise", user.enterprise_id)


async def _box(request: Request) -> SecretBox:
    return cast(SecretBox, request.app.state.webhook_box)


# Each route is built once for each kind of owner (router.py), which takes one of these as its default.
PARTNER_OWNER = Depends(_partner)
ENTERPRISE_OWNER = Depends(_enterprise)
WebhookBoxDep = Annotated[SecretBox, Depends(_box)]
