"""Planning on Linear (docs/linear.md has the table): issue relations as links, cycles as milestones, due
dates, and estimates in points. remotes/linear.py calls it; what it reads and writes are
remotes/linear_graphql.py's documents.

- Links are IssueRelations: `blocks` (A blocks B), `duplicate` (A is a duplicate of B) and `related`;
  Linear's `similar` relations (suggestions) are not links. blocked_by comes with every issue read: its
  first INVERSE_SHOWN inverse relations, those of type blocks from an issue not completed or canceled.
- Milestones are the team's cycles, read-only: Linear makes them from each team's cycle schedule, with
  a start and an end that may not overlap another's, and completes them itself at their end. A cycle
  without a name of its own is "Cycle N", as Linear shows it. Its progress is counted from its issues
  (250 a request, COUNT_PAGES requests at most).
- Estimates are points: Linear's estimate is a whole number in the team's scale.
- Linear's public API offers no time tracking, no filter for an *open* blocker (hasBlockedByRelations
  counts finished ones too), and no order by due date (its `sort` argument is internal): refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tickets_mcp.core.tracker import TicketFilter
from tickets_mcp.domain import OPEN_STATUSES, EstimateUnit, Link, LinkKind, Milestone, Status, rules
from tickets_mcp.domain.dates import parse_day, today_utc
from tickets_mcp.errors import Invalid, NotFound, Unsupported
from tickets_mcp.remotes.linear_graphql import (
    CYCLE_ISSUES,
    CYCLES,
    RELATION_CREATE,
    RELATION_DELETE,
    RELATIONS,
    LinearClient,
)
from tickets_mcp.remotes.linear_mapping import BACKEND, state_ids, status_of
from tickets_mcp.remotes.planning import clears, refuse_unmapped_filters
from tickets_mcp.wire.linear import (
    CycleIssuesData,
    CyclesData,
    LinearCycle,
    LinearTeam,
    Relation,
    RelationCreateData,
    RelationDeleteData,
    RelationsData,
)

COUNT_PAGES = 8  # requests of 250 issues a cycle's progress reads at most
ESTIMATE_MAX = 1000
# How each link kind is sent: the relation's type, and whether `issue` is the other ticket.
RELATION_OF = {
    LinkKind.BLOCKS: ("blocks", False),
    LinkKind.BLOCKED_BY: ("blocks", True),
    LinkKind.DUPLICATES: ("duplicate", False),
    LinkKind.DUPLICATED_BY: ("duplicate", True),
    LinkKind.RELATES_TO: ("related", False),
}
KIND_OF = {"blocks": LinkKind.BLOCKS, "duplicate": LinkKind.DUPLICATES, "related": LinkKind.RELATES_TO}
KIND_ORDER = {kind: rank for rank, kind in enumerate(LinkKind)}


def cycle_name(name: str | None, number: float) -> str:
    return name or f"Cycle {int(number)}"


def points(value: str | float) -> int:
    """An estimate: a whole number of points."""
    try:
        number = float(value)
    except ValueError:
        raise Invalid(
            "estimate", f"{value!r} is not a number of points.", hint="Pass points, e.g. 3, or 'none'."
        ) from None
    if not number.is_integer() or not 0 <= number <= ESTIMATE_MAX:
        raise Invalid(
            "estimate", f"Linear's estimates are whole points, 0-{ESTIMATE_MAX}, not {number:g}.",
            hint="Pass a whole number in the team's estimate scale.",
        )  # fmt: skip
    return int(number)


def refuse_filters(query: TicketFilter) -> None:
    """Refuse what Linear cannot filter or order by, though it keeps links and due dates."""
    refuse_unmapped_filters(
        query, BACKEND, blocked="Linear's relation filters count finished blockers too",
        due_order="Linear's public API orders by creation or last update (its `sort` argument is internal)",
    )  # fmt: skip


def refuse_estimate_unit(unit: EstimateUnit) -> None:
    if unit is not EstimateUnit.POINTS:
        raise Unsupported(
            f"The {BACKEND} backend cannot count estimates in {unit.value}: Linear's estimates are points.",
            hint="Keep estimates in points.",
        )


def refuse_milestone_change() -> Unsupported:
    return Unsupported(
        f"The {BACKEND} backend cannot create or change milestones: they are Linear's cycles, made from each "
        "team's cycle schedule and completed by Linear at their end.",
        hint="Set up cycles in Linear (Team settings → Cycles); list_milestones shows them.",
    )


class Planning:
    """Relations and cycles on one Linear workspace."""

    def __init__(self, linear: LinearClient) -> None:
        self.linear = linear

    # Fields and filters

    async def fields(
        self, team: LinearTeam, *, due_date: str | None, estimate: str | float | None, milestone: str | None
    ) -> dict[str, Any]:
        """IssueCreateInput/IssueUpdateInput fields for the planning fields (None: leave, "none": clear)."""
        data: dict[str, Any] = {}
        if due_date is not None:
            data["dueDate"] = None if clears(due_date) else parse_day("due_date", due_date)
        if estimate is not None:
            data["estimate"] = None if clears(estimate) else points(estimate)
        if milestone is not None:
            data["cycleId"] = (
                None if clears(milestone) else (await self.cycle_named(team, milestone, open_only=True)).id
            )
        return data

    async def terms(self, teams: Sequence[LinearTeam], query: TicketFilter) -> list[dict[str, Any]]:
        """IssueFilter terms for the milestone and due-date filters of `query` (over `teams`); refuse_filters
        has refused the rest."""
        terms: list[dict[str, Any]] = []
        if query.milestone is not None:
            if clears(query.milestone):
                terms.append({"cycle": {"null": True}})
            elif len(teams) != 1:
                raise Invalid("milestone", "Linear's cycles belong to a team.", hint="Pass project too.")
            else:
                terms.append({"cycle": {"id": {"eq": (await self.cycle_named(teams[0], query.milestone)).id}}})
        if query.due_before:
            terms.append({"dueDate": {"lte": parse_day("due_before", query.due_before)}})
        if query.due_after:
            terms.append({"dueDate": {"gte": parse_day("due_after", query.due_after)}})
        if query.overdue:
            states = [state for team in teams for state in team.states.nodes]
            terms.append({"dueDate": {"lt": today_utc().isoformat()}})
            terms.append({"state": {"id": {"in": state_ids(OPEN_STATUSES, states)}}})
        return terms

    # Cycles

    async def cycles(self, team: LinearTeam) -> list[LinearCycle]:
        return (await self.linear.query(CYCLES, {"id": team.id}, CyclesData)).team.cycles.nodes

    async def cycle_named(self, team: LinearTeam, name: str, *, open_only: bool = False) -> LinearCycle:
        cycles = await self.cycles(team)
        wanted = name.strip().casefold()
        found = next((c for c in cycles if cycle_name(c.name, c.number).casefold() == wanted), None)
        if found is None:
            names = [cycle_name(c.name, c.number) for c in cycles if c.completedAt is None]
            raise NotFound(
                f"No milestone (cycle) {name!r} in {team.key} on Linear.",
                hint=rules.suggestion(name, names, "milestone", "list_milestones"),
            )
        if open_only and found.completedAt is not None:
            raise Invalid(
                "milestone", f"Cycle {cycle_name(found.name, found.number)!r} is completed.",
                hint="Choose a current or upcoming cycle.",
            )  # fmt: skip
        return found

    async def milestones(self, team: LinearTeam, *, closed: bool) -> list[Milestone]:
        """The team's cycles with their progress: current and upcoming by end date, then (with `closed`) the
        completed ones."""
        chosen = [c for c in await self.cycles(team) if closed or c.completedAt is None]
        chosen.sort(key=lambda c: (c.completedAt is not None, c.endsAt, c.number))
        return [await self.milestone(team, cycle) for cycle in chosen]

    async def milestone(self, team: LinearTeam, cycle: LinearCycle) -> Milestone:
        today = today_utc().isoformat()
        ends = cycle.endsAt.date()
        counts = {"total": 0, "open": 0, "done": 0, "overdue": 0}
        after: str | None = None
        for _ in range(COUNT_PAGES):
            variables = {"filter": {"cycle": {"id": {"eq": cycle.id}}}, "after": after}
            found = (await self.linear.query(CYCLE_ISSUES, variables, CycleIssuesData)).issues
            for issue in found.nodes:
                status = status_of(issue.state)
                due = issue.dueDate or ends.isoformat()
                counts["total"] += 1
                counts["open"] += status in OPEN_STATUSES
                counts["done"] += status is Status.DONE
                counts["overdue"] += status in OPEN_STATUSES and due < today
            if not found.pageInfo.hasNextPage or not found.nodes:
                break
            after = found.pageInfo.endCursor
        return Milestone(
            id=int(cycle.number), project_id=team.id, name=cycle_name(cycle.name, cycle.number),
            start_date=cycle.startsAt.date().isoformat(), due_date=ends.isoformat(),
            closed=cycle.completedAt is not None,
            open_tickets=counts["open"], done_tickets=counts["done"], total_tickets=counts["total"],
            overdue_tickets=counts["overdue"],
        )  # fmt: skip

    # Relations

    async def relations(self, slug: str) -> RelationsData.Issue:
        return (await self.linear.query(RELATIONS, {"id": slug}, RelationsData)).issue

    def links(self, found: RelationsData.Issue) -> tuple[Link, ...]:
        """An issue's relations as links read from it, by kind then slug; `similar` ones left out."""
        links: list[Link] = []
        for relation, outgoing in [(r, True) for r in found.relations.nodes] + [
            (r, False) for r in found.inverseRelations.nodes
        ]:
            kind = KIND_OF.get(relation.type)
            other = relation.relatedIssue if outgoing else relation.issue
            if kind is None or other.trashed:
                continue
            read = kind if outgoing else kind.inverse
            links.append(Link(kind=read, slug=other.identifier, title=other.title, status=status_of(other.state)))
        links.sort(key=lambda link: (KIND_ORDER[link.kind], *rules.parse_slug(link.slug)))
        return tuple(dict.fromkeys(links))  # a related link reads the same from both sides

    async def link(self, found: RelationsData.Issue, kind: LinkKind, other: str, *, unlink: bool) -> None:
        """Create (or delete) the relation `kind` from `found` to `other`; linking again is no change."""
        relation_type, reversed_ = RELATION_OF[kind]
        existing = self._existing(found, relation_type, other, reversed_)
        if unlink:
            if existing is None:
                raise NotFound(
                    f"{found.identifier} is not linked as {kind.value} {other}.", hint="get_ticket shows its links."
                )
            await self.linear.mutate(RELATION_DELETE, {"id": existing.id}, RelationDeleteData)
        elif existing is None:
            source, target = (other, found.identifier) if reversed_ else (found.identifier, other)
            data = {"issueId": source, "relatedIssueId": target, "type": relation_type}
            await self.linear.mutate(RELATION_CREATE, {"input": data}, RelationCreateData)

    @staticmethod
    def _existing(found: RelationsData.Issue, relation_type: str, other: str, reversed_: bool) -> Relation | None:
        outgoing = [(r, r.relatedIssue) for r in found.relations.nodes]
        incoming = [(r, r.issue) for r in found.inverseRelations.nodes]
        symmetric = relation_type == "related"
        candidates = outgoing + incoming if symmetric else (incoming if reversed_ else outgoing)
        return next(
            (r for r, issue in candidates if r.type == relation_type and issue.identifier == other.upper()), None
        )
