"""`tickets-mcp doctor`: whether the tracker the flags name will work for an agent, in a few lines.

A remote tracker is opened as the stdio server opens it (its URL answers, its token is accepted), then
asked for the workspace: who the token acts as, the projects it sees, its role, and what the backend
cannot do. What is wrong is said in one line on stderr with exit status 2, as every failure of the
command line is: a URL where nothing answers, a token the tracker rejects, a token that sees no project.
The token itself is never printed.
"""

from __future__ import annotations

from tickets_mcp.config import Settings, mask_password
from tickets_mcp.domain import Workspace
from tickets_mcp.errors import PermissionDenied

CODES_SHOWN = 10


async def diagnose(settings: Settings) -> list[str]:
    """What works, a line each; raises the TrackerError that says what does not."""
    remote = settings.remote
    if remote is None:
        return [f"local store at {mask_password(str(settings.db))}: no remote to check (tickets-mcp info tells more)"]
    from tickets_mcp.remotes import open_remote

    tracker = await open_remote(remote)
    try:
        workspace = await tracker.workspace()
    finally:
        await tracker.aclose()
    return describe(remote.backend, mask_password(remote.url), workspace)


def describe(backend: str, url: str, workspace: Workspace) -> list[str]:
    user = workspace.user
    projects = [p for entry in workspace.organizations for p in entry.projects]
    if not projects:
        raise PermissionDenied(
            f"{backend} at {url} accepts the token as {user.username}, who sees no project.",
            hint="Give that user a role in a project, or use another user's token.",
        )
    codes = ", ".join(p.code for p in projects[:CODES_SHOWN]) + (" …" if len(projects) > CODES_SHOWN else "")
    roles = ", ".join(f"{entry.role.value} in {entry.organization.slug}" for entry in workspace.organizations)
    missing = sorted(capability.value for capability in workspace.missing)
    return [
        f"ok: {backend} at {url} answers and accepts the token as {user.username} ({user.name})",
        f"projects: {len(projects)} in {len(workspace.organizations)} organization(s): {codes}",
        f"role: {roles}",
        f"cannot: {'; '.join(missing)}" if missing else "cannot: nothing the tools ask",
    ]


def doctor(settings: Settings) -> int:
    import anyio

    for line in anyio.run(diagnose, settings):
        print(line)
    return 0
