"""Milestones on GitHub (docs/github.md has the table): a repository's milestones, by title.

- A milestone is open or closed; its due date is `due_on`, a timestamp GitHub keeps as a day (it answers
  it at the start of that day in US Pacific time), so a day is sent as noon UTC, the same day everywhere
  GitHub reads it. It has no start date. GitHub's description of the API takes no null `due_on`, so a
  due date once set cannot be taken away here.
- GitHub's own counts (`open_issues`, `closed_issues`) include pull requests and cannot tell done from
  not planned, so a milestone's progress is counted from its issues (100 a request, PAGES requests at most).
- An issue's milestone is set by its number; without push access GitHub drops it silently, which the
  tracker checks (github.py `_kept`).
"""

from __future__ import annotations

from typing import Any

from tickets_mcp.domain import OPEN_STATUSES, Milestone, Status, rules
from tickets_mcp.domain.dates import parse_day, today_utc
from tickets_mcp.errors import Invalid, NotFound, PermissionDenied, Unsupported
from tickets_mcp.remotes.github_directory import Directory
from tickets_mcp.remotes.github_mapping import BACKEND, Place, read_fields
from tickets_mcp.remotes.mapping import parse
from tickets_mcp.remotes.planning import clears, closing_choice, milestone_name, not_another, renamed
from tickets_mcp.wire.github import GitHubIssue, GitHubMilestone, Issues, Milestones

PAGES = 10  # pages of 100 a milestone's progress, or its open issues to move, are read from at most
MILESTONE_PAGES = 5  # pages of 100 milestones a repository's list reads at most
TITLE_MAX = 255


def due_on(day: str) -> str:
    return f"{day}T12:00:00Z"


class GitHubMilestones:
    """The milestones of the repositories a Directory knows."""

    def __init__(self, github: Directory) -> None:
        self.github = github

    async def of(self, place: Place, *, state: str = "all") -> list[GitHubMilestone]:
        params = {"state": state, "sort": "due_on", "direction": "asc"}
        found, _ = await self.github.pages(
            f"repos/{place.full_name}/milestones", params, Milestones, "a list of milestones", MILESTONE_PAGES
        )
        return found

    async def named(self, place: Place, name: str, *, open_only: bool = False) -> GitHubMilestone:
        milestones = await self.of(place)
        found = next((m for m in milestones if m.title.strip().casefold() == name.strip().casefold()), None)
        if found is None:
            titles = [m.title for m in milestones if m.state == "open"]
            raise NotFound(
                f"No milestone {name!r} in {place.full_name} on GitHub.",
                hint=rules.suggestion(name, titles, "milestone", "list_milestones"),
            )
        if open_only and found.state != "open":
            raise Invalid(
                "milestone",
                f"Milestone {found.title!r} is closed.",
                hint="Reopen it with save_milestone, or choose an open one.",
            )
        return found

    async def number(self, place: Place, name: str) -> int | None:
        """What an issue's `milestone` is set to for `name`: an open milestone's number, None for "none"."""
        return None if clears(name) else (await self.named(place, name, open_only=True)).number

    async def listed(self, place: Place, *, closed: bool) -> list[Milestone]:
        """Open milestones by due date (none last) then title; with `closed`, the closed ones after."""
        chosen = await self.of(place, state="all" if closed else "open")
        chosen.sort(key=lambda m: (m.state == "closed", m.due_on is None, m.due_on or m.created_at, m.title))
        return [await self.progress(place, milestone) for milestone in chosen]

    async def progress(self, place: Place, milestone: GitHubMilestone) -> Milestone:
        issues = await self._issues(place, milestone, "all")
        statuses = [read_fields(issue).status for issue in issues]
        today = today_utc().isoformat()
        late = milestone.due_on is not None and milestone.due_on.date().isoformat() < today
        return Milestone(
            id=milestone.number, project_id=place.project.id, name=milestone.title, start_date=None,
            due_date=milestone.due_on.date().isoformat() if milestone.due_on else None,
            closed=milestone.state == "closed",
            open_tickets=sum(1 for s in statuses if s in OPEN_STATUSES),
            done_tickets=sum(1 for s in statuses if s is Status.DONE), total_tickets=len(statuses),
            overdue_tickets=sum(1 for s in statuses if s in OPEN_STATUSES) if late else 0,
        )  # fmt: skip

    async def _issues(self, place: Place, milestone: GitHubMilestone, state: str) -> list[GitHubIssue]:
        params = {"milestone": str(milestone.number), "state": state}
        found, complete = await self.github.pages(
            f"repos/{place.full_name}/issues", params, Issues, "a list of issues", PAGES
        )
        if not complete:
            raise Unsupported(
                f"The {BACKEND} backend reads at most {PAGES * 100} issues of a milestone, and "
                f"{milestone.title!r} holds more.",
                hint="Look at it on GitHub.",
            )
        return [issue for issue in found if issue.pull_request is None]

    async def save(
        self, place: Place, name: str, *, rename: str | None, start_date: str | None, due_date: str | None,
        closed: bool | None, open_tickets: str | None,
    ) -> Milestone:  # fmt: skip
        if start_date is not None and not clears(start_date):
            raise Unsupported(
                f"The {BACKEND} backend cannot keep a milestone's start date: a GitHub milestone has none.",
                hint="Leave start_date out; due_date is the milestone's date.",
            )
        if clears(due_date):
            raise Unsupported(
                f"The {BACKEND} backend cannot take a milestone's due date away: GitHub's API takes a date only.",
                hint="Set another due date, or take it away on GitHub.",
            )
        milestones = await self.of(place)
        current = next((m for m in milestones if m.title.strip().casefold() == name.strip().casefold()), None)
        body: dict[str, Any] = {}
        titles = [m.title for m in milestones]
        if (title := renamed(rename, current and current.title, titles, TITLE_MAX, place.full_name)) is not None:
            body["title"] = title
        if due_date is not None:
            body["due_on"] = due_on(parse_day("due_date", due_date))
        if closed is not None:
            body["state"] = "closed" if closed else "open"
        base = f"repos/{place.full_name}/milestones"
        if current is None:
            body.setdefault("title", milestone_name(name, TITLE_MAX))
            reply = await self.github.client.request("POST", base, json_body=body)
        else:
            if closed and current.state != "closed":
                await self._hand_on(place, current, open_tickets)
            if not body:
                return await self.progress(place, current)
            reply = await self.github.client.request("PATCH", f"{base}/{current.number}", json_body=body)
        return await self.progress(place, parse(GitHubMilestone, reply.body, BACKEND, "the milestone"))

    async def _hand_on(self, place: Place, milestone: GitHubMilestone, open_tickets: str | None) -> None:
        """Closing a milestone with open issues, as the local tracker does: refused without `open_tickets`;
        `keep` leaves them in it, `none` takes them out, another milestone's title moves them there."""
        moving = await self._issues(place, milestone, "open")
        if not moving:
            return
        choice = closing_choice(milestone.title, len(moving), open_tickets)
        if choice is None:
            return
        target = None if clears(choice) else await self.named(place, choice, open_only=True)
        if target is not None and target.number == milestone.number:
            raise not_another(milestone.title)
        body = {"milestone": target.number if target else None}
        for issue in moving:
            await self.github.client.request("PATCH", f"repos/{place.full_name}/issues/{issue.number}", json_body=body)
        left = await self._issues(place, milestone, "open")
        if left:
            raise PermissionDenied(
                f"GitHub kept {rules.plural(len(left), 'open ticket')} in {milestone.title!r}: the token's user "
                "lacks push access. The milestone was left open.",
                hint="Use a token with write access to the repository, or close it with open_tickets=keep.",
            )
