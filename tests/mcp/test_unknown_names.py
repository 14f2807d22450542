"""A name the server does not have (a prompt, a resource, a tool) or a prompt called with the wrong arguments:
invalid params (-32602) naming what there is, or for a tool a tool error naming the closest tools, and never a
traceback in the log. In memory on both protocol eras, and over the real stdio process."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

from mcp import Client
from tests.fixtures.stdio_client import RawServer
from tests.fixtures.tool_calls import READ_TOOLS, TOOLS, call_error, connect
from tickets_mcp.cli.servers import stdio_server
from tickets_mcp.config import Settings
from tickets_mcp.core.access import Tier
from tickets_mcp.mcp.exposure import Exposure

TEMPLATES = (
    "tracker://tickets/{slug}, tracker://projects/{project}/board, tracker://projects/{project}/activity, "
    "tracker://tickets/{slug}/attachments/{id}"
)


@pytest.fixture(autouse=True)
def no_traceback_logged(caplog: pytest.LogCaptureFixture) -> Any:
    """Every test here fails if anything logged an exception: a client's wrong name is not the server's fault."""
    yield
    logged = [record for record in caplog.records if record.exc_info or "Traceback" in record.getMessage()]
    assert logged == [], [record.getMessage() for record in logged]


async def protocol_error(call: Any) -> tuple[int, str]:
    with pytest.raises(MCPError) as raised:
        await call
    return raised.value.error.code, raised.value.error.message


# Prompts


@pytest.mark.anyio
async def test_an_unknown_prompt_is_invalid_params_naming_the_prompts(client: Client) -> None:
    code, message = await protocol_error(client.get_prompt("file_a_bug", {"error": "boom"}))
    assert code == INVALID_PARAMS
    assert message == "Unknown prompt 'file_a_bug'. Prompts: file_bug, triage_board."


@pytest.mark.anyio
async def test_a_prompt_without_its_required_argument_is_invalid_params_naming_it(client: Client) -> None:
    code, message = await protocol_error(client.get_prompt("triage_board", {}))
    assert (code, message) == (INVALID_PARAMS, "Missing argument for triage_board: project.")


@pytest.mark.anyio
async def test_a_prompt_with_an_unknown_argument_is_invalid_params_naming_the_valid_ones(client: Client) -> None:
    code, message = await protocol_error(client.get_prompt("file_bug", {"error": "boom", "projet": "WEB"}))
    assert code == INVALID_PARAMS
    assert (
        message == "Unknown argument for file_bug: 'projet' (did you mean 'project'?). Valid: context, error, project."
    )


# Resources


@pytest.mark.anyio
@pytest.mark.parametrize("uri", ["tracker://nope", "tracker://tickets", "tracker://projects/WEB/timeline"])
async def test_an_unknown_resource_is_invalid_params_naming_the_templates(client: Client, uri: str) -> None:
    code, message = await protocol_error(client.read_resource(uri))
    assert (code, message) == (INVALID_PARAMS, f"Unknown resource {uri}. Resource templates: {TEMPLATES}.")


@pytest.mark.anyio
async def test_a_resource_of_a_ticket_that_does_not_exist_is_invalid_params_saying_so(client: Client) -> None:
    code, message = await protocol_error(client.read_resource("tracker://tickets/INBOX-99"))
    assert code == INVALID_PARAMS and message.startswith("Ticket INBOX-99 not found.")


@pytest.mark.anyio
async def test_a_malformed_slug_in_a_resource_is_invalid_params_saying_what_a_slug_is(client: Client) -> None:
    code, message = await protocol_error(client.read_resource("tracker://tickets/notaslug"))
    assert code == INVALID_PARAMS and "PROJECTCODE-NUMBER" in message


# Tools


@pytest.mark.anyio
async def test_an_unknown_tool_is_a_tool_error_naming_the_closest_tools(client: Client) -> None:
    error = await call_error(client, "get_tickets", slug="INBOX-1")
    assert error.startswith("Unknown tool get_tickets. Did you mean: ")
    assert "get_ticket" in error and "list_tickets" in error
    assert error.endswith(" tools/list shows what you have.")


@pytest.mark.anyio
async def test_an_unknown_tool_like_no_other_gets_the_list_of_tools(client: Client) -> None:
    error = await call_error(client, "frobnicate")
    assert error == f"Unknown tool frobnicate. Tools: {', '.join(sorted(TOOLS))}."


@pytest.mark.anyio
@pytest.mark.parametrize("store_kind", ["sqlite"])
async def test_an_unknown_tool_is_never_answered_with_a_tool_the_caller_cannot_see(settings: Settings) -> None:
    server = stdio_server(Settings(db=settings.db, username="alice", exposure=Exposure(Tier.READ_ONLY)))
    async with connect(server) as client:
        near = await call_error(client, "delete_tickets", slug="INBOX-1")
        far = await call_error(client, "frobnicate")
    suggested = near.removeprefix("Unknown tool delete_tickets. Did you mean: ").split("?")[0].split(", ")
    assert suggested and set(suggested) <= READ_TOOLS, near
    assert far == f"Unknown tool frobnicate. Tools: {', '.join(sorted(READ_TOOLS))}."


# The real process


@pytest.mark.slow
@pytest.mark.parametrize("era", ["2026-07-28", "2025-11-25"])
def test_over_stdio_wrong_names_are_answered_and_nothing_logs_a_traceback(server_env: dict[str, str], era: str) -> None:
    meta: dict[str, Any] = {}
    if era == "2026-07-28":
        meta = {"_meta": {
            "io.modelcontextprotocol/protocolVersion": era,
            "io.modelcontextprotocol/clientInfo": {"name": "raw-test", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {},
        }}  # fmt: skip
    with RawServer(server_env | {"TICKETS_LOG_LEVEL": "INFO"}) as server:
        if not meta:
            server.initialize()
        prompt = server.call("prompts/get", {"name": "nope", **meta})
        missing = server.call("prompts/get", {"name": "triage_board", "arguments": {}, **meta})
        resource = server.call("resources/read", {"uri": "tracker://nope", **meta})
        tool = server.call("tools/call", {"name": "get_tickets", "arguments": {}, **meta})
        assert server.close() == 0
        stderr = server.stderr
    assert prompt["error"] == {
        "code": INVALID_PARAMS,
        "message": "Unknown prompt 'nope'. Prompts: file_bug, triage_board.",
    }
    assert missing["error"]["code"] == INVALID_PARAMS
    assert resource["error"]["code"] == INVALID_PARAMS and TEMPLATES in resource["error"]["message"]
    assert tool["result"]["isError"] and "Did you mean: " in tool["result"]["content"][0]["text"]
    assert "Traceback" not in stderr, stderr
