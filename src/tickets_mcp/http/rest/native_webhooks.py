"""Webhooks over the native REST API (/api/v1/native/webhooks): an organization's owners and admins, or a key
with webhooks:read / webhooks:write, make, list, remove and enable hooks and read their delivery logs.

The secret is in the answer to the POST that made the hook, and nowhere else (docs/webhooks.md).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status

from tickets_mcp.core.backend import WebhookDraft, Webhooks
from tickets_mcp.core.tracker import Principal
from tickets_mcp.domain.webhooks import LOG_KEPT, Webhook
from tickets_mcp.http.auth import backend_of, principal_of
from tickets_mcp.http.rest.native import PREFIX, OrganizationQuery
from tickets_mcp.http.rest.support import error_responses, operation_ids
from tickets_mcp.wire.native import IssuedWebhook, NewWebhook, WebhookLog
from tickets_mcp.wire.native import Webhooks as WebhookList


async def webhooks_of(request: Request, principal: Annotated[Principal, Depends(principal_of)]) -> Webhooks:
    """FastAPI dependency: the webhooks this request's caller may see and manage."""
    return backend_of(request).webhooks(principal)


WebhooksDep = Annotated[Webhooks, Depends(webhooks_of)]
WebhookId = Annotated[int, Path(ge=1, lt=2**63, description="The hook's id, as listed.")]

router = APIRouter(
    prefix=f"{PREFIX}/webhooks",
    tags=["webhooks"],
    responses=error_responses(),
    generate_unique_id_function=operation_ids("webhooks"),
)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a webhook; its secret is in this answer only")
async def add_webhook(body: NewWebhook, webhooks: WebhooksDep) -> IssuedWebhook:
    issued = await webhooks.add_webhook(
        WebhookDraft(url=body.url, events=body.events, organization=body.organization, description=body.description)
    )
    return IssuedWebhook(secret=issued.secret, webhook=issued.webhook)


@router.get("", summary="The webhooks you may see (never their secrets)")
async def list_webhooks(webhooks: WebhooksDep, organization: OrganizationQuery = None) -> WebhookList:
    return WebhookList(await webhooks.list_webhooks(organization))


@router.delete("/{webhook_id}", summary="Remove a webhook, its queue and its log")
async def remove_webhook(webhook_id: WebhookId, webhooks: WebhooksDep) -> Webhook:
    return await webhooks.remove_webhook(webhook_id)


@router.post("/{webhook_id}/enable", summary="Enable a disabled webhook, or have a failing one tried now")
async def enable_webhook(webhook_id: WebhookId, webhooks: WebhooksDep) -> Webhook:
    return await webhooks.enable_webhook(webhook_id)


@router.get("/{webhook_id}/deliveries", summary="A webhook's latest delivery attempts, newest first")
async def webhook_log(
    webhook_id: WebhookId, webhooks: WebhooksDep, limit: Annotated[int, Query(ge=1, le=LOG_KEPT)] = 20
) -> WebhookLog:
    return WebhookLog(await webhooks.webhook_log(webhook_id, limit))
