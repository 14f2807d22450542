"""LocalWebhooks: an organization's webhooks on a Store we own, for its owners and admins (core/backend.Webhooks).

Who may: owners and admins of the hook's organization (Action.SEE_WEBHOOKS, MANAGE_WEBHOOKS), or an
organization key with webhooks:read or webhooks:write; members and reporters are refused, and a hook of an
organization the caller is not in is not found. The admin commands (core/admin.py) add hooks through
`add_webhook` as well, so a hook is checked the same way whoever makes it.
"""

from __future__ import annotations

import secrets

from tickets_mcp.core.access import Access, Action, Roles, Tier
from tickets_mcp.core.backend import WebhookDraft
from tickets_mcp.core.names import Names
from tickets_mcp.core.tracker import Principal
from tickets_mcp.domain.text import clean_name
from tickets_mcp.domain.webhooks import (
    DESCRIPTION_MAX,
    SECRET_PREFIX,
    IssuedWebhook,
    Targets,
    Webhook,
    WebhookAttempt,
    attempts_shown,
    check_url,
    parse_event_types,
)
from tickets_mcp.errors import Invalid, NotFound, PermissionDenied
from tickets_mcp.stores import Actor, NewWebhook, Store


def new_secret() -> str:
    """256 random bits, as text a receiver pastes into its configuration."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


async def add_webhook(
    store: Store, organization_id: str, draft: WebhookDraft, targets: Targets, actor: Actor
) -> IssuedWebhook:
    """Check a hook and make it, with a new secret; for LocalWebhooks and the admin commands alike."""
    url = check_url(draft.url, targets)
    events = parse_event_types(draft.events)
    if len(draft.description.strip()) > DESCRIPTION_MAX:  # checked as sent: never cut without saying so
        raise Invalid("description", f"A webhook's description is at most {DESCRIPTION_MAX} characters.")
    description = clean_name(draft.description, DESCRIPTION_MAX)
    secret = new_secret()
    webhook = await store.create_webhook(NewWebhook(organization_id, url, secret, events, description), actor)
    return IssuedWebhook(secret=secret, webhook=webhook)


def missing(webhook_id: int) -> NotFound:
    return NotFound(f"No webhook {webhook_id}.", hint="List the webhooks you manage to see their ids.")


class LocalWebhooks:
    """The Webhooks protocol over a Store, acting for one principal for one call."""

    def __init__(self, store: Store, principal: Principal, tier: Tier, targets: Targets) -> None:
        self._store = store
        self._access = Access(principal, tier)
        self._names = Names(store, self._access)
        self._targets = targets
        client = clean_name(principal.client) if principal.client else None
        self._actor = Actor(user_id=principal.user_id, token_id=principal.token_id, client=client or None)

    async def add_webhook(self, draft: WebhookDraft) -> IssuedWebhook:
        roles = await self._names.roles()
        organizations = await self._names.organizations(draft.organization)
        if len(organizations) != 1:
            raise Invalid(
                "organization",
                "You belong to several organizations; say which one the webhook is for.",
                hint="Pass organization as one of: " + ", ".join(o.slug for o in organizations) + ".",
            )
        self._access.authorize(roles, organizations[0].id, Action.MANAGE_WEBHOOKS)
        return await add_webhook(self._store, organizations[0].id, draft, self._targets, self._actor)

    async def list_webhooks(self, organization: str | None = None) -> list[Webhook]:
        roles = await self._names.roles()
        organizations = await self._names.organizations(organization)
        refusals = [self._access.refusal(roles, org.id, Action.SEE_WEBHOOKS) for org in organizations]
        allowed = [org.id for org, refusal in zip(organizations, refusals, strict=True) if refusal is None]
        if not allowed:  # named, or anywhere: say why rather than answer an empty list
            raise next(r for r in refusals if r is not None) if organizations else _no_organization()
        return await self._store.list_webhooks(allowed)

    async def remove_webhook(self, webhook_id: int) -> Webhook:
        self._access.allow_deletion("remove webhooks")
        await self._hook(webhook_id, Action.MANAGE_WEBHOOKS)
        return await self._store.delete_webhook(webhook_id, self._actor)

    async def enable_webhook(self, webhook_id: int) -> Webhook:
        await self._hook(webhook_id, Action.MANAGE_WEBHOOKS)
        return await self._store.enable_webhook(webhook_id, self._actor)

    async def webhook_log(self, webhook_id: int, limit: int = 20) -> list[WebhookAttempt]:
        attempts_shown(limit)
        await self._hook(webhook_id, Action.SEE_WEBHOOKS)
        return await self._store.webhook_attempts(webhook_id, limit)

    async def _hook(self, webhook_id: int, action: Action) -> Webhook:
        """The hook, if the caller may `action` it; a hook of an organization it is not in is not found."""
        roles: Roles = await self._names.roles()
        found = await self._store.find_webhook(webhook_id) if 0 < webhook_id < 2**63 else None
        if found is None or found.organization_id not in roles:
            raise missing(webhook_id)
        self._access.authorize(roles, found.organization_id, action)
        return found


def _no_organization() -> PermissionDenied:
    return PermissionDenied("You belong to no organization.", hint="Ask an organization owner to add you.")
