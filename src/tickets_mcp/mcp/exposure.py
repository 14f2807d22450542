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
from functools import cache
from typing import TYPE_CHECKING, Final, Literal, get_args

from tickets_mcp.core.access import ENV_TIER, Tier
from tickets_mcp.environment import env
from tickets_mcp.errors import Invalid

if TYPE_CHECKING:
    from tickets_mcp.mcp.tools import ToolRow

ENV_TOOLS: Final = "TICKETS_TOOLS"
TIER_HEADER: Final = "x-tracker-tier"
TOOLS_HEADER: Final = "x-tracker-tools"


Toolset = Literal["projects", "tickets", "board", "comments", "bulk"]
"""The tool sets, by name; which tools each holds is in the tool table (tools/__init__.py)."""
TOOLSET_NAMES: Final[tuple[Toolset, ...]] = get_args(Toolset)
DEFAULT_TOOLSETS: Final = frozenset[str](TOOLSET_NAMES) - {"bulk"}  # `all` adds bulk filing


def parse_toolsets(text: str, source: str) -> frozenset[str]:
    """`tickets,comments` (or `all`, every set) as set names; an unknown name is refused with the valid ones."""
    names = {name.strip().lower() for name in text.split(",") if name.strip()}
    if not names:
        return DEFAULT_TOOLSETS
    if names == {"all"}:
        return frozenset(TOOLSET_NAMES)
    unknown = sorted(names - set(TOOLSET_NAMES))
    if unknown:
        raise Invalid(
            "tools", f"Unknown tool set {', '.join(map(repr, unknown))} in {source}.",
            hint=f"Use all or some of: {', '.join(TOOLSET_NAMES)}.",
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
        """Whether a tool of this name is shown: always for one of no set, else for one whose tier and set
        this exposure includes; never for a name that is no tool."""
        found = _tools().get(tool)
        if found is None:
            return False
        if found.toolset is None:
            return True
        return self.tier >= found.tier and found.toolset in self.toolsets

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


@cache
def _tools() -> Mapping[str, ToolRow]:
    """The tool table, read on first use: it loads the MCP SDK, which settings (config.py imports this
    module to read --tools) and the REST front end never need."""
    from tickets_mcp.mcp.tools import TOOLS_BY_NAME

    return TOOLS_BY_NAME


def _describe(tier: Tier, toolsets: frozenset[str]) -> str:
    return f"tier {tier.label} and tool sets {','.join(sorted(toolsets)) or 'none'}"
