"""Which tools a server shows: a safety tier and tool sets, from flags or environment, narrowed per request.

    tickets-mcp --tier read-only                 # no tool that changes anything
    TICKETS_TIER=no-delete TICKETS_TOOLS=tickets,comments tickets-mcp

By default the tickets, board and comments sets are listed, and the rest (projects, bulk) wait until a
session switches them on with enable_tools: every listed tool costs tokens on every turn, and most
sessions never create a project or file fifty tickets. Naming the sets with --tools lists exactly those
and lets a session switch on nothing more: the operator chose. A call to a tool a session could switch
on runs without switching it on, since it is within what the server offers.
A tool outside the exposure is not listed, and a call to it anyway is refused, naming the setting.
Over HTTP a request may send `X-Tracker-Tier` and `X-Tracker-Tools` to see less (an agent that should
only read, a client with a small context window); what it asks for is intersected with the server's, so
a header never shows a tool the server hides. Tiers work above permissions: a token still sees only
the tools its role and scopes allow. The server's tier binds the REST API and the board as well: there a
change it does not allow is refused with 403 (see core/access.py, where the tier is defined).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
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


Toolset = Literal["projects", "tickets", "board", "comments", "bulk", "planning", "files"]
"""The tool sets, by name; which tools each holds is in the tool table (tools/__init__.py)."""
TOOLSET_NAMES: Final[tuple[Toolset, ...]] = get_args(Toolset)
SWITCH: Final = "enable_tools"  # the tool that switches them on (tools/session.py)
ON_REQUEST: Final = frozenset[str]({"projects", "bulk", "planning", "files"})  # listed once a session switches them on
DEFAULT_TOOLSETS: Final = frozenset[str](TOOLSET_NAMES) - ON_REQUEST


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
    toolsets: frozenset[str] = DEFAULT_TOOLSETS  # listed
    switchable: frozenset[str] = ON_REQUEST  # not listed until a session switches them on
    source: str = ""  # what chose it, for the refusal's message ("": the defaults)

    @classmethod
    def from_env(cls, tier: str | None = None, tools: str | None = None) -> Exposure:
        """Flags win over TICKETS_TIER and TICKETS_TOOLS; unset means the default sets, the others on request."""
        tier_text = tier or env(ENV_TIER) or ""
        tools_text = tools or env(ENV_TOOLS) or ""
        if not tier_text and not tools_text:
            return cls()
        chosen = Tier.parse(tier_text, f"--tier or {ENV_TIER}") if tier_text else Tier.FULL
        if not tools_text:
            return cls(chosen, source=f"this server runs with tier {chosen.label}")
        toolsets = parse_toolsets(tools_text, f"--tools or {ENV_TOOLS}")
        return cls(chosen, toolsets, frozenset(), f"this server runs with {_describe(chosen, toolsets)}")

    def allows(self, tool: str) -> bool:
        """Whether a tool of this name is listed: always one of no set, else one whose tier and set this
        exposure includes; never a name that is no tool."""
        return self._has(tool, self.toolsets)

    def offers(self, tool: str) -> bool:
        """Whether a tool of this name may run: listed, or in a set a session could switch on."""
        return self._has(tool, self.toolsets | self.switchable)

    def _has(self, tool: str, toolsets: frozenset[str]) -> bool:
        found = _tools().get(tool)
        if found is None:
            return False
        if found.toolset is None:  # the map of the rest, and the switch while there is something to switch on
            return tool != SWITCH or bool(self.on_request())
        return self.tier >= found.tier and found.toolset in toolsets

    def switched_on(self, toolsets: frozenset[str]) -> Exposure:
        """This exposure after a session switched on `toolsets` (those it may; the rest stay off)."""
        added = toolsets & self.switchable
        if not added:
            return self
        return replace(self, toolsets=self.toolsets | added, switchable=self.switchable - added)

    def on_request(self) -> dict[str, list[str]]:
        """The sets a session could still switch on, each with the tools it would list at this tier."""
        offered = {
            toolset: [tool.name for tool in _tools().values() if tool.toolset == toolset and self.tier >= tool.tier]
            for toolset in sorted(self.switchable)
        }
        return {toolset: names for toolset, names in offered.items() if names}

    def narrowed(self, headers: Mapping[str, str]) -> Exposure:
        """What a request's headers ask for, within this exposure (never beyond it)."""
        tier_text, tools_text = headers.get(TIER_HEADER, "").strip(), headers.get(TOOLS_HEADER, "").strip()
        if not tier_text and not tools_text:
            return self
        tier = min(self.tier, Tier.parse(tier_text, "X-Tracker-Tier")) if tier_text else self.tier
        toolsets, switchable = self.toolsets, self.switchable
        if tools_text:  # what the request names, of all the server offers, and nothing left to switch on
            toolsets = (self.toolsets | self.switchable) & parse_toolsets(tools_text, "X-Tracker-Tools")
            switchable = frozenset[str]()
        if (tier, toolsets, switchable) == (self.tier, self.toolsets, self.switchable):
            return self
        source = f"with this request's X-Tracker-* headers, {_describe(tier, toolsets)}"
        return Exposure(tier, toolsets, switchable, source)

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
