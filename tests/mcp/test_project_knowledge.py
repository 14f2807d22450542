"""What an agent learns about projects before filing: their descriptions (cut when long) in the workspace
context and list_projects. Driven through the real server over stdio."""

from __future__ import annotations

import pytest

from tests.fixtures.tool_calls import call, spawned

pytestmark = pytest.mark.anyio

LONG_FIRST_LINE = "Public REST API and webhooks for partners, " + "with versioning rules and deprecations " * 3


def project_line(reply: str, code: str) -> str:
    return next(line for line in reply.splitlines() if line.lstrip().removeprefix("project ").startswith(code + " "))


async def test_workspace_and_project_list_show_descriptions_on_one_line_cut_when_long(
    server_env: dict[str, str],
) -> None:
    async with spawned(server_env) as client:
        await call(client, "create_project", name="Web", description="The storefront:\nReact, checkout.")
        await call(client, "create_project", name="API", description=LONG_FIRST_LINE + "\nOwned by platform.")
        await call(client, "create_project", name="Docs")
        workspace = await call(client, "get_workspace_context")
        projects = await call(client, "list_projects")
    for reply in (workspace, projects):
        assert project_line(reply, "WEB").endswith(
            "open=0 total=0: <user-text>The storefront:</user-text> (cut from 32 characters)"
        )
        api = project_line(reply, "API")
        shown = api.split("<user-text>")[1].split("</user-text>")[0]
        assert LONG_FIRST_LINE.startswith(shown) and 80 <= len(shown) <= 100
        whole = len(LONG_FIRST_LINE + "\nOwned by platform.")
        assert api.endswith(f"</user-text> (cut from {whole} characters)")
        assert project_line(reply, "DOCS").endswith("open=0 total=0")  # no description, nothing added
        assert "<user-text>Default project for new tickets.</user-text>" in project_line(reply, "INBOX")
