"""The dialects' status and priority words mapped to the canonical model and back (the tables of docs/rest.md)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pytest

from tests.fixtures.http_server import bearer
from tests.fixtures.rest_world import Rest, json_of
from tickets_mcp.core.local import LocalTracker
from tickets_mcp.core.tracker import Principal, TicketDraft
from tickets_mcp.domain import CLOSED_STATUSES, Priority, Status
from tickets_mcp.domain.vocabulary import (
    ABF_STATUS,
    AGENTSMESH_STATUS,
    BUGTOME_PRIORITY,
    BUGTOME_STATUS,
    AbfStatus,
    AgentsMeshStatus,
    BugToMePriority,
    BugToMeStatus,
    Vocabulary,
)
from tickets_mcp.stores.factory import open_store

# canonical -> (BugToMe, AgentsMesh, ABF), as docs/rest.md writes it
STATUS_TABLE = {
    Status.BACKLOG: ("open", "backlog", "open"),
    Status.TODO: ("open", "todo", "open"),
    Status.IN_PROGRESS: ("in_progress", "in_progress", "open"),
    Status.IN_REVIEW: ("resolved", "in_review", "open"),
    Status.DONE: ("closed", "done", "closed"),
    Status.CANCELED: ("closed", "done", "closed"),
}
# word -> canonical value a new ticket or a change gets
INWARD = {
    "bugtome": {"open": Status.BACKLOG, "in_progress": Status.IN_PROGRESS, "resolved": Status.IN_REVIEW,
                "closed": Status.DONE},
    "agentsmesh": {"backlog": Status.BACKLOG, "todo": Status.TODO, "in_progress": Status.IN_PROGRESS,
                   "in_review": Status.IN_REVIEW, "done": Status.DONE},
    "abf": {"open": Status.BACKLOG, "closed": Status.DONE},
}  # fmt: skip
STATUSES: dict[str, tuple[Vocabulary[Any, Status], type[StrEnum]]] = {
    "bugtome": (BUGTOME_STATUS, BugToMeStatus),
    "agentsmesh": (AGENTSMESH_STATUS, AgentsMeshStatus),
    "abf": (ABF_STATUS, AbfStatus),
}
DIALECTS = list(STATUSES)


@pytest.mark.parametrize("status", list(Status))
def test_every_canonical_status_reads_as_the_documented_word_in_each_dialect(status: Status) -> None:
    words = tuple(STATUSES[d][0].word(status).value for d in DIALECTS)
    assert words == STATUS_TABLE[status]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_dialect_word_maps_in_as_documented_and_reads_back_as_itself(dialect: str) -> None:
    vocabulary, words = STATUSES[dialect]
    for word in words:
        canonical = vocabulary.canonical(word)
        assert canonical == INWARD[dialect][word.value]
        assert vocabulary.word(canonical) == word


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_word_that_already_describes_the_current_status_keeps_it(dialect: str) -> None:
    vocabulary, _ = STATUSES[dialect]
    for current in Status:
        word = vocabulary.word(current)
        assert vocabulary.canonical(word, current) == current


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_word_filters_for_every_canonical_status_that_reads_as_it(dialect: str) -> None:
    vocabulary, words = STATUSES[dialect]
    covered = [status for word in words for status in vocabulary.meaning(word)]
    assert sorted(covered) == sorted(Status)
    for word in words:
        assert all(vocabulary.word(status) == word for status in vocabulary.meaning(word))


def test_open_and_closed_mean_the_canonical_open_and_closed_statuses() -> None:
    assert set(ABF_STATUS.meaning(AbfStatus.CLOSED)) == CLOSED_STATUSES
    assert set(BUGTOME_STATUS.meaning(BugToMeStatus.CLOSED)) == CLOSED_STATUSES
    assert set(ABF_STATUS.meaning(AbfStatus.OPEN)) == set(Status) - CLOSED_STATUSES


@pytest.mark.parametrize(
    ("priority", "word"),
    [(Priority.LOW, "low"), (Priority.MEDIUM, "medium"), (Priority.HIGH, "high"), (Priority.URGENT, "critical")],
)
def test_bugtome_priorities_map_both_ways_with_critical_for_urgent(priority: Priority, word: str) -> None:
    assert BUGTOME_PRIORITY.word(priority) == word
    assert BUGTOME_PRIORITY.canonical(BugToMePriority(word)) == priority
    assert BUGTOME_PRIORITY.meaning(BugToMePriority(word)) == (priority,)


# The same ticket seen through every dialect


async def seen_everywhere(rest: Rest, slug: str) -> tuple[str, str, str]:
    headers = bearer(rest.tokens.alice)
    number = slug.rsplit("-", 1)[1]
    bugtome = json_of(await rest.client.get(f"/api/v1/mcp/organizations/{rest.org}/tickets", headers=headers), 200)
    mesh = json_of(await rest.client.get(f"/api/v1/ext/orgs/{rest.org}/tickets/{slug}", headers=headers), 200)
    abf = json_of(await rest.client.get(f"/api/v1/projects/{rest.project}/issues/{number}.json", headers=headers), 200)
    (bugtome_ticket,) = [t for t in bugtome["tickets"] if t["slug"] == slug]
    return bugtome_ticket["status"], mesh["ticket"]["status"], abf["issue"]["status"]


@pytest.mark.anyio
async def test_a_status_set_through_one_dialect_reads_as_the_mapped_word_in_the_others(rest: Rest) -> None:
    headers = bearer(rest.tokens.alice)
    created = await rest.client.post(
        "/api/v1/tickets", json={"title": "Roundtrip", "project_id": rest.project}, headers=headers
    )
    slug = json_of(created, 201)["ticket"]["slug"]
    assert await seen_everywhere(rest, slug) == STATUS_TABLE[Status.BACKLOG]
    for status in (Status.TODO, Status.IN_PROGRESS, Status.IN_REVIEW, Status.DONE):
        url = f"/api/v1/ext/orgs/{rest.org}/tickets/{slug}/status"
        json_of(await rest.client.patch(url, json={"status": status.value}, headers=headers), 200)
        assert await seen_everywhere(rest, slug) == STATUS_TABLE[status]


@pytest.mark.anyio
async def test_a_canceled_ticket_stays_canceled_when_closed_again_and_sits_in_the_done_column(rest: Rest) -> None:
    # No dialect can cancel a ticket (none has the word), so the test files one through the core.
    store = await open_store(rest.db)
    try:
        alice = rest.person("alice")
        tracker = LocalTracker(store, Principal(user_id=alice.id, username=alice.username))
        ticket = (
            await tracker.create_ticket(TicketDraft(title="Won't do", project=rest.project, status=Status.CANCELED))
        ).ticket
    finally:
        await store.close()
    headers = bearer(rest.tokens.alice)
    assert await seen_everywhere(rest, ticket.slug) == STATUS_TABLE[Status.CANCELED]
    url = f"/api/v1/projects/{rest.project}/issues/{ticket.number}.json"
    json_of(await rest.client.put(url, json={"issue": {"status": "closed"}}, headers=headers), 200)
    mesh_url = f"/api/v1/ext/orgs/{rest.org}/tickets/{ticket.slug}/status"
    json_of(await rest.client.patch(mesh_url, json={"status": "done"}, headers=headers), 200)
    board = json_of(await rest.client.get(f"/api/v1/ext/orgs/{rest.org}/tickets/board", headers=headers), 200)
    done = next(c for c in board["board"]["columns"] if c["status"] == "done")
    assert [t["slug"] for t in done["tickets"]] == [ticket.slug]
    projects = json_of(await rest.client.get(f"/api/v1/mcp/organizations/{rest.org}/projects", headers=headers), 200)
    assert projects["projects"][0]["open_tickets_count"] == 0
    closed = await rest.client.get(f"/api/v1/ext/orgs/{rest.org}/tickets", params={"status": "done"}, headers=headers)
    assert [t["slug"] for t in json_of(closed, 200)["tickets"]] == [ticket.slug]


@pytest.mark.anyio
async def test_a_resolved_bugtome_ticket_still_counts_as_open(rest: Rest) -> None:
    headers = bearer(rest.tokens.alice)
    body = {"title": "Fixed, to verify", "project_id": rest.project, "status": "resolved", "priority": "critical"}
    json_of(await rest.client.post("/api/v1/tickets", json=body, headers=headers), 201)
    mesh = json_of(await rest.client.get(f"/api/v1/ext/orgs/{rest.org}/tickets/{rest.slug(1)}", headers=headers), 200)[
        "ticket"
    ]
    assert (mesh["status"], mesh["priority"]) == ("in_review", "urgent")
    projects = json_of(await rest.client.get(f"/api/v1/mcp/organizations/{rest.org}/projects", headers=headers), 200)
    assert projects["projects"][0]["open_tickets_count"] == 1
