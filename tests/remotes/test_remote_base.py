"""What RemoteTracker decides for every adapter, without a peer: which capabilities an adapter has (the ones
it declares, never one added after it was written), and that what needs a missing one is refused before
anything is sent."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import pytest

from tickets_mcp.core.tracker import TicketChanges, TicketDraft, TicketFilter
from tickets_mcp.domain import (
    Capability,
    EstimateUnit,
    LinkKind,
    Organization,
    Project,
    Ticket,
    TicketDetail,
    TicketPage,
    TicketSort,
    User,
    Workspace,
)
from tickets_mcp.errors import Unsupported
from tickets_mcp.remotes import ADAPTERS
from tickets_mcp.remotes.base import RemoteTracker
from tickets_mcp.remotes.client import RemoteClient

pytestmark = pytest.mark.anyio


def adapter_classes() -> list[type[RemoteTracker]]:
    found: list[type[RemoteTracker]] = []
    for module_name in ADAPTERS.values():
        module = importlib.import_module(module_name)
        found += [
            cls
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, RemoteTracker) and cls.__module__ == module_name
        ]
    return found


# The methods of RemoteTracker that refuse each capability until an adapter overrides them.
REFUSING: dict[Capability, tuple[str, ...]] = {
    Capability.MANAGE_PROJECTS: ("create_project", "update_project", "project_deletion", "delete_project"),
    Capability.EDIT_TICKETS: ("change",),
    Capability.DELETE_TICKETS: ("ticket_deletion", "delete_ticket"),
    Capability.COMMENT: ("add_comment",),
    Capability.BOARD: ("get_board",),
    Capability.LINKS: ("link_tickets",),
    Capability.MILESTONES: ("list_milestones", "save_milestone"),
    Capability.ESTIMATES: ("set_estimate_unit",),
    Capability.TIME_TRACKING: ("log_time",),
}


def test_there_is_an_adapter_class_for_every_backend() -> None:
    assert sorted(cls.name for cls in adapter_classes()) == sorted(ADAPTERS)


@pytest.mark.parametrize("adapter", adapter_classes(), ids=lambda cls: cls.name)
def test_an_adapter_misses_every_capability_it_does_not_declare_it_maps(adapter: type[RemoteTracker]) -> None:
    assert adapter.missing == frozenset(Capability) - adapter.maps
    assert adapter.maps <= frozenset(Capability)


@pytest.mark.parametrize("adapter", adapter_classes(), ids=lambda cls: cls.name)
def test_an_adapter_that_maps_a_capability_overrides_each_method_that_refuses_it(
    adapter: type[RemoteTracker],
) -> None:
    for capability in adapter.maps:
        for method in REFUSING.get(capability, ()):
            assert getattr(adapter, method) is not getattr(RemoteTracker, method), (adapter.name, method)


class Silent(RemoteTracker):
    """An adapter written before any planning capability existed: it declares only what it had then. Its
    API is never reached: whatever gets that far fails the test."""

    name: ClassVar[str] = "silent"
    maps: ClassVar[frozenset[Capability]] = frozenset({Capability.EDIT_TICKETS, Capability.COMMENT})

    async def _sent(self) -> Any:
        raise AssertionError("a request was sent for what the backend cannot do")

    async def workspace(self) -> Workspace:
        return await self._sent()

    async def list_organizations(self) -> list[Organization]:
        return await self._sent()

    async def list_projects(self, organization: str | None = None) -> list[Project]:
        return await self._sent()

    async def find_tickets(self, query: TicketFilter) -> TicketPage:
        return await self._sent()

    async def get_ticket(self, slug: str, *, history: int = 5) -> TicketDetail:
        return await self._sent()

    async def file_ticket(self, draft: TicketDraft) -> Ticket:
        return await self._sent()

    async def change(self, slug: str, changes: TicketChanges, version: int | None) -> Ticket:
        return await self._sent()


def test_a_capability_added_after_an_adapter_was_written_is_missing_for_it() -> None:
    assert Silent.missing == frozenset(Capability) - {Capability.EDIT_TICKETS, Capability.COMMENT}
    assert {Capability.LINKS, Capability.MILESTONES, Capability.TIME_TRACKING} <= Silent.missing


async def test_what_needs_a_missing_capability_is_refused_naming_it_before_anything_is_sent() -> None:
    tracker = Silent(RemoteClient("silent", "https://silent.example.com/", {}))
    probes: list[tuple[Capability, Callable[[], Awaitable[object]]]] = [
        (Capability.LINKS, lambda: tracker.link_tickets("WEB-1", LinkKind.BLOCKS, "WEB-2")),
        (Capability.LINKS, lambda: tracker.list_tickets(TicketFilter(blocked=False))),
        (Capability.MILESTONES, lambda: tracker.list_milestones("WEB")),
        (Capability.MILESTONES, lambda: tracker.save_milestone("WEB", "v1", closed=True)),
        (Capability.MILESTONES, lambda: tracker.list_tickets(TicketFilter(milestone="v1"))),
        (Capability.MILESTONES, lambda: tracker.create_ticket(TicketDraft(title="T", milestone="v1"))),
        (Capability.DUE_DATES, lambda: tracker.create_ticket(TicketDraft(title="T", due_date="friday"))),
        (Capability.DUE_DATES, lambda: tracker.update_ticket("WEB-1", TicketChanges(due_date="none"))),
        (Capability.DUE_DATES, lambda: tracker.list_tickets(TicketFilter(overdue=True))),
        (Capability.DUE_DATES, lambda: tracker.list_tickets(TicketFilter(sort=TicketSort.DUE))),
        (Capability.ESTIMATES, lambda: tracker.update_ticket("WEB-1", TicketChanges(estimate=0.0))),
        (Capability.ESTIMATES, lambda: tracker.set_estimate_unit("WEB", EstimateUnit.POINTS)),
        (Capability.TIME_TRACKING, lambda: tracker.log_time("WEB-1", 1)),
        (Capability.SUBTASKS, lambda: tracker.list_tickets(TicketFilter(parent="WEB-1"))),
    ]
    for capability, probe in probes:
        refusal = "^" + re.escape(f"The silent backend cannot {capability.value}:")
        with pytest.raises(Unsupported, match=refusal) as refused:
            await probe()
        assert refused.value.hint == "get_workspace_context lists what this backend can do."
    batch = await tracker.create_tickets([TicketDraft(title="T", estimate=1)])
    assert isinstance(batch.outcomes[0], Unsupported)
    await tracker.aclose()


def test_the_workspace_names_what_the_backend_misses() -> None:
    tracker = Silent(RemoteClient("silent", "https://silent.example.com/", {}))
    shown = tracker.with_capabilities(Workspace(user=User(id=1, username="a", name="A"), organizations=()))
    assert (shown.backend, shown.missing) == ("silent", Silent.missing)
