"""Which tools a server shows: a safety tier and tool sets, from flags or environment, narrowed per request.

    tickets-mcp --tier read-only                 # no tool that changes anything
    TICKETS_TIER=no-delete TICKETS_TOOLS=tickets,comments tickets-mcp

A tool outside the exposure is not listed, and a call to it anyway is refused, naming the setting.
Over HTTP a request may send `X-Tracker-Tier` and `X-Tracker-Tools` to see less (an agent that should
only read, a client with a small context window); what it asks for is intersected with the server's, so
a header never shows a tool the server hides. Tiers work above permissions: a token still sees only
the tools its role and scopes allow. The server's tier binds the REST API and the board as well: there a
change it does not allow is refused with 403 (see core/access.py, where the tier is defined).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from tickets_mcp.core.access import ENV_TIER, Tier
from tickets_mcp.environment import env
from tickets_mcp.errors import Invalid

ENV_TOOLS: Final = "TICKETS_TOOLS"
TIER_HEADER: Final = "x-tracker-tier"
TOOLS_HEADER: Final = "x-tracker-tools"


# Every tool but get_workspace_context (the map of the rest, always shown) is in one set.
TOOLSETS: Final[Mapping[str, frozenset[str]]] = {
    "projects": frozenset(
        {"list_organizations", "list_projects", "create_project", "update_project", "delete_project"}
    ),
    "tickets": frozenset({"list_tickets", "get_ticket", "create_ticket", "update_ticket", "delete_ticket"}),
    "board": frozenset({"get_board", "move_ticket"}),
    "comments": frozenset({"add_comment"}),
    "bulk": frozenset({"create_tickets", "move_tickets"}),
}
DEFAULT_TOOLSETS: Final = frozenset(TOOLSETS) - {"bulk"}  # `all` adds bulk filing
ALWAYS: Final = frozenset({"get_workspace_context"})
TOOL_NAMES: Final = ALWAYS.union(*TOOLSETS.values())
# The lowest tier that shows each tool that changes something; every other tool reads only.
NEEDS_TIER: Final[Mapping[str, Tier]] = {
    "create_project": Tier.NO_DELETE,
    "update_project": Tier.NO_DELETE,
    "create_ticket": Tier.NO_DELETE,
    "update_ticket": Tier.NO_DELETE,
    "move_ticket": Tier.NO_DELETE,
    "add_comment": Tier.NO_DELETE,
    "create_tickets": Tier.NO_DELETE,
    "move_tickets": Tier.NO_DELETE,
    "delete_project": Tier.FULL,
    "delete_ticket": Tier.FULL,
}


def parse_toolsets(text: str, source: str) -> frozenset[str]:
    """`tickets,comments` (or `all`, every set) as set names; an unknown name is refused with the valid ones."""
    names = {name.strip().lower() for name in text.split(",") if name.strip()}
    if not names:
        return DEFAULT_TOOLSETS
    if names == {"all"}:
        return frozenset(TOOLSETS)
    unknown = sorted(names - set(TOOLSETS))
    if unknown:
        raise Invalid(
            "tools", f"Unknown tool set {', '.join(map(repr, unknown))} in {source}.",
            hint=f"Use all or some of: {', '.join(TOOLSETS)}.",
        )  # fmt: skip
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class Exposure:
    tier: Tier = Tier.FULL
    toolsets: frozenset[str] = DEFAULT_TOOLSETS
    source: str = ""  # what chose it, for the refusal's message ("": the defaults)

    @classmethod
    def from_env(cls, tier: str | None = None, tools: str | None = None) -> Exposure:
        """Flags win over TICKETS_TIER and TICKETS_TOOLS; unset means every tool."""
        tier_text = tier or env(ENV_TIER) or ""
        tools_text = tools or env(ENV_TOOLS) or ""
        if not tier_text and not tools_text:
            return cls()
        chosen = Tier.parse(tier_text, f"--tier or {ENV_TIER}") if tier_text else Tier.FULL
        toolsets = parse_toolsets(tools_text, f"--tools or {ENV_TOOLS}")
        return cls(chosen, toolsets, f"this server runs with {_describe(chosen, toolsets)}")

    def allows(self, tool: str) -> bool:
        if tool in ALWAYS:
            return True
        if self.tier < NEEDS_TIER.get(tool, Tier.READ_ONLY):
            return False
        return any(tool in TOOLSETS[name] for name in self.toolsets)

    def narrowed(self, headers: Mapping[str, str]) -> Exposure:
        """What a request's headers ask for, within this exposure (never beyond it)."""
        tier_text, tools_text = headers.get(TIER_HEADER, "").strip(), headers.get(TOOLS_HEADER, "").strip()
        if not tier_text and not tools_text:
            return self
        tier = min(self.tier, Tier.parse(tier_text, "X-Tracker-Tier")) if tier_text else self.tier
        toolsets = self.toolsets & parse_toolsets(tools_text, "X-Tracker-Tools") if tools_text else self.toolsets
        if (tier, toolsets) == (self.tier, self.toolsets):
            return self
        return Exposure(tier, toolsets, f"with this request's X-Tracker-* headers, {_describe(tier, toolsets)}")

    def refusal(self, tool: str) -> Invalid:
        source = self.source or f"this server runs with {_describe(self.tier, self.toolsets)}"
        return Invalid("name", f"{tool} is not available: {source}.", hint="tools/list shows what you have.")


def _describe(tier: Tier, toolsets: frozenset[str]) -> str:
    return f"tier {tier.label} and tool sets {','.join(sorted(toolsets)) or 'none'}"
