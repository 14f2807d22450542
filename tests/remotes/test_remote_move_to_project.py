"""Moving a ticket to another project in front of a remote tracker: the native backend has its server move it
(GitLab's move is tested in tests/remotes/test_remote_gitlab_files.py); the other adapters refuse, saying to move
it in the tracker itself (docs/remote.md says which APIs could)."""

from __future__ import annotations

import pytest

from tests.fixtures.asgi_server import serving_app
from tests.fixtures.stores import Location
from tickets_mcp.config import RemoteSettings
from tickets_mcp.core.tracker import TicketDraft
from tickets_mcp.errors import Invalid, Unsupported
from tickets_mcp.remotes import native
from tickets_mcp.remotes.bugtome import BugToMeTracker
from tickets_mcp.remotes.client import RemoteClient

pytestmark = pytest.mark.anyio


async def test_the_native_backend_has_its_server_move_the_ticket(store_location: Location) -> None:
    with serving_app(store_location) as server:
        token = server.create_token("--user", "alice")
        settings = RemoteSettings("native", server.url, token)
        tracker = await native.open_adapter(settings, transport=server.async_transport())
        try:
            await tracker.create_project("Web", code="WEB")
            slug = (await tracker.create_ticket(TicketDraft(title="Misfiled", project="INBOX"))).ticket.slug
            moved = await tracker.move_to_project(slug, "WEB", version=1)
            assert (moved.moved_from, moved.ticket.slug, moved.ticket.version) == (slug, "WEB-1", 2)
            assert (await tracker.get_ticket(slug)).moved_from == (slug,)
            with pytest.raises(Invalid, match="already in WEB"):
                await tracker.move_to_project(slug, "WEB")
        finally:
            await tracker.aclose()


async def test_an_adapter_that_does_not_move_tickets_says_where_to_do_it() -> None:
    tracker = BugToMeTracker(RemoteClient("bugtome", "http://127.0.0.1:9", {}))
    try:
        with pytest.raises(Unsupported, match="bugtome backend does not move tickets") as refused:
            await tracker.move_to_project("WEB-1", "OPS")
        assert "Move it in bugtome itself" in (refused.value.hint or "")
    finally:
        await tracker.aclose()
