"""What an agent learns about projects before filing: their descriptions (cut when long) in the workspace
context and list_projects, each project's labels by use, and a reply that names a label it just created.
Driven through the real server over stdio."""

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


async def test_workspace_shows_each_projects_labels_most_used_first_and_caps_them(
    server_env: dict[str, str],
) -> None:
    many = [f"l{n:02d}" for n in range(1, 18)]
    async with spawned(server_env) as client:
        await call(client, "create_project", name="Web")
        await call(client, "create_ticket", title="Checkout button misaligned", project="WEB", labels=["ui", "bug"])
        await call(client, "create_ticket", title="Cart total rounds wrong", project="WEB", labels=["ui"])
        await call(client, "create_ticket", title="Login form", project="WEB", labels=["ui", "a11y"], status="done")
        await call(client, "create_ticket", title="Many labels", project="INBOX", labels=many)
        await call(client, "create_ticket", title="Some of them again", project="INBOX", labels=["l17", "l16"])
        lines = (await call(client, "get_workspace_context")).splitlines()
    web = lines.index(project_line("\n".join(lines), "WEB"))
    assert lines[web + 1] == "    labels: ui(3),a11y(1),bug(1)"  # closed tickets count too
    inbox = lines.index(project_line("\n".join(lines), "INBOX"))
    assert lines[inbox + 1] == "    labels: l16(2),l17(2)," + ",".join(f"{n}(1)" for n in many[:13]) + " +2 more"


async def test_a_reply_names_labels_new_to_the_project_and_says_nothing_of_known_ones(
    server_env: dict[str, str],
) -> None:
    async with spawned(server_env, "--tools", "all") as client:
        await call(client, "create_project", name="Web")
        first = await call(
            client, "create_ticket", title="Checkout test fails", project="WEB", labels=["flaky", "ui", "css"]
        )
        known = await call(client, "create_ticket", title="Cart is slow", project="WEB", labels=["UI"])
        typo = await call(client, "create_ticket", title="Login test fails", project="WEB", labels=["flakey"])
        updated = await call(client, "update_ticket", slug="WEB-2", labels=["ui", "perf"])
        same = await call(client, "update_ticket", slug="WEB-2", labels=["perf"])
        batch = await call(
            client,
            "create_tickets",
            tickets=[
                {"title": "One", "project": "INBOX", "labels": ["docs"]},
                {"title": "Two", "project": "WEB", "labels": ["ui", "a11y"]},
            ],
        )
    assert first == "Created WEB-1 (backlog, version 1). New labels: flaky, ui, css (the project had none)."
    assert known == "Created WEB-2 (backlog, version 1)."
    assert typo == (  # "test fails" as in WEB-1: named as similar
        "Created WEB-3 (backlog, version 1). New label: flakey (the project had: flaky, ui, css). Similar open: WEB-1."
    )
    assert updated == "Updated WEB-2 (backlog, version 2). New label: perf (the project had: ui, css, flakey, flaky)."
    assert same == "Updated WEB-2 (backlog, version 3)."
    assert batch == (
        "Filed 2 tickets in one transaction: items 1-2 → INBOX-1, WEB-4. "
        "New label in INBOX: docs (it had none). New label in WEB: a11y (it had: ui, css, flakey, flaky, +1 more)."
    )
