"""Milestones on GitLab (docs/gitlab.md has the table): a project's milestones and its groups', by title.

- A project's issues take its own milestones and those of the groups above it (`include_ancestors`), so both
  are listed, found by name and saved where they live (`/projects/:id/milestones`, `/groups/:id/milestones`);
  a new one is the project's. GitLab keeps a title once across a project and its groups.
- A milestone is active or closed (`state_event` close, activate), with a start and a due date; an empty value
  takes a date away.
- Progress is counted from GitLab's `X-Total` of `per_page=1` issue lists (`milestone=TITLE`): one request for
  a milestone with no issues, else four at once (open, done, and open past their due date), and one more for a
  milestone past its own due date (its open issues without one are late too). A group milestone counts its
  group's issues, as GitLab's milestone page does.
- Closing one with open issues follows the local tracker's rule (remotes/planning.py): `keep` leaves them,
  `none` takes them out, another milestone's name moves them (one PUT each).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tickets_mcp.domain import Milestone, Status, rules
from tickets_mcp.domain.dates import parse_day, today_utc
from tickets_mcp.errors import Invalid, NotFound, PermissionDenied, Unsupported
from tickets_mcp.remotes import gitlab_paging as paging
from tickets_mcp.remotes.gitlab_directory import API, BACKEND, Directory
from tickets_mcp.remotes.gitlab_mapping import Place, status_label
from tickets_mcp.remotes.mapping import parse
from tickets_mcp.remotes.paging import gather, page_headers
from tickets_mcp.remotes.planning import clears, closing_choice, milestone_name, not_another, renamed
from tickets_mcp.wire.gitlab import GitLabMilestone, Issues, Listing, Milestones

MILESTONE_PAGES = 5  # pages of 100 milestones a project's list reads at most
TITLE_MAX = 255
MOVE_MAX = 500  # open issues a milestone being closed may hand on (one PUT each)
COUNT_CAP = 10_000  # GitLab leaves X-Total out past this many matches: a count reads as this much
NO_DATE = ""  # what takes a date away


def find(milestones: Sequence[GitLabMilestone], name: str) -> GitLabMilestone | None:
    """The milestone titled `name`: spelt the same, else the same but for case and spaces."""
    exact = next((m for m in milestones if m.title == name), None)
    wanted = " ".join(name.split()).casefold()
    return exact or next((m for m in milestones if " ".join(m.title.split()).casefold() == wanted), None)


def day_field(field: str, value: str | None) -> dict[str, str]:
    """A date to send (None: leave it, "none": take it away)."""
    if value is None:
        return {}
    return {field: NO_DATE if clears(value) else parse_day(field, value)}


class GitLabMilestones:
    """The milestones of the projects a Directory knows."""

    def __init__(self, gitlab: Directory) -> None:
        self.gitlab = gitlab

    async def of(self, place: Place) -> list[GitLabMilestone]:
        """The project's milestones and its groups', whatever their state."""
        return await self.gitlab.all(
            f"projects/{place.id}/milestones", {"include_ancestors": "true"}, Milestones, "a list of milestones",
            pages=MILESTONE_PAGES,
        )  # fmt: skip

    async def named(self, place: Place, name: str, *, open_only: bool = False) -> GitLabMilestone:
        milestones = await self.of(place)
        found = find(milestones, name)
        if found is None:
            raise NotFound(
                f"No milestone {name!r} in {place.project.code} on GitLab.",
                hint=rules.suggestion(
                    name, [m.title for m in milestones if not m.closed], "milestone", "list_milestones"
                ),
            )
        if open_only and found.closed:
            raise Invalid(
                "milestone",
                f"Milestone {found.title!r} is closed.",
                hint="Reopen it with save_milestone (closed=false), or choose an open one.",
            )
        return found

    async def listed(self, place: Place, *, closed: bool) -> list[Milestone]:
        """Open milestones by due date (none last) then title; with `closed`, the closed ones after."""
        chosen = [m for m in await self.of(place) if closed or not m.closed]
        chosen.sort(key=lambda m: (m.closed, m.due_date is None, m.due_date or "", m.title.casefold()))
        return await gather([lambda m=milestone: self.progress(place, m) for milestone in chosen])

    def _issues(self, place: Place, milestone: GitLabMilestone) -> str:
        """Where a milestone's issues are listed: its group's issues for a group milestone, else the project's."""
        return f"groups/{milestone.group_id}/issues" if milestone.group_id else f"projects/{place.id}/issues"

    async def _count(self, path: str, params: Mapping[str, Any]) -> int:
        reply = await self.gitlab.get(path, {**params, "per_page": 1})
        rows = parse(Listing, reply.body, BACKEND, "a list of issues").root
        total, _ = page_headers(reply.headers, 1, 1, len(rows))
        return COUNT_CAP if total is None else total

    async def progress(self, place: Place, milestone: GitLabMilestone) -> Milestone:
        """A milestone with its issues counted: all, open, done, and open ones past their due date (or past the
        milestone's, for those without one)."""
        path, mine = self._issues(place, milestone), {"milestone": milestone.title}
        total = await self._count(path, {**mine, "state": "all"})
        open_count = done = late = 0
        if total:
            canceled = status_label(Status.CANCELED)
            open_count, done, late = await gather([
                lambda: self._count(path, {**mine, "state": "opened"}),
                lambda: self._count(path, {**mine, "state": "closed", "not[labels]": canceled}),
                lambda: self._count(path, {**mine, "state": "opened", "due_date": "overdue"}),
            ])  # fmt: skip
            past = milestone.due_date is not None and milestone.due_date < today_utc()
            if past and open_count:  # past the milestone's date, its open issues without one are late too
                late += await self._count(path, {**mine, "state": "opened", "due_date": "0"})
        return Milestone(
            id=milestone.id, project_id=place.project.id, name=milestone.title,
            start_date=milestone.start_date.isoformat() if milestone.start_date else None,
            due_date=milestone.due_date.isoformat() if milestone.due_date else None, closed=milestone.closed,
            open_tickets=open_count, done_tickets=done, total_tickets=total, overdue_tickets=late,
        )  # fmt: skip

    @staticmethod
    def _path(place: Place, milestone: GitLabMilestone) -> str:
        owner = f"groups/{milestone.group_id}" if milestone.group_id else f"projects/{place.id}"
        return f"{owner}/milestones/{milestone.id}"

    async def save(
        self, place: Place, name: str, *, rename: str | None, start_date: str | None, due_date: str | None,
        closed: bool | None, open_tickets: str | None,
    ) -> Milestone:  # fmt: skip
        milestones = await self.of(place)
        current = find(milestones, name)
        body: dict[str, Any] = {}
        where, titles = f"Project {place.project.code}", [m.title for m in milestones]
        if (title := renamed(rename, current and current.title, titles, TITLE_MAX, where)) is not None:
            body["title"] = title
        body |= day_field("start_date", start_date) | day_field("due_date", due_date)
        client = self.gitlab.client
        if current is None:
            fields = {"title": milestone_name(name, TITLE_MAX)} | {k: v for k, v in body.items() if v != NO_DATE}
            reply = await client.request("POST", API + f"projects/{place.id}/milestones", json_body=fields)
            made = parse(GitLabMilestone, reply.body, BACKEND, "the new milestone")
            if closed:
                body = {"state_event": "close"}
                reply = await client.request("PUT", API + self._path(place, made), json_body=body)
                made = parse(GitLabMilestone, reply.body, BACKEND, "the milestone")
            return await self.progress(place, made)
        if closed is not None and closed != current.closed:
            if closed:
                await self._hand_on(place, current, open_tickets)
            body["state_event"] = "close" if closed else "activate"
        if not body:
            return await self.progress(place, current)
        reply = await client.request("PUT", API + self._path(place, current), json_body=body)
        return await self.progress(place, parse(GitLabMilestone, reply.body, BACKEND, "the milestone"))

    async def _hand_on(self, place: Place, milestone: GitLabMilestone, open_tickets: str | None) -> None:
        """What closing `milestone` does with its open issues: refused without `open_tickets`; `keep` leaves
        them in it, `none` takes them out, another milestone's name moves them there (one PUT each)."""
        path, opened = self._issues(place, milestone), {"milestone": milestone.title, "state": "opened"}
        count = await self._count(path, opened)
        if not count:
            return
        choice = closing_choice(milestone.title, count, open_tickets)
        if choice is None:
            return
        target = None if clears(choice) else await self.named(place, choice, open_only=True)
        if target is not None and target.id == milestone.id:
            raise not_another(milestone.title)
        if target is not None and milestone.group_id and not target.group_id:
            raise Invalid(
                "open_tickets",
                f"The open tickets of {milestone.title!r}, a group milestone, may be in several projects: "
                f"{target.title!r} is one project's.",
                hint="Name another group milestone, or none, or keep them.",
            )
        if count > MOVE_MAX:
            raise Unsupported(
                f"The {BACKEND} backend moves issues one request each, and {milestone.title!r} holds "
                f"{rules.plural(count, 'open ticket')}.",
                hint=f"Move them in GitLab (bulk edit) first, or keep them (open_tickets=keep); at most {MOVE_MAX}.",
            )
        body = {"milestone_id": target.id if target else 0}
        listing = {**opened, "order_by": "created_at", "sort": "asc", "per_page": paging.PER_PAGE_MAX}
        moved: set[int] = set()
        for _ in range(MOVE_MAX // paging.PER_PAGE_MAX + 1):  # the first page each time: those moved leave it
            issues = parse(Issues, (await self.gitlab.get(path, listing)).body, BACKEND, "a list of issues").root
            issues = [issue for issue in issues if issue.id not in moved]  # one GitLab kept: not sent twice
            for issue in issues:
                await self.gitlab.client.request(
                    "PUT", API + f"projects/{issue.project_id}/issues/{issue.iid}", json_body=body
                )
                moved.add(issue.id)
            if not issues:
                break
        if left := await self._count(path, opened):
            raise PermissionDenied(
                f"GitLab kept {rules.plural(left, 'open ticket')} in {milestone.title!r}: "
                f"{self.gitlab.me.username} may not change their milestone. The milestone was left open.",
                hint="Ask a maintainer, or close it with open_tickets=keep.",
            )
