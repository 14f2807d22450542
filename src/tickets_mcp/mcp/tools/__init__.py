"""The tools, as one table: each tool's function (its name, description and arguments are the contract),
the Action a caller needs for it, its hints to the client, and the tool set that shows it.

The server registers the table in its order, which is the order of tools/list (TrackerServer.add_tools);
the permission filter reads each tool's Action, and exposure.py its tier (from its hints) and tool set.
Adding a tool is one function in the module of its subject and one row here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from mcp.types import CallToolResult, ToolAnnotations

from tickets_mcp.core.access import Action, Tier
from tickets_mcp.mcp import board_app
from tickets_mcp.mcp.tools.board import get_board, move_ticket
from tickets_mcp.mcp.tools.bulk import create_tickets, move_tickets
from tickets_mcp.mcp.tools.files import attach_file, delete_attachment, read_attachment
from tickets_mcp.mcp.tools.planning import link_tickets, list_milestones, log_time, save_milestone
from tickets_mcp.mcp.tools.projects import (
    create_project,
    delete_project,
    get_workspace_context,
    list_organizations,
    list_projects,
    update_project,
)
from tickets_mcp.mcp.tools.session import enable_tools
from tickets_mcp.mcp.tools.tickets import (
    add_comment,
    create_ticket,
    delete_ticket,
    get_ticket,
    list_tickets,
    update_ticket,
)

if TYPE_CHECKING:  # exposure.py reads this table when asked about a tool, so the table only annotates with it
    from tickets_mcp.mcp.exposure import Toolset

# destructive and idempotent hints only mean something for tools that write, so read tools leave them out.
# A hint at its default (readOnlyHint false, idempotentHint false) is left out too: it costs tokens on
# every tools/list and tells a client nothing it does not already assume. openWorldHint is left at its
# default (true): in front of GitHub or Jira the tools do reach an open world, and on the local tracker
# no client treats the difference as a reason to ask the user.
READ = ToolAnnotations(read_only_hint=True)
CREATE = ToolAnnotations(destructive_hint=False)
EDIT = ToolAnnotations(destructive_hint=False, idempotent_hint=True)
DELETE = ToolAnnotations(destructive_hint=True, idempotent_hint=True)


@dataclass(frozen=True, slots=True)
class ToolRow:
    """One row of the table. `toolset` None: shown whatever the tool sets (the map of the rest)."""

    fn: Callable[..., Awaitable[CallToolResult]]
    action: Action  # LocalTracker refuses a call without it, and a token is not shown the tool
    annotations: ToolAnnotations
    toolset: Toolset | None
    # The tool's `_meta`: get_board's names its MCP App (board_app.py), shown only to clients with Apps.
    meta: Mapping[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.fn.__name__

    @property
    def tier(self) -> Tier:
        """The lowest tier that shows it, read from its hints so the two cannot disagree: a tool that only
        reads is shown at every tier, one that destroys only at full."""
        if self.annotations.read_only_hint:
            return Tier.READ_ONLY
        return Tier.FULL if self.annotations.destructive_hint else Tier.NO_DELETE


TOOLS: Final = (
    ToolRow(get_workspace_context, Action.BROWSE, READ, None),
    ToolRow(list_organizations, Action.BROWSE, READ, "projects"),
    ToolRow(list_projects, Action.BROWSE, READ, "projects"),
    ToolRow(create_project, Action.MANAGE, CREATE, "projects"),
    ToolRow(update_project, Action.MANAGE, EDIT, "projects"),
    ToolRow(delete_project, Action.MANAGE, DELETE, "projects"),
    ToolRow(list_tickets, Action.READ, READ, "tickets"),
    ToolRow(get_ticket, Action.READ, READ, "tickets"),
    ToolRow(create_ticket, Action.FILE, CREATE, "tickets"),
    ToolRow(update_ticket, Action.EDIT, EDIT, "tickets"),
    ToolRow(move_ticket, Action.EDIT, EDIT, "board"),
    ToolRow(delete_ticket, Action.EDIT, DELETE, "tickets"),
    ToolRow(get_board, Action.READ, READ, "board", board_app.TOOL_META),
    ToolRow(add_comment, Action.COMMENT, CREATE, "comments"),
    ToolRow(create_tickets, Action.FILE, CREATE, "bulk"),
    ToolRow(move_tickets, Action.EDIT, EDIT, "bulk"),
    ToolRow(link_tickets, Action.EDIT, EDIT, "planning"),
    ToolRow(list_milestones, Action.READ, READ, "planning"),
    ToolRow(save_milestone, Action.EDIT, EDIT, "planning"),
    ToolRow(log_time, Action.EDIT, CREATE, "planning"),
    ToolRow(attach_file, Action.COMMENT, CREATE, "files"),
    ToolRow(read_attachment, Action.READ, READ, "files"),
    ToolRow(delete_attachment, Action.COMMENT, DELETE, "files"),  # the uploader may delete their own (core)
    ToolRow(enable_tools, Action.BROWSE, READ, None),  # listed while a set is left to switch on
)
TOOLS_BY_NAME: Final[Mapping[str, ToolRow]] = {tool.name: tool for tool in TOOLS}
TOOL_ACTIONS: Final[Mapping[str, Action]] = {tool.name: tool.action for tool in TOOLS}
ALWAYS: Final = frozenset(tool.name for tool in TOOLS if tool.toolset is None)
# Arguments of a tool shown only while their set is listed: a tool of the default list takes them always (a call
# that sends one runs), but its schema carries them only once a session switches the set on, so the planning
# fields cost the default tools/list nothing.
SET_ARGUMENTS: Final[Mapping[str, Mapping[str, frozenset[str]]]] = {
    "projects": {"update_ticket": frozenset({"project"})},  # moving a ticket to another project
    "planning": {
        "list_tickets": frozenset({"milestone", "blocked", "blocking", "overdue", "due_before", "due_after"}),
        "create_ticket": frozenset({"due", "estimate", "milestone"}),
        "update_ticket": frozenset({"due", "estimate", "milestone"}),
        "get_board": frozenset({"milestone"}),
    },
}
TOOLSETS: Final[Mapping[str, frozenset[str]]] = {
    toolset: frozenset(tool.name for tool in TOOLS if tool.toolset == toolset)
    for toolset in {tool.toolset for tool in TOOLS if tool.toolset is not None}
}
