"""Where things are on GitLab for the token's user, and what the tracker calls them.

The projects the user is a member of (issues enabled, not archived) are read once and kept for
PROJECTS_TTL; their namespaces are the organizations. A project is found by code, id, path or name;
an unknown code reloads them first (at most every REFRESH_MIN), so a project added in GitLab is found
without a restart. A group's issues may come from a project outside that list (one the user can see
without being a member): it gets a code with its id in it (mapping.code_with_id), which is
found again from the code alone. Label colors and user ids are kept as they are first read.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel, RootModel

from tickets_mcp.core.tracker import ME
from tickets_mcp.domain import Ticket, User, rules
from tickets_mcp.errors import BackendUnavailable, Invalid, NotFound
from tickets_mcp.remotes import gitlab_paging as paging
from tickets_mcp.remotes.client import RemoteClient, Reply
from tickets_mcp.remotes.gitlab_mapping import (
    Namespace,
    Place,
    color_of,
    scope_of,
    to_place,
    to_places,
    to_ticket,
)
from tickets_mcp.remotes.mapping import code_with_id, parse
from tickets_mcp.remotes.paging import page_headers
from tickets_mcp.wire.gitlab import GitLabIssue, GitLabNote, GitLabProject, Labels, Notes, Projects, Users

log = logging.getLogger(__name__)

Entry = TypeVar("Entry", bound=BaseModel)

BACKEND = "gitlab"
API = "api/v4/"
PROJECT_PAGES = 20  # member projects read at most: 2,000
LABEL_PAGES = 10
NOTE_PAGES = 10  # an issue's notes read at most: 1,000
PROJECTS_TTL = 300.0  # seconds the member projects are kept
REFRESH_MIN = 2.0  # an unknown code or project reloads them, at most this often


class Directory:
    """The token's user (`me`), their projects and namespaces, label colors and user ids, over `client`."""

    def __init__(self, client: RemoteClient, me: User) -> None:
        self.client = client
        self.me = me
        self._places: list[Place] | None = None
        self._places_at = 0.0
        self._places_lock = anyio.Lock()
        self._outside: dict[int, Place] = {}  # projects met in a group's issues that are not among the user's
        self._colors: dict[int, dict[str, str]] = {}  # project id -> label name (case-folded) -> color
        self._colors_lock = anyio.Lock()  # a board's columns convert at once: one of them reads the labels
        self._user_ids: dict[str, int] = {}

    # Requests

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Reply:
        return await self.client.request("GET", API + path, params=params)

    async def all(
        self,
        path: str,
        params: Mapping[str, Any] | None,
        listing: type[RootModel[list[Entry]]],
        what: str,
        *,
        pages: int,
    ) -> list[Entry]:
        """Every entry of a listing, page by page, up to `pages` pages."""
        rows: list[Entry] = []
        page = 1
        for _ in range(pages):
            reply = await self.get(path, {**(params or {}), "page": page, "per_page": paging.PER_PAGE_MAX})
            batch = parse(listing, reply.body, BACKEND, what).root
            rows.extend(batch)
            _, more = page_headers(reply.headers, page, paging.PER_PAGE_MAX, len(batch))
            if not more or not batch:
                return rows
            page += 1
        log.warning("GitLab: %s lists more than %d entries; the rest are left out", path, len(rows))
        return rows

    # Projects, namespaces and codes

    async def places(self, *, refresh: bool = False) -> list[Place]:
        async with self._places_lock:
            age = time.monotonic() - self._places_at
            if self._places is None or age > PROJECTS_TTL or (refresh and age > REFRESH_MIN):
                rows = await self.all(
                    "projects",
                    {"membership": "true", "archived": "false", "with_issues_enabled": "true",
                     "order_by": "id", "sort": "asc"},
                    Projects, "a list of projects", pages=PROJECT_PAGES,
                )  # fmt: skip
                self._places = to_places(rows)
                self._places_at = time.monotonic()
            return self._places

    async def namespaces(self) -> list[Namespace]:
        return list({place.namespace.id: place.namespace for place in await self.places()}.values())

    async def namespace(self, organization: str) -> Namespace:
        namespaces = await self.namespaces()
        found = rules.pick(
            organization, namespaces, lambda n: n.full_path, lambda n: str(n.id), lambda n: n.name,
            field="organization", describe=lambda n: n.full_path,
        )  # fmt: skip
        if found is None:
            raise NotFound(
                f"Organization {organization!r} not found among your GitLab groups.",
                hint=rules.suggestion(organization, [n.full_path for n in namespaces], "organizations"),
            )
        return found

    async def place(self, project: str | None, organization: str | None) -> Place:
        """A member project by code, id, path or name (a miss reloads the projects once)."""
        for refresh in (False, True):
            places = await self.places(refresh=refresh)
            if organization is not None:
                namespace = await self.namespace(organization)
                places = [p for p in places if p.namespace.id == namespace.id]
            if project is None:
                if len(places) == 1:
                    return places[0]
                if places:
                    raise Invalid(
                        "project", "Several projects exist; say which one.",
                        hint="Pass project as one of: " + ", ".join(p.project.code for p in places[:20]) + ".",
                    )  # fmt: skip
                if refresh:
                    raise NotFound(
                        "No GitLab project with issues is open to this token's user.",
                        hint="Ask to be added to a project, or enable issues in it.",
                    )
                continue
            found = rules.pick(
                project, places, lambda p: p.project.code, lambda p: p.project.id, lambda p: p.path,
                lambda p: p.project.name, field="project", describe=lambda p: f"{p.project.code} ({p.path})",
            )  # fmt: skip
            if found is not None:
                return found
            if refresh:
                raise NotFound(
                    f"Project {project!r} not found among your GitLab projects.",
                    hint=rules.suggestion(project, [p.project.code for p in places], "projects", "list_projects"),
                )
        raise AssertionError("unreachable")

    async def place_of_code(self, code: str) -> Place | None:
        found = await self._find(lambda place: place.project.code == code)
        if found is not None:
            return found
        # A code with a project id in it (mapping.code_with_id): a project outside the member listing.
        digits = re.search(r"[1-9][0-9]*$", code)
        for start in [i for i in range(digits.start(), digits.end()) if code[i] != "0"][:3] if digits else ():
            try:
                place = await self.outside_place(int(code[start:]))
            except NotFound:
                continue
            if place.project.code == code:
                return place
        return None

    async def place_of_id(self, project_id: int) -> Place:
        found = await self._find(lambda place: place.id == project_id)
        return found if found is not None else await self.outside_place(project_id)

    async def _find(self, wanted: Callable[[Place], bool]) -> Place | None:
        """A known project: a member one, one met before, or a member one after reloading the list."""
        for place in [*await self.places(), *self._outside.values()]:
            if wanted(place):
                return place
        return next((place for place in await self.places(refresh=True) if wanted(place)), None)

    async def outside_place(self, project_id: int) -> Place:
        place = self._outside.get(project_id)
        if place is None:
            record = parse(GitLabProject, (await self.get(f"projects/{project_id}")).body, BACKEND, "a project")
            place = to_place(record, code_with_id(record.path, project_id))
            self._outside[project_id] = place
        return place

    # Issues as tickets

    async def label_colors(self, project_id: int, names: Iterable[str]) -> dict[str, str]:
        async with self._colors_lock:
            return await self._label_colors(project_id, list(names))

    async def _label_colors(self, project_id: int, names: Sequence[str]) -> dict[str, str]:
        colors = self._colors.get(project_id)
        if colors is None or not {name.casefold() for name in names} <= colors.keys():
            rows = await self.all(
                f"projects/{project_id}/labels", {"include_ancestor_groups": "true"}, Labels, "a list of labels",
                pages=LABEL_PAGES,
            )  # fmt: skip
            colors = {row.name.casefold(): color_of(row) for row in rows}
            for name in names:  # not listed (yet): a color of our own, rather than asking again each time
                colors.setdefault(name.casefold(), rules.label_color(name))
            self._colors[project_id] = colors
        return colors

    async def tickets(self, issues: Sequence[GitLabIssue]) -> list[Ticket]:
        by_project: dict[int, list[str]] = {}  # project id -> the labels shown as labels, which need colors
        for issue in issues:
            shown = [name for name in issue.label_names if scope_of(name) is None]
            by_project.setdefault(issue.project_id, []).extend(shown)
        places = {pid: await self.place_of_id(pid) for pid in by_project}
        colors = {pid: await self.label_colors(pid, names) if names else {} for pid, names in by_project.items()}
        return [to_ticket(issue, places[issue.project_id].project.code, colors[issue.project_id]) for issue in issues]

    async def issue(self, slug: str) -> tuple[Place, GitLabIssue]:
        code, number = rules.parse_slug(slug)
        place = await self.place_of_code(code)
        if place is None:
            raise NotFound(
                f"Ticket {code}-{number} not found: none of your GitLab projects has the code {code}.",
                hint="list_projects shows the codes.",
            )
        try:
            reply = await self.get(f"projects/{place.id}/issues/{number}")
        except NotFound:
            raise NotFound(
                f"Ticket {code}-{number} not found.", hint="Check the slug with list_tickets; it may have been deleted."
            ) from None
        issue = parse(GitLabIssue, reply.body, BACKEND, "an issue")
        if (issue.project_id, issue.iid) != (place.id, number):
            # Shown or written to under this slug, another issue would be read or changed by mistake.
            raise BackendUnavailable(
                f"{BACKEND} answered issue #{issue.iid} of project {issue.project_id} when asked for {code}-{number}.",
                hint="Check the GitLab URL: whatever answers there is not serving this issue.",
            )
        return place, issue

    async def notes(self, place: Place, iid: int) -> list[GitLabNote]:
        """An issue's notes, system notes too, oldest first."""
        return await self.all(
            f"projects/{place.id}/issues/{iid}/notes", {"sort": "asc", "order_by": "created_at"}, Notes,
            "a list of notes", pages=NOTE_PAGES,
        )  # fmt: skip

    async def user_id(self, username: str) -> int:
        name = username.strip()
        if name.casefold() == ME:
            return self.me.id
        if name.casefold() not in self._user_ids:
            rows = parse(Users, (await self.get("users", {"username": name})).body, BACKEND, "a list of users").root
            for row in rows:
                self._user_ids[row.username.casefold()] = row.id
        if name.casefold() not in self._user_ids:
            raise Invalid(
                "assignee", f"GitLab has no user named {name!r}.",
                hint="Use a username from get_workspace_context, 'me' or 'none'.",
            )  # fmt: skip
        return self._user_ids[name.casefold()]
