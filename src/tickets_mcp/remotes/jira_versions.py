"""A Jira project's versions as milestones, looked up by name (docs/jira.md has the table).

A milestone is a version of the issue's project; an issue's milestone is its first fix version. Setting
one sends `fixVersions` with that version alone; "none" sends none. Released versions are closed ones,
which take no more issues here (Jira itself would take them). The milestone filter is JQL:
`fixVersion = "id"`, or `fixVersion is EMPTY`.
"""

from __future__ import annotations

from tickets_mcp.domain import rules
from tickets_mcp.errors import Invalid, NotFound
from tickets_mcp.remotes.client import RemoteClient
from tickets_mcp.remotes.jira_mapping import BACKEND, quote
from tickets_mcp.remotes.jira_site import API
from tickets_mcp.remotes.mapping import parse
from tickets_mcp.remotes.planning import clears
from tickets_mcp.wire.jira import JiraProject, JiraVersion, Versions


async def versions_of(client: RemoteClient, project: JiraProject) -> list[JiraVersion]:
    """All of the project's versions, in Jira's own order (one request)."""
    reply = await client.request("GET", API + f"project/{project.key}/versions")
    return parse(Versions, reply.body, BACKEND, "a list of versions").root


def find(versions: list[JiraVersion], name: str) -> JiraVersion | None:
    wanted = " ".join(name.split()).casefold()
    return next((v for v in versions if " ".join(v.name.split()).casefold() == wanted), None)


async def version_named(
    client: RemoteClient, project: JiraProject, name: str, *, open_only: bool = False
) -> JiraVersion:
    versions = await versions_of(client, project)
    found = find(versions, name)
    if found is None:
        names = [v.name for v in versions if not v.released and not v.archived]
        raise NotFound(
            f"No milestone {name!r} in {project.key} on Jira.",
            hint=rules.suggestion(name, names, "milestone", "list_milestones"),
        )
    if open_only and (found.released or found.archived):
        raise Invalid(
            "milestone",
            f"Milestone {found.name!r} is closed (released in Jira).",
            hint="Reopen it with save_milestone (closed=false), or choose an open one.",
        )
    return found


async def fix_versions(client: RemoteClient, project: JiraProject, milestone: str | None) -> dict[str, object]:
    """The `fixVersions` field to send for a ticket's milestone (None: leave it, "none": clear it)."""
    if milestone is None:
        return {}
    if clears(milestone):
        return {"fixVersions": []}
    return {"fixVersions": [{"id": (await version_named(client, project, milestone, open_only=True)).id}]}


async def milestone_clause(client: RemoteClient, project: JiraProject | None, milestone: str) -> str:
    """JQL for the milestone filter: the issues of one version of `project`, or those of none."""
    if clears(milestone):
        return "fixVersion is EMPTY"
    if project is None:
        raise Invalid("milestone", "Jira's milestones (versions) belong to a project.", hint="Pass project too.")
    return f"fixVersion = {quote((await version_named(client, project, milestone)).id)}"
