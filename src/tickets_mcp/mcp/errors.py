"""How a failure reaches an MCP client: the one place that turns a tracker's refusal, a bad argument or a
name we do not have into a tool error (text the model reads and can act on) or a protocol error.

Tools raise TrackerErrors and the SDK wraps them in ToolError; `tool_error` unwraps them. Resources
and prompts have no tool-error channel, so their refusals become JSON-RPC errors (`resource_errors`,
`invalid_params`) carrying the tracker's own words, which the SDK would otherwise hide.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from contextlib import contextmanager

from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, TextContent
from pydantic import ValidationError

from tickets_mcp.domain import Ticket, rules
from tickets_mcp.errors import (
    AlreadyDeleted,
    BackendUnavailable,
    Conflict,
    LikelyDuplicate,
    NotFound,
    RateLimited,
    StaleVersion,
    TrackerError,
)
from tickets_mcp.mcp import render

# The JSON-RPC error of a request refused by the rate limit: EIP-1474's "limit exceeded", in the range
# MCP leaves to servers (-32000 to -32019; the SDK itself uses -32000 and -32001). data: {"retryAfter": s}.
RATE_LIMITED = -32005


class NothingThere(ResourceNotFoundError):
    """A resource URI that matches a template but names nothing the caller may see (a ticket not found).

    Any other ResourceNotFoundError is the SDK's: no template matches the URI at all.
    """


def error_result(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def tool_error(tool: str, cause: BaseException | None) -> CallToolResult | None:
    """The tool error for what made `tool` fail, or None when it is no refusal of ours (a bug: let it raise)."""
    if isinstance(cause, LikelyDuplicate):
        return error_result(render.likely_duplicate(cause))
    if isinstance(cause, AlreadyDeleted):
        return error_result(render.already_deleted(cause, already="") + " Deleted tickets keep their number.")
    if isinstance(cause, StaleVersion) and cause.changes:
        return error_result(render.changed_since(cause))
    if isinstance(cause, Conflict) and cause.current is not None and "slug" in cause.current:
        # A stale version: the ticket as it is now, so the agent can redo its change at once.
        now = render.ticket_line(Ticket.model_validate(cause.current))
        return error_result(f"{cause.message} Now: {now} (version {cause.current['version']}). {cause.hint}")
    if isinstance(cause, TrackerError):
        return error_result(str(cause))
    if isinstance(cause, ValidationError):
        return error_result(describe_validation_error(tool, cause))
    return None


def describe_validation_error(tool: str, error: ValidationError) -> str:
    """Pydantic's report without input echoes or links: field, problem, allowed values."""
    problems: list[str] = []
    for item in error.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in item["loc"]) or "arguments"
        message = item["msg"]
        if item["type"] == "missing":
            message = "required"
        problems.append(f"{field}: {message}")
    return f"Invalid arguments for {tool}: " + "; ".join(problems) + "."


def unknown_arguments_message(tool: str, unknown: list[str], allowed: frozenset[str]) -> str:
    parts: list[str] = []
    for argument in unknown:
        near = rules.closest(argument, allowed, 1, cutoff=0.75)
        parts.append(f"{argument!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
    valid = f"Valid: {', '.join(sorted(allowed))}." if allowed else f"{tool} takes no arguments."
    return f"Unknown argument for {tool}: {', '.join(parts)}. {valid}"


def unknown_tool_message(name: str, tools: Sequence[str]) -> str:
    """The tool error for a name no tool has: the closest of the caller's tools, else all of them."""
    shown = name if len(name) <= 64 else f"{name[:64]}…"
    near = rules.closest(name, tools)
    if near:
        return f"Unknown tool {shown}. Did you mean: {', '.join(near)}? tools/list shows what you have."
    return f"Unknown tool {shown}. Tools: {', '.join(sorted(tools)) or 'none'}."


def invalid_params(message: str | TrackerError) -> MCPError:
    """The caller's mistake outside a tool call (a prompt's arguments, an X-Tracker-* header) as invalid params."""
    return MCPError(INVALID_PARAMS, str(message))


def rate_limited(refusal: RateLimited) -> MCPError:
    """A request other than a tool call, over the caller's rate limit: RATE_LIMITED with the wait."""
    return MCPError(RATE_LIMITED, str(refusal), {"retryAfter": int(refusal.retry_after)})


@contextmanager
def resource_errors() -> Generator[None]:
    """A tracker's refusal as the resource error the client is shown (the SDK would hide its words): the
    caller's mistake (a malformed slug, a resource it may not read, one this backend lacks) as invalid
    params, a tracker that cannot answer as an internal error."""
    try:
        yield
    except NotFound as exc:
        raise NothingThere(str(exc)) from None
    except BackendUnavailable as exc:
        raise ResourceError(str(exc)) from None
    except TrackerError as exc:
        raise invalid_params(exc) from None
