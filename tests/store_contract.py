"""What the store contract suites share: a store of each kind, a small world in it, and a look at its tables.

`store` is parametrized over SQLite and PostgreSQL (skipped without TRACKER_TEST_POSTGRES_URL); every
contract test runs against both, so both stores prove the same behaviour. Registered as a pytest
plugin in conftest.py.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tracker_mcp.config import PostgresUrl
from tracker_mcp.domain import Organization, Priority, Project, Role, Status, Ticket, TicketType, User
from tracker_mcp.store import Actor, NewTicket, Store
from tracker_mcp.store.factory import open_store


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Path | PostgresUrl:
    """Where the store under test lives: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        return tmp_path / "tracker.db"
    url: PostgresUrl = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def store(location: Path | PostgresUrl) -> AsyncIterator[Store]:
    opened = await open_store(location)
    yield opened
    await opened.close()


def table_rows(location: Path | PostgresUrl, query: str) -> list[tuple[Any, ...]]:
    """Rows of a read-only query without parameters, run beside the store with the plain driver."""
    if isinstance(location, PostgresUrl):
        with psycopg.connect(location.url) as conn:
            return conn.execute(query.encode()).fetchall()
    with contextlib.closing(sqlite3.connect(location)) as conn:
        return conn.execute(query).fetchall()


def events(location: Path | PostgresUrl) -> list[tuple[str, str, dict[str, Any]]]:
    """The audit trail as (action, subject, changes), oldest first."""
    found = table_rows(location, "SELECT action, subject, changes FROM events ORDER BY id")
    return [(a, s, json.loads(c) if isinstance(c, str) else c) for a, s, c in found]


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
