"""Administration from the command line: users, organizations, memberships and tokens.

Whoever can run these against the database file has its full power, so they act without a
Principal; the audit trail records them as done by the command line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tickets_mcp.core import local_webhooks
from tickets_mcp.core.backend import WebhookDraft
from tickets_mcp.core.tokens import IssuedToken, issue_token
from tickets_mcp.domain import KEY_GRANTOR, Organization, Project, Role, Scope, Token, TokenKind, User, rules
from tickets_mcp.domain.text import clean_name
from tickets_mcp.domain.webhooks import IssuedWebhook, Targets, Webhook, describe
from tickets_mcp.errors import Invalid, NotFound
from tickets_mcp.stores import Actor, Store

CLI = Actor(user_id=None, client="tickets-mcp cli")
USERNAME = r"[A-Za-z0-9._-]{1,40}"


async def add_user(store: Store, username: str, name: str | None = None) -> User:
    if not re.fullmatch(USERNAME, username):
        raise Invalid("username", f"{username!r} is not a valid username.", hint="Use 1-40 letters, digits, . _ -")
    return await store.ensure_user(username, clean_name(name or "") or username)


async def user(store: Store, username: str) -> User:
    found = await store.find_user(username)
    if found is None:
        raise NotFound(f"No user {username!r}.", hint=f"Add one with: tickets-mcp user add {username}")
    return found


async def organization(store: Store, reference: str) -> Organization:
    organizations = await store.all_organizations()
    found = rules.pick(
        reference, organizations, lambda o: o.slug, lambda o: o.id, lambda o: o.name,
        field="organization", describe=lambda o: o.slug,
    )  # fmt: skip
    if found is None:
        raise NotFound(
            f"No organization {reference!r}.",
            hint=rules.suggestion(reference, [o.slug for o in organizations], "organizations"),
        )
    return found


async def project(store: Store, reference: str, within: Organization | None = None) -> Project:
    named, code = rules.split_organization(reference)  # acme:WEB, as the refusal of WEB alone suggests
    if named is not None:
        chosen = await organization(store, named)
        if within is not None and chosen.id != within.id:
            raise Invalid("project", f"{reference!r} is not in {within.slug}.", hint="Name one organization.")
        within = chosen
    organizations = [within] if within else await store.all_organizations()
    slugs = {o.id: o.slug for o in organizations}
    projects = await store.list_projects([o.id for o in organizations], counts=False)
    found = rules.pick(
        code, projects, lambda p: p.code, lambda p: p.id, lambda p: str(p.number), lambda p: p.name,
        field="project", describe=lambda p: f"{rules.in_organization(slugs[p.organization_id], p.code)} ({p.name})",
    )  # fmt: skip
    if found is None:
        raise NotFound(
            f"No project {reference!r}.", hint=rules.suggestion(reference, [p.code for p in projects], "projects")
        )
    return found


async def add_organization(store: Store, name: str, owner: str) -> Organization:
    label = clean_name(name)  # shown to models and terminals: one line, no control characters
    if not label:
        raise Invalid("name", "An organization needs a name.", hint='tickets-mcp org add "Acme Inc" --owner NAME')
    return await store.create_organization(label, await user(store, owner), CLI)


async def set_member(store: Store, organization_ref: str, username: str, role: Role) -> None:
    org = await organization(store, organization_ref)
    await store.set_member(org.id, await user(store, username), role, CLI)


async def remove_member(store: Store, organization_ref: str, username: str) -> None:
    org = await organization(store, organization_ref)
    await store.remove_member(org.id, await user(store, username), CLI)


async def set_default_project(store: Store, organization_ref: str, project_ref: str) -> Project:
    """Where the organization's tickets go when filed without a project (an owner's choice, as here)."""
    org = await organization(store, organization_ref)
    chosen = await project(store, project_ref, within=org)
    await store.set_default_project(chosen, CLI)
    return chosen


def parse_scopes(text: str) -> frozenset[Scope]:
    scopes: set[Scope] = set()
    for part in (p.strip() for p in text.split(",") if p.strip()):
        try:
            scopes.add(Scope(part))
        except ValueError:
            valid = ", ".join(s.value for s in Scope)
            raise Invalid("scopes", f"Unknown scope {part!r}.", hint=f"Valid scopes: {valid}.") from None
    return frozenset(scopes)


async def create_token(
    store: Store,
    *,
    kind: TokenKind,
    username: str,
    name: str,
    organization_ref: str | None = None,
    project_ref: str | None = None,
    scopes: str = "",
) -> IssuedToken:
    label = clean_name(name)
    if not label:
        raise Invalid("name", "A token's name needs a visible character.", hint="e.g. --name laptop")
    owner = await user(store, username)
    org = await organization(store, organization_ref) if organization_ref else None
    target_project = await project(store, project_ref, within=org) if project_ref else None
    if kind is TokenKind.ORGANIZATION and org is None:
        raise Invalid("organization", "An organization key needs --organization.")
    if kind is TokenKind.PROJECT and target_project is None:
        raise Invalid("project", "A project token needs --project.")
    if org is not None or target_project is not None:
        org_id = target_project.organization_id if target_project else org.id if org else ""
        roles = await store.memberships(owner.id)
        if org_id not in roles or not roles[org_id].may_act_as(KEY_GRANTOR):
            raise Invalid(
                "user", f"{owner.username} must be an owner or admin of the organization to create this token."
            )
    return await issue_token(
        store,
        kind=kind,
        name=label,
        user=owner,
        actor=Actor(user_id=owner.id, client=CLI.client),
        organization_id=org.id if org else None,
        project=target_project,
        scopes=parse_scopes(scopes),
    )


def describe_tokens(tokens: Sequence[Token]) -> list[str]:
    lines: list[str] = []
    for token in tokens:
        state = f"last used {token.last_used_at or 'never'}"
        if token.revoked_at:
            state = f"revoked {token.revoked_at}"
        elif reason := token.ungranted_reason:
            state = f"inactive: {reason}; {state}"
        scope = f" scopes={','.join(sorted(token.scopes))}" if token.scopes else ""
        lines.append(
            f"{token.id}\t{token.prefix}…\t{token.kind.name.lower()}\t{clean_name(token.name)}\tuser={token.user}{scope}\t{state}"
        )
    return lines


async def add_webhook(
    store: Store, organization_ref: str, url: str, events: str, description: str, targets: Targets
) -> IssuedWebhook:
    """A hook for the organization, checked as one made over REST is (`--webhook-allow-network` included)."""
    org = await organization(store, organization_ref)
    draft = WebhookDraft(url=url, events=events.split(","), description=description)
    return await local_webhooks.add_webhook(store, org.id, draft, targets, CLI)


async def webhook(store: Store, webhook_id: int) -> Webhook:
    found = await store.find_webhook(webhook_id) if 0 < webhook_id < 2**63 else None
    if found is None:
        raise local_webhooks.missing(webhook_id)
    return found


def describe_webhooks(webhooks: Sequence[Webhook]) -> list[str]:
    lines: list[str] = []
    for hook in webhooks:
        if hook.disabled_at:
            state = f"disabled {hook.disabled_at}: {hook.disabled_reason}"
        elif hook.failures:
            state = f"failing ({hook.failures} in a row), next try {hook.retry_at}"
        else:
            state = "active"
        label = f"\t{clean_name(hook.description)}" if hook.description else ""
        lines.append(
            f"{hook.id}\t{hook.organization}\t{hook.url}\tevents={describe(hook.events)}\t"
            f"secret={hook.secret_hint}\tpending={hook.pending}\t{state}{label}"
        )
    return lines
