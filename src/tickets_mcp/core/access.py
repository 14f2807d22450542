"""Who may do what: the actions a caller asks for, the role and token scope each needs, and the server's
tier above them all. `Access.refusal` is the one place that decides, for every front end alike.

The tier is here rather than with the MCP front end's tool sets (mcp/exposure.py) because it binds every
front end: a tool hidden by it is never listed, and a REST or board change it forbids is refused with 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import TYPE_CHECKING, Final

from tickets_mcp.domain import Role, Scope
from tickets_mcp.errors import Invalid, PermissionDenied

if TYPE_CHECKING:  # tracker.py names Action in the Tracker protocol, so this module only annotates with it
    from tickets_mcp.core.tracker import Principal

ENV_TIER: Final = "TICKETS_TIER"


class Tier(IntEnum):
    """How much a caller may change; each tier allows what the ones below it do."""

    READ_ONLY = 1
    NO_DELETE = 2
    FULL = 3

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")

    @classmethod
    def parse(cls, text: str, source: str) -> Tier:
        for tier in cls:
            if tier.label == text.strip().lower():
                return tier
        raise Invalid("tier", f"Unknown tier {text.strip()!r} in {source}.", hint=f"Use one of: {TIER_LABELS}.")


TIER_LABELS: Final = ", ".join(tier.label for tier in Tier)


class TierRefusal(PermissionDenied):
    """The server's tier forbids a change, whoever asks (a role's refusal is a plain PermissionDenied)."""


def tier_refusal(tier: Tier, needs: Tier, change: str) -> PermissionDenied | None:
    """None when a server at `tier` allows `change` ("delete tickets"), else the refusal naming the setting."""
    if tier >= needs:
        return None
    return TierRefusal(
        f"This server runs with tier {tier.label} (--tier or {ENV_TIER}), which lets nobody {change}.",
        hint=f"Its operator can serve with tier {needs.label} or higher.",
    )


class Action(Enum):
    """What a caller wants to do. `MINIMUM_ROLE` says which role may, `SCOPES` which token scopes do."""

    BROWSE = "see projects"
    READ = "read tickets"
    FILE = "file tickets"
    COMMENT = "comment"
    EDIT = "change tickets"
    MANAGE = "manage projects"
    CHOOSE_DEFAULT = "choose the default project"  # an organization-wide setting: where unplaced tickets go
    SEE_WEBHOOKS = "see webhooks"
    MANAGE_WEBHOOKS = "manage webhooks"  # a hook is sent every ticket event of the organization


MINIMUM_ROLE = {
    Action.BROWSE: Role.REPORTER,
    Action.READ: Role.REPORTER,
    Action.FILE: Role.REPORTER,
    Action.COMMENT: Role.REPORTER,
    Action.EDIT: Role.MEMBER,
    Action.MANAGE: Role.ADMIN,
    Action.CHOOSE_DEFAULT: Role.OWNER,
    Action.SEE_WEBHOOKS: Role.ADMIN,
    Action.MANAGE_WEBHOOKS: Role.ADMIN,
}
# Any one of these scopes allows the action (scopes are expanded first: write implies read).
SCOPES = {
    Action.BROWSE: {Scope.PROJECTS_READ, Scope.TICKETS_READ},
    Action.READ: {Scope.TICKETS_READ},
    Action.FILE: {Scope.TICKETS_WRITE},
    Action.COMMENT: {Scope.TICKETS_WRITE},
    Action.EDIT: {Scope.TICKETS_WRITE},
    Action.MANAGE: {Scope.PROJECTS_WRITE},
    Action.CHOOSE_DEFAULT: {Scope.PROJECTS_WRITE},
    Action.SEE_WEBHOOKS: {Scope.WEBHOOKS_READ},
    Action.MANAGE_WEBHOOKS: {Scope.WEBHOOKS_WRITE},
}
# Refused below tier no-delete.
CHANGES = frozenset(
    {Action.FILE, Action.COMMENT, Action.EDIT, Action.MANAGE, Action.CHOOSE_DEFAULT, Action.MANAGE_WEBHOOKS}
)

Roles = dict[str, Role]
"""The caller's role in each of its organizations, by organization id."""


@dataclass(frozen=True, slots=True)
class Access:
    """One caller's permissions on a server running at `tier` (its --tier bounds every front end, whatever
    the caller's role)."""

    principal: Principal
    tier: Tier = Tier.FULL

    def refusal(
        self, roles: Roles, organization_id: str, action: Action, project_id: str | None = None
    ) -> PermissionDenied | None:
        """The one place that decides: None when allowed, else the refusal naming what is missing."""
        if action in CHANGES and (refusal := tier_refusal(self.tier, Tier.NO_DELETE, action.value)) is not None:
            return refusal
        principal = self.principal
        if principal.project_id is not None and (action is not Action.FILE or project_id != principal.project_id):
            return PermissionDenied(
                f"A project token may only file tickets in its own project, not {action.value} here.",
                hint="Use a personal token (pk_) or an organization key (amk_) for this.",
            )
        if principal.scopes is not None and not Scope.expand(principal.scopes) & SCOPES[action]:
            needed = " or ".join(sorted(SCOPES[action]))
            if principal.organization_id is None:  # an OAuth grant: its person allowed less
                return PermissionDenied(
                    f"This app was allowed less than it needs to {action.value} (needs {needed}).",
                    hint=f"Sign in again from the app and allow {needed} on the consent page.",
                )
            return PermissionDenied(
                f"This key lacks the scope to {action.value} (needs {needed}).",
                hint="Create a key with that scope: tickets-mcp token create --kind organization --scopes ...",
            )
        role, needed = roles.get(organization_id), MINIMUM_ROLE[action]
        if role is None or not role.may_act_as(needed):
            asked = "an organization owner" if needed is Role.OWNER else "an organization owner or admin"
            if principal.organization_id is not None:  # a key acts as an admin but has no role of its own
                return PermissionDenied(
                    f"An organization key may not {action.value}.",
                    hint=f"{asked.capitalize()} does it with their own token.",
                )
            return PermissionDenied(
                f"Your role ({role.value if role else 'none'}) may not {action.value} here.", hint=f"Ask {asked}."
            )
        return None

    def authorize(self, roles: Roles, organization_id: str, action: Action, project_id: str | None = None) -> None:
        refusal = self.refusal(roles, organization_id, action, project_id)
        if refusal is not None:
            raise refusal

    def allow_deletion(self, change: str) -> None:
        refusal = tier_refusal(self.tier, Tier.FULL, change)
        if refusal is not None:
            raise refusal

    def permitted(self, roles: Roles, organization_ids: list[str], project_id: str | None) -> frozenset[Action]:
        """The actions allowed in at least one of these organizations (for `project_id`, if given)."""
        return frozenset(
            action
            for action in Action
            if any(self.refusal(roles, org, action, project_id) is None for org in organization_ids)
        )
