"""What the store contract suites share: a store of each kind, and a small world in it.

`store` is parametrized over SQLite and PostgreSQL (conftest.py's store_location; skipped without
TICKETS_TEST_POSTGRES_URL); every contract test runs against both, so both stores prove the same
behaviour. Registered as a pytest plugin in conftest.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest

from tests.stores import Location
from tickets_mcp.domain import Organization, Priority, Project, Role, Status, Ticket, TicketType, User
from tickets_mcp.stores import Actor, NewTicket, Store, TicketQuery
from tickets_mcp.stores.factory import open_store


@pytest.fixture
def location(store_location: Location) -> Location:
    """Where the store under test lives: conftest's store_location, a new SQLite file or PostgreSQL schema."""
    return store_location


@pytest.fixture
async def store(location: Location) -> AsyncIterator[Store]:
    opened = await open_store(location)
    yield opened
    await opened.close()


@pytest.fixture
async def local_store(store: Store) -> Store:
    """The store as the first stdio start leaves it: alice owns organization Local with project INBOX."""
    alice = await store.ensure_user("alice", "Alice")
    await store.ensure_local_workspace(alice, "Local", "Inbox", "INBOX")
    return store


@dataclass(frozen=True)
class World:
    """alice owns the Local organization (slug local) and its Inbox project (INBOX); bob is a member."""

    alice: User
    bob: User
    organization: Organization
    inbox: Project

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.alice.id, client="contract")


@pytest.fixture
async def world(store: Store) -> World:
    alice = await store.ensure_user("alice", "Alice")
    await store.ensure_local_workspace(alice, "Local", "Inbox", "INBOX")
    (organization,) = await store.all_organizations()
    bob = await store.ensure_user("bob", "Bob")
    await store.set_member(organization.id, bob, Role.MEMBER, Actor(user_id=alice.id))
    (inbox,) = await store.list_projects([organization.id])
    return World(alice=alice, bob=bob, organization=organization, inbox=inbox)


def draft(
    world: World,
    title: str,
    *,
    project: Project | None = None,
    type: TicketType = TicketType.TASK,
    description: str = "",
    status: Status = Status.BACKLOG,
    priority: Priority = Priority.MEDIUM,
    assignee: User | None = None,
    labels: tuple[str, ...] = (),
    parent: Ticket | None = None,
) -> NewTicket:
    """A new ticket in INBOX (or `project`), reported by alice."""
    return NewTicket(
        project_id=(project or world.inbox).id,
        type=type,
        title=title,
        description=description,
        status=status,
        priority=priority,
        assignee_id=assignee.id if assignee else None,
        reporter_id=world.alice.id,
        labels=labels,
        parent_id=parent.id if parent else None,
    )


async def walk(store: Store, query: TicketQuery, total: int) -> list[int]:
    """The numbers of every page's tickets, following next_cursor; each page must state `total`."""
    walked: list[int] = []
    cursor: str | None = None
    for _ in range(20):
        page = await store.list_tickets(replace(query, cursor=cursor))
        assert page.total == total
        walked += [t.number for t in page.tickets]
        cursor = page.next_cursor
        if cursor is None:
            return walked
    raise AssertionError("the cursor never ran out")
