"""Where things are on GitHub for the token's user, and what the tracker calls them.

The repositories the token sees (GET /user/repos) are read once and kept for PLACES_TTL; those with
issues enabled and not archived are the projects, their owners the organizations. A project is found by
code, id, name or owner/name; an unknown one reloads them first (at most every REFRESH_MIN), so a
repository created on GitHub is found without a restart. Lists are read by following the `Link`
header's `rel="next"`, 100 entries a page.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel, RootModel

from tickets_mcp.domain import Organization, Ticket, User
from tickets_mcp.errors import Invalid, NotFound
from tickets_mcp.remotes.client import RemoteClient, Reply, retry_after
from tickets_mcp.remotes.github_mapping import BACKEND, Place, issue_reference, repository_of, to_places, to_ticket
from tickets_mcp.remotes.mapping import find_project, only_project, parse
from tickets_mcp.wire.github import GitHubIssue, Repositories

Entry = TypeVar("Entry", bound=BaseModel)

PER_PAGE = 100  # GitHub's most per page
REPOSITORY_PAGES = 20
PLACES_TTL = 300.0  # seconds the repositories are kept
REFRESH_MIN = 2.0  # an unknown code or project reloads them, at most this often
SLUG = re.compile(r"([A-Za-z][A-Za-z0-9]*)-(\d+)")


def next_link(headers: Mapping[str, str]) -> str | None:
    """The `rel="next"` URL of GitHub's Link header, if another page follows."""
    for part in headers.get("link", "").split(","):
        match = re.fullmatch(r'\s*<([^>]+)>\s*;\s*rel="next"\s*', part)
        if match:
            return match.group(1)
    return None


class Directory:
    """The token's user (`me`) and their repositories, over `client`."""

    def __init__(self, client: RemoteClient, me: User) -> None:
        self.client = client
        self.me = me
        self._places: list[Place] | None = None
        self._places_at = 0.0
        self._places_lock = anyio.Lock()
        self.search_resumes = 0.0  # epoch second before which GitHub's search budget is spent

    def searched(self, headers: Mapping[str, str]) -> None:
        """Note a search answer's budget: once spent (30 a minute), optional searches wait for the reset."""
        if headers.get("x-ratelimit-remaining", "").strip() == "0":
            self.search_resumes = time.time() + (retry_after(headers) or 60.0)

    def may_search(self) -> bool:
        return time.time() >= self.search_resumes

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Reply:
        return await self.client.request("GET", path, params=params)

    async def pages(
        self, path: str, params: Mapping[str, Any], listing: type[RootModel[list[Entry]]], what: str, pages: int
    ) -> tuple[list[Entry], bool]:
        """Every entry of a GitHub list, following `Link: rel="next"`; whether it was read to its end."""
        found: list[Entry] = []
        reply = await self.get(path, {**params, "per_page": PER_PAGE})
        for read in range(1, pages + 1):
            found += parse(listing, reply.body, BACKEND, what).root
            following = next_link(reply.headers)
            if following is None:
                return found, True
            if read < pages:
                reply = await self.get(following)
        return found, False

    async def places(self, *, refresh: bool = False) -> list[Place]:
        async with self._places_lock:
            age = time.monotonic() - self._places_at
            if self._places is None or age > PLACES_TTL or (refresh and age > REFRESH_MIN):
                repositories, _ = await self.pages(
                    "user/repos", {"sort": "full_name"}, Repositories, "a list of repositories", REPOSITORY_PAGES
                )
                self._places, self._places_at = to_places(repositories, self.me.username), time.monotonic()
            return self._places

    async def place(self, reference: str | None, organization: str | None = None) -> Place:
        places = await self.places()
        if organization is not None:
            owner = await self.owner(organization)
            places = [p for p in places if p.owner.id == owner.id]
        if reference is None:
            project = only_project([p.project for p in places], BACKEND)
            return next(p for p in places if p.project.id == project.id)
        for attempt in range(2):
            found = find_project(reference, [p.project for p in places]) or next(
                (p.project for p in places if p.full_name.casefold() == reference.strip().casefold()), None
            )
            if found is not None:
                return next(p for p in places if p.project.id == found.id)
            if attempt == 0:
                owners = {p.owner.id for p in places}
                places = [p for p in await self.places(refresh=True) if organization is None or p.owner.id in owners]
        raise NotFound(
            f"{BACKEND}: no repository {reference!r} with issues among those the token sees.",
            hint="list_projects shows them; pass a code, an id or owner/name.",
        )

    async def owner(self, reference: str) -> Organization:
        wanted = reference.strip().casefold()
        for place in await self.places():
            if wanted in (place.owner.slug.casefold(), place.owner.id):
                return place.owner
        raise NotFound(
            f"{BACKEND}: no owner {reference!r} among the token's repositories.",
            hint="list_organizations shows them.",
        )

    async def place_of(self, full_name: str) -> Place | None:
        wanted = full_name.casefold()
        return next((p for p in await self.places() if p.full_name.casefold() == wanted), None)

    async def issue(self, slug: str) -> tuple[Place, GitHubIssue]:
        match = SLUG.fullmatch(slug.strip())
        if match is None:
            raise Invalid("slug", f"{slug!r} is not a ticket slug.", hint="Pass it as CODE-NUMBER, e.g. WEB-12.")
        code, number = match.group(1).upper(), int(match.group(2))
        places = await self.places()
        place = next((p for p in places if p.project.code == code), None)
        if place is None:
            place = next((p for p in await self.places(refresh=True) if p.project.code == code), None)
        if place is None:
            raise NotFound(f"{BACKEND}: no repository has the code {code}.", hint="list_projects shows the codes.")
        reply = await self.get(f"repos/{place.full_name}/issues/{number}")
        issue = parse(GitHubIssue, reply.body, BACKEND, "an issue")
        if issue.pull_request is not None:
            raise NotFound(f"{BACKEND}: {slug} is a pull request, not an issue.")
        return place, issue

    async def ticket(self, place: Place, issue: GitHubIssue) -> Ticket:
        parent: str | None = None
        if issue.parent_issue_url and (found := issue_reference(issue.parent_issue_url)):
            home = await self.place_of(found[0])
            parent = f"{home.project.code}-{found[1]}" if home else f"{found[0]}#{found[1]}"
        return to_ticket(issue, place, parent)

    async def tickets(self, issues: Sequence[GitHubIssue], place: Place | None = None) -> list[Ticket]:
        """Issues as tickets, pull requests and issues of repositories the token does not list left out."""
        found: list[Ticket] = []
        for issue in issues:
            home = place or await self.place_of(repository_of(issue.repository_url))
            if issue.pull_request is None and home is not None:
                found.append(await self.ticket(home, issue))
        return found

    async def places_of(self, organization: str | None) -> list[Place]:
        places = await self.places()
        if organization is None:
            return places
        owner = await self.owner(organization)
        return [p for p in places if p.owner.id == owner.id]
