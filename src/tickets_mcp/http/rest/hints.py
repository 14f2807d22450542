"""The Tracker's hints in the words of the REST dialect a request came in by.

The Tracker writes its hints for MCP, naming tools (`Check the slug with list_tickets`); a REST caller
has no tools, so each dialect names the request that does the same. Seeds 001 and 002 name projects by
number, so a list of projects in a hint gives each one's number there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import suppress

from fastapi import Request

from tickets_mcp.domain import Project
from tickets_mcp.errors import NotFound, TrackerError
from tickets_mcp.http.auth import tracker_of

# The request that lists tickets, by the path the caller used: (path pattern, request); first match wins.
TICKET_LISTS = (
    (re.compile(r"/api/v1/ext/orgs/(?P<org>[^/]+)/"), "GET /api/v1/ext/orgs/{org}/tickets"),
    (re.compile(r"/api/v1/mcp/organizations/(?P<org>[^/]+)/"), "GET /api/v1/mcp/organizations/{org}/tickets"),
    (re.compile(r"/api/v1/projects/(?P<project>[^/]+)/issues"), "GET /api/v1/projects/{project}/issues.json"),
    (re.compile(r"/api/v1/native/"), "GET /api/v1/native/tickets"),
)
# Seeds 001 (repository_id) and 002 (project_id) name projects by number.
BY_NUMBER = re.compile(r"/api/v1/(?:ext/orgs/|projects/[^/]+/issues|issues|group/|user/issues)")


def ticket_list(path: str) -> str:
    for pattern, listing in TICKET_LISTS:
        found = pattern.match(path)
        if found:
            return listing.format(**found.groupdict())
    return "a list of the tickets"


def with_numbers(hint: str, projects: Sequence[Project]) -> str:
    """`INBOX (Inbox)` in a hint as `1 (INBOX, Inbox)`."""
    for project in projects:
        if project.number is not None:
            hint = hint.replace(
                f"{project.code} ({project.name})", f"{project.number} ({project.code}, {project.name})"
            )
    return hint


async def in_rest_words(request: Request, error: TrackerError) -> str:
    """`str(error)`, its hint naming REST requests rather than MCP tools."""
    if not error.hint:
        return str(error)
    path = request.url.path
    hint = (
        error.hint.replace("Check the slug with list_tickets", f"Find the slug with {ticket_list(path)}")
        .replace("Call list_projects to see them", "List the projects to see them")
        .replace("get_ticket shows", "getting the ticket shows")
    )
    if isinstance(error, NotFound) and error.message.startswith("Project ") and BY_NUMBER.match(path):
        with suppress(TrackerError):  # else the hint as it is, without numbers
            hint = with_numbers(hint, await (await tracker_of(request)).list_projects())
    return f"{error.message} {hint}"
