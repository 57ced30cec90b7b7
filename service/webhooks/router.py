"""Webhook endpoints, their deliveries and redelivery: the same routes for a signed partner
(/v1/partner/webhooks…) and for a signed-in enterprise (/v1/enterprise/webhooks…)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.routing import APIRoute

from service.accounts.deps import SettingsDep
from service.db import ReadSessionDep, SessionDep
from service.kit.openapi import problems
from service.kit.pagination import Cursor, Limit
from service.kit.schemas import ID_MAX
from service.webhooks import deliveries, endpoints
from service.webhooks.deps import ENTERPRISE_OWNER, PARTNER_OWNER, WebhookBoxDep
from service.webhooks.errors import (
    WebhookDeliveryNotFound,
    WebhookEndpointLimit,
    WebhookEndpointNotFound,
    WebhookEventUnknown,
    WebhookUrlInvalid,
    WebhookUrlNotHttps,
    WebhookUrlNotPublic,
)
from service.webhooks.events import Owner
from service.webhooks.models import DeliveryStatus
from service.webhooks.schemas import (
    WebhookDeliveryPage,
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointPage,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
    WebhookSecret,
)

EndpointId = Annotated[int, Path(ge=1, le=ID_MAX, description="The endpoint's id.", examples=[3])]
DeliveryId = Annotated[int, Path(ge=1, le=ID_MAX, description="The delivery's id.", examples=[811])]
StatusFilter = Annotated[
    DeliveryStatus | None, Query(description="Only deliveries in this status.", examples=["failed"])
]
_URL_REFUSALS = (WebhookUrlInvalid, WebhookUrlNotHttps, WebhookUrlNotPublic, WebhookEventUnknown)


def _routes(prefix: str, tag: str, caller: Any) -> APIRouter:
    """The routes of one kind of owner; `caller` is the dependency that says who calls, and so whose
    endpoints they are."""
    router = APIRouter(prefix=prefix, tags=[tag])

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        responses=problems(*_URL_REFUSALS, WebhookEndpointLimit),
    )
    async def create_webhook(
        body: WebhookEndpointCreate,
        session: SessionDep,
        box: WebhookBoxDep,
        settings: SettingsDep,
        owner: Owner = caller,
    ) -> WebhookEndpointCreated:
        """Register an endpoint for some event types; the reply shows its signing secret, only this once."""
        return await endpoints.create(session, owner=owner, box=box, settings=settings, data=body)

    @router.get("")
    async def list_webhooks(
        session: ReadSessionDep, owner: Owner = caller, limit: Limit = 20, cursor: Cursor = None
    ) -> WebhookEndpointPage:
        """Your webhook endpoints, oldest first."""
        return await endpoints.page(session, owner=owner, cursor=cursor, limit=limit)

    @router.get("/{endpoint_id}", responses=problems(WebhookEndpointNotFound))
    async def get_webhook(
        endpoint_id: EndpointId, session: ReadSessionDep, owner: Owner = caller
    ) -> WebhookEndpointRead:
        """One of your webhook endpoints."""
        return await endpoints.get(session, owner=owner, endpoint_id=endpoint_id)

    @router.patch("/{endpoint_id}", responses=problems(WebhookEndpointNotFound, *_URL_REFUSALS))
    async def change_webhook(
        endpoint_id: EndpointId,
        body: WebhookEndpointUpdate,
        session: SessionDep,
        settings: SettingsDep,
        owner: Owner = caller,
    ) -> WebhookEndpointRead:
        """Change an endpoint's URL, event types or note, or switch its deliveries off and on."""
        return await endpoints.change(session, owner=owner, settings=settings, endpoint_id=endpoint_id, changes=body)

    @router.delete(
        "/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(WebhookEndpointNotFound)
    )
    async def delete_webhook(endpoint_id: EndpointId, session: SessionDep, owner: Owner = caller) -> Response:
        """Delete an endpoint and its deliveries; nothing more is sent to it."""
        await endpoints.remove(session, owner=owner, endpoint_id=endpoint_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.post("/{endpoint_id}/secret", responses=problems(WebhookEndpointNotFound))
    async def rotate_webhook_secret(
        endpoint_id: EndpointId, session: SessionDep, box: WebhookBoxDep, owner: Owner = caller
    ) -> WebhookSecret:
        """A new signing secret, shown only this once; the old one also signs deliveries for 24 hours."""
        return await endpoints.rotate_secret(session, owner=owner, box=box, endpoint_id=endpoint_id)

    @router.get("/{endpoint_id}/deliveries", responses=problems(WebhookEndpointNotFound))
    async def list_webhook_deliveries(
        endpoint_id: EndpointId,
        session: ReadSessionDep,
        owner: Owner = caller,
        status: StatusFilter = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> WebhookDeliveryPage:
        """The endpoint's deliveries with their attempts, newest first."""
        return await deliveries.page(
            session, owner=owner, endpoint_id=endpoint_id, status=status, cursor=cursor, limit=limit
        )

    @router.get(
        "/{endpoint_id}/deliveries/{delivery_id}",
        responses=problems(WebhookEndpointNotFound, WebhookDeliveryNotFound),
    )
    async def get_webhook_delivery(
        endpoint_id: EndpointId, delivery_id: DeliveryId, session: ReadSessionDep, owner: Owner = caller
    ) -> WebhookDeliveryRead:
        """One delivery with its attempts."""
        return await deliveries.get(session, owner=owner, endpoint_id=endpoint_id, delivery_id=delivery_id)

    @router.post(
        "/{endpoint_id}/deliveries/{delivery_id}/redeliver",
        status_code=status.HTTP_202_ACCEPTED,
        responses=problems(WebhookEndpointNotFound, WebhookDeliveryNotFound),
    )
    async def redeliver_webhook(
        endpoint_id: EndpointId, delivery_id: DeliveryId, session: SessionDep, owner: Owner = caller
    ) -> WebhookDeliveryRead:
        """Send a delivery again within moments, with the same webhook-id and body, whatever its status."""
        return await deliveries.redeliver(session, owner=owner, endpoint_id=endpoint_id, delivery_id=delivery_id)

    for route in router.routes:
        if isinstance(route, APIRoute):
            route.name = f"{tag}_{route.name}"  # the operation ids of the API document: one per kind of owner
    return router


partner_router = _routes("/v1/partner/webhooks", "partner", PARTNER_OWNER)
enterprise_router = _routes("/v1/enterprise/webhooks", "enterprise", ENTERPRISE_OWNER)
