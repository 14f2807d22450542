"""Milestones on Jira (docs/jira.md has the table): a project's versions, with their issues counted in JQL.

- A version is released (closed) or not; releaseDate is the due date, startDate the start. Atlassian's
  description of the API takes a date only (no null), so a date once set cannot be taken away here.
- Progress is counted with JQL through the approximate count (`fixVersion = "id"`): one request for a
  version with no issues, else four (all, open, done, and the open ones overdue), the last three at once;
  nothing grows with the project's size.
- Closing a version with open issues follows the local tracker's rule (remotes/planning.py): `keep`
  leaves them in it, `none` takes it off them, another version's name moves them (one PUT each, which
  removes this version and adds the other, leaving any further fix versions an issue has).
"""

from __future__ import annotations

from typing import Any

from tickets_mcp.domain import OPEN_STATUSES, Milestone, Status, rules
from tickets_mcp.domain.dates import parse_day, today_utc
from tickets_mcp.errors import PermissionDenied, Unsupported
from tickets_mcp.remotes.client import RemoteClient
from tickets_mcp.remotes.jira_mapping import BACKEND, columns_clause, quote
from tickets_mcp.remotes.jira_search import LIST_LIMIT_MAX, Search, Searches
from tickets_mcp.remotes.jira_site import API
from tickets_mcp.remotes.jira_versions import find, version_named, versions_of
from tickets_mcp.remotes.mapping import parse
from tickets_mcp.remotes.paging import gather
from tickets_mcp.remotes.planning import clears, closing_choice, milestone_name, not_another, renamed
from tickets_mcp.wire.jira import JiraProject, JiraVersion

NAME_MAX = 255
MOVE_MAX = 500  # open issues a version being closed may hand on (one PUT each)


class JiraMilestones:
    """The versions of one site's projects, as milestones."""

    def __init__(self, client: RemoteClient, searches: Searches) -> None:
        self.client = client
        self.searches = searches

    async def listed(self, project: JiraProject, *, closed: bool) -> list[Milestone]:
        """Open versions by due date (none last) then name; with `closed`, the released ones after."""
        chosen = [v for v in await versions_of(self.client, project) if not v.archived and (closed or not v.released)]
        chosen.sort(key=lambda v: (v.released, v.releaseDate is None, v.releaseDate or "", v.name.casefold()))
        return await gather([lambda v=version: self.progress(project, v) for version in chosen])

    async def _columns(self, *columns: Status) -> str | None:
        catalog = await self.searches.site.catalog()
        return columns_clause(columns, catalog.statuses, catalog.resolutions)

    async def _count(self, jql: str, more: str | None) -> int:
        return 0 if more is None else await self.searches.count(f"{jql} AND {more}")

    async def progress(self, project: JiraProject, version: JiraVersion) -> Milestone:
        """A version with its issues counted: all, open, done, and open ones past their due date (or past the
        version's, for those without one)."""
        jql = f"fixVersion = {quote(version.id)}"
        total = await self.searches.count(jql)
        open_count = done = late = 0
        if total:
            today = today_utc().isoformat()
            past = version.releaseDate is not None and version.releaseDate < today
            # Past the version's date, every open issue is late but those due today or later.
            due = f"duedate >= {quote(today)}" if past else f"duedate < {quote(today)}"
            opened = await self._columns(*(s for s in Status if s in OPEN_STATUSES))
            finished = await self._columns(Status.DONE)
            open_count, done, due_count = await gather([
                lambda: self._count(jql, opened), lambda: self._count(jql, finished),
                lambda: self._count(jql, opened and f"{opened} AND {due}"),
            ])  # fmt: skip
            late = open_count - due_count if past else due_count
        return Milestone(
            id=int(version.id), project_id=project.id, name=version.name, start_date=version.startDate,
            due_date=version.releaseDate, closed=version.released, open_tickets=open_count, done_tickets=done,
            total_tickets=total, overdue_tickets=late,
        )  # fmt: skip

    async def save(
        self, project: JiraProject, name: str, *, rename: str | None, start_date: str | None, due_date: str | None,
        closed: bool | None, open_tickets: str | None,
    ) -> Milestone:  # fmt: skip
        if clears(start_date) or clears(due_date):
            raise Unsupported(
                f"The {BACKEND} backend cannot take a milestone's dates away: Jira's API takes a date only.",
                hint="Set another date, or take it away in Jira.",
            )
        versions = await versions_of(self.client, project)
        current = find(versions, name)
        body: dict[str, Any] = {}
        names = [v.name for v in versions]
        if (
            new_name := renamed(rename, current and current.name, names, NAME_MAX, f"Project {project.key}")
        ) is not None:
            body["name"] = new_name
        if start_date is not None:
            body["startDate"] = parse_day("start_date", start_date)
        if due_date is not None:
            body["releaseDate"] = parse_day("due_date", due_date)
        if closed is not None:
            body["released"] = closed
        if current is None:
            body.setdefault("name", milestone_name(name, NAME_MAX))
            body["projectId"] = int(project.id)
            reply = await self.client.request("POST", API + "version", json_body=body)
            return await self.progress(project, parse(JiraVersion, reply.body, BACKEND, "the new version"))
        if closed and not current.released:
            await self._hand_on(project, current, open_tickets)
        if not body:
            return await self.progress(project, current)
        reply = await self.client.request("PUT", API + f"version/{current.id}", json_body=body)
        return await self.progress(project, parse(JiraVersion, reply.body, BACKEND, "the version"))

    async def _hand_on(self, project: JiraProject, version: JiraVersion, open_tickets: str | None) -> None:
        """What closing `version` does with its open issues: refused without `open_tickets`; `keep` leaves
        them in it, `none` takes it off them, a name moves them to that version (one PUT each)."""
        opened = await self._columns(*(s for s in Status if s in OPEN_STATUSES))
        jql = f"fixVersion = {quote(version.id)} AND {opened}"
        count = await self.searches.count(jql) if opened else 0
        if not count:
            return
        choice = closing_choice(version.name, count, open_tickets)
        if choice is None:
            return
        target = None if clears(choice) else await version_named(self.client, project, choice, open_only=True)
        if target is not None and target.id == version.id:
            raise not_another(version.name)
        if count > MOVE_MAX:
            raise Unsupported(
                f"The {BACKEND} backend moves issues one request each, and {version.name!r} holds "
                f"{rules.plural(count, 'open ticket')}.",
                hint=f"Move them in Jira (bulk change) first, or keep them (open_tickets=keep); at most {MOVE_MAX}.",
            )
        changes: list[dict[str, Any]] = [{"remove": {"id": version.id}}]
        if target is not None:
            changes.append({"add": {"id": target.id}})
        search = Search(jql=jql, order="ORDER BY key ASC")
        for _ in range(0, MOVE_MAX, LIST_LIMIT_MAX):  # the first page each time: those moved leave the search
            tickets, _following = await self.searches.page(search, LIST_LIMIT_MAX, None)
            for ticket in tickets:
                update = {"update": {"fixVersions": changes}}
                await self.client.request("PUT", API + f"issue/{ticket.slug}", json_body=update)
            if len(tickets) < LIST_LIMIT_MAX:
                break
        if left := await self.searches.count(jql):
            raise PermissionDenied(
                f"Jira kept {rules.plural(left, 'open ticket')} in {version.name!r}: the token's user may not "
                "change their fix versions. The milestone was left open.",
                hint="Ask a Jira admin, or close it with open_tickets=keep.",
            )
