"""The remote adapter contract (tests/fixtures/remote_contract.py) for the Jira adapter, in front of the fake Jira
site (tests/fixtures/fake_jira.py, as tests/fixtures/jira_peer.py's JiraPeer): Jira cannot run here, so every
request and answer of every test goes through Atlassian's OpenAPI document, and none may fall outside it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.jira_peer import JiraPeer
from tests.fixtures.remote_contract import Peer, RemoteContract
from tickets_mcp.core.tracker import TicketDraft
from tickets_mcp.remotes.base import RemoteTracker


@pytest.fixture
def peer() -> Iterator[Peer]:
    jira = JiraPeer()
    yield jira
    assert jira.fake.referee.violations == []
    assert jira.fake.refused == []


class TestJiraContract(RemoteContract):
    async def test_sub_tasks_show_with_their_parent_and_go_with_it(self, peer: Peer, tracker: RemoteTracker) -> None:
        """Jira keeps one level of sub-tasks: the contract's grandchild is refused, the rest holds as written."""
        project = await peer.new_project()
        parent = (await tracker.create_ticket(TicketDraft(title="Parent", project=project.id))).ticket
        child = (await tracker.create_ticket(TicketDraft(title="Child", project=project.id, parent=parent.slug))).ticket
        assert child.parent == parent.slug
        assert [t.slug for t in (await tracker.get_ticket(parent.slug)).subtasks] == [child.slug]
        with pytest.raises(Exception, match="sub-task itself"):
            await tracker.create_ticket(TicketDraft(title="Grandchild", project=project.id, parent=child.slug))
        impact = await tracker.ticket_deletion(parent.slug)
        assert (impact.slug, impact.subtasks) == (parent.slug, (child.slug,))
