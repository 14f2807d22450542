"""What a request costs in statements once its token and reach are cached: get_ticket reads the identity
version, finds the ticket and reads everything it shows in one statement; list_tickets reads a page with
its count in one. Each statement outside a transaction (Engine.peek) is one round trip on PostgreSQL. On
SQLite and PostgreSQL alike; fixtures in store_contract.py."""

from __future__ import annotations

import pytest

from tests.fixtures.store_contract import World
from tests.fixtures.stores import counted
from tickets_mcp.core.local_backend import LocalBackend
from tickets_mcp.core.tokens import issue_token
from tickets_mcp.core.tracker import Principal, TicketDraft, TicketFilter, Tracker
from tickets_mcp.domain import LinkKind, TokenKind
from tickets_mcp.stores import Store

pytestmark = pytest.mark.anyio


async def test_get_ticket_and_list_tickets_cost_a_few_statements_each(
    store: Store, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = LocalBackend(store, Principal(user_id=world.alice.id, username="alice"))
    secret = (await issue_token(store, kind=TokenKind.PERSONAL, name="t", user=world.alice, actor=world.actor)).secret

    async def request() -> Tracker:
        principal = await backend.authenticate(secret)
        assert principal is not None
        return backend.tracker(principal)

    tracker = await request()
    parent = (await tracker.create_ticket(TicketDraft(title="Checkout fails with a 500"))).ticket
    child = (await tracker.create_ticket(TicketDraft(title="Log the payment error", parent=parent.slug))).ticket
    await tracker.add_comment(parent.slug, "Seen twice today.")
    await tracker.link_tickets(parent.slug, LinkKind.BLOCKS, child.slug)
    await tracker.log_time(parent.slug, 1.5, note="looked")
    await (await request()).get_ticket(parent.slug)  # warm: the token and reach cached
    with counted(monkeypatch) as queries:
        shown = await (await request()).get_ticket(parent.slug)
    assert len(queries) == 3, queries  # the identity version, the ticket found by its slug, then all it shows
    assert [t.slug for t in shown.subtasks] == [child.slug] and [c.body for c in shown.comments] == [
        "Seen twice today."
    ]
    assert [link.slug for link in shown.links] == [child.slug] and [e.hours for e in shown.time_entries] == [1.5]
    assert [h.action for h in shown.history][:1] == ["ticket.created"] and shown.changes == len(shown.history)
    with counted(monkeypatch) as queries:
        page = await (await request()).list_tickets(TicketFilter(limit=1))
    assert len(queries) == 2, queries  # the identity version, then the page with its count
    assert (page.total, page.tickets[0].slug, page.next_cursor is not None) == (2, child.slug, True)
