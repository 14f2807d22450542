"""What the jira backend knows of one Jira site: its projects (with their issue types), statuses, priorities
and resolutions, read once and kept for SITE_TTL (an unknown project key reads them again, at most every
REFRESH_MIN), and the account ids of the people it has looked up by name.

JQL refuses a value its field does not have (`priority in ("Highest")` on a site without Highest is an
error), so filters are written from these lists, never from the mapping's names alone.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import anyio

from tickets_mcp.core.tracker import ME
from tickets_mcp.domain import Organization, Project, rules
from tickets_mcp.errors import Invalid, NotFound
from tickets_mcp.remotes.client import RemoteClient, Reply
from tickets_mcp.remotes.jira_mapping import BACKEND
from tickets_mcp.remotes.mapping import parse
from tickets_mcp.wire.jira import JiraProject, JiraStatus, JiraUser, NamedPage, ProjectPage, Statuses, Users

API = "rest/api/3/"
SITE_TTL = 300.0
REFRESH_MIN = 2.0
PAGES = 20  # pages of projects, priorities or resolutions read at most
PAGE = 50
USERS_SHOWN = 10
# Atlassian account ids: 24 hex digits, or `557058:` and a UUID (older accounts).
ACCOUNT_ID = re.compile(r"[0-9a-f]{24}|[0-9]{1,10}:[0-9a-f-]{36}", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Catalog:
    projects: tuple[JiraProject, ...]
    statuses: tuple[JiraStatus, ...]
    priorities: tuple[str, ...]
    resolutions: tuple[str, ...]

    def type_names(self, project: JiraProject | None) -> list[str]:
        chosen = [project] if project is not None else self.projects
        return [issue_type.name for p in chosen for issue_type in p.issueTypes]


class Site:
    """One Jira site (`https://SITE.atlassian.net`) as the token's user (`me`) sees it, over `client`."""

    def __init__(self, client: RemoteClient, me: JiraUser) -> None:
        self.client = client
        self.me = me
        host = client.base_url.host
        self.organization = Organization(id=host, name=host, slug=host.split(".")[0])
        self._catalog: Catalog | None = None
        self._read_at = 0.0
        self._lock = anyio.Lock()
        self._accounts: dict[str, str] = {}  # a name as given (case-folded) -> account id

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Reply:
        return await self.client.request("GET", API + path, params=params)

    # The catalog

    async def catalog(self, *, refresh: bool = False) -> Catalog:
        async with self._lock:
            age = time.monotonic() - self._read_at
            if self._catalog is None or age > SITE_TTL or (refresh and age > REFRESH_MIN):
                self._catalog = Catalog(
                    projects=tuple(await self._projects()),
                    statuses=tuple(parse(Statuses, (await self.get("status")).body, BACKEND, "statuses").root),
                    priorities=tuple(await self._names("priority/search", "priorities")),
                    resolutions=tuple(await self._names("resolution/search", "resolutions")),
                )
                self._read_at = time.monotonic()
            return self._catalog

    async def _projects(self) -> list[JiraProject]:
        found: list[JiraProject] = []
        for _ in range(PAGES):
            params = {"startAt": len(found), "maxResults": PAGE, "orderBy": "key", "expand": "description,issueTypes"}
            page = parse(ProjectPage, (await self.get("project/search", params)).body, BACKEND, "a list of projects")
            found += page.values
            if page.isLast or not page.values:
                break
        return found

    async def _names(self, path: str, what: str) -> list[str]:
        found: list[str] = []
        for _ in range(PAGES):
            page = parse(NamedPage, (await self.get(path, {"startAt": len(found), "maxResults": PAGE})).body,
                         BACKEND, f"a list of {what}")  # fmt: skip
            found += [value.name for value in page.values]
            if page.isLast or not page.values:
                break
        return found

    # Organizations and projects

    def check_organization(self, organization: str | None) -> None:
        org = self.organization
        if organization is not None and organization.strip().casefold() not in {org.id, org.slug, org.name}:
            raise NotFound(
                f"Organization {organization!r} not found: the jira backend's one organization is the site, "
                f"{org.slug} ({org.id}).",
                hint=f"Leave organization out, or pass {org.slug}.",
            )

    def to_project(self, project: JiraProject) -> Project:
        return Project(
            id=project.id, organization_id=self.organization.id, name=project.name, code=project.key,
            description=project.description or "", created_at="",
        )  # fmt: skip

    async def project(self, reference: str | None, organization: str | None = None) -> JiraProject:
        """A project by key, id or name (a miss reads the site's projects again, once)."""
        self.check_organization(organization)
        for refresh in (False, True):
            projects = (await self.catalog(refresh=refresh)).projects
            if reference is None:
                if len(projects) == 1:
                    return projects[0]
                raise Invalid(
                    "project", "Several Jira projects exist; say which one." if projects else "No Jira project is open "
                    "to this token's user.",
                    hint="Pass project as one of: " + ", ".join(p.key for p in projects[:20]) + ".",
                )  # fmt: skip
            found = rules.pick(
                reference, projects, lambda p: p.key, lambda p: p.id, lambda p: p.name,
                field="project", describe=lambda p: f"{p.key} ({p.name})",
            )  # fmt: skip
            if found is not None:
                return found
        raise NotFound(
            f"Project {reference!r} not found among the Jira projects this token's user can browse.",
            hint=rules.suggestion(reference or "", [p.key for p in projects], "projects", "list_projects"),
        )

    async def project_of_key(self, key: str) -> JiraProject | None:
        for refresh in (False, True):
            for project in (await self.catalog(refresh=refresh)).projects:
                if project.key == key:
                    return project
        return None

    # People

    async def account(self, name: str, field: str) -> str | None:
        """The account id of a person given by account id, `me`, display name or email (None for `me`,
        which JQL spells currentUser())."""
        text = name.strip()
        if text.casefold() == ME:
            return None
        if ACCOUNT_ID.fullmatch(text):
            return text
        if (known := self._accounts.get(text.casefold())) is not None:
            return known
        reply = await self.get("user/search", {"query": text, "maxResults": USERS_SHOWN})
        users = list(parse(Users, reply.body, BACKEND, "a list of users").root)
        exact = [u for u in users if text.casefold() in {u.displayName.casefold(), (u.emailAddress or "").casefold()}]
        chosen = exact if exact else users
        if len(chosen) != 1:
            shown = ", ".join(f"{u.displayName} ({u.accountId})" for u in users[:USERS_SHOWN])
            raise Invalid(
                field,
                f"Jira knows {'no one' if not users else 'more than one person'} by {text!r}.",
                hint=f"Pass an account id: {shown}." if users else "Pass a display name, an email or an account id.",
            )
        self._accounts[text.casefold()] = chosen[0].accountId
        return chosen[0].accountId
