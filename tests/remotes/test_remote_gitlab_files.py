"""Files on GitLab issues and moving an issue to another project (remotes/gitlab_files.py), against the fake GitLab
(tests/fixtures/fake_gitlab.py, its "Uploads and moves" section)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import AsyncGenerator, Iterator
from typing import Any

import httpx2
import pytest
from mcp.types import TextContent

from tests.fixtures.fake_gitlab import GUEST, FakeGitLab, standard_world
from tests.fixtures.gitlab_suite import adapter_for, mcp_client
from tests.fixtures.tool_calls import call, call_error
from tickets_mcp.core.tracker import TicketDraft
from tickets_mcp.domain import Capability, Priority, Status, TicketType
from tickets_mcp.errors import Conflict, Invalid, NotFound, PermissionDenied, TooLarge
from tickets_mcp.http.board.pages import ticket_body
from tickets_mcp.remotes.gitlab import GitLabTracker
from tickets_mcp.remotes.gitlab_files import attachment_id

pytestmark = pytest.mark.anyio

# A 1x1 PNG: binary, with bytes no text holds.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
ALICE, BOB = 1, 2


@pytest.fixture
def fake() -> Iterator[FakeGitLab]:
    world = standard_world()
    yield world
    assert world.referee.violations == []  # GitLab's OpenAPI document referees every request and answer


@pytest.fixture
async def tracker(fake: FakeGitLab) -> AsyncGenerator[GitLabTracker]:
    async with adapter_for(fake) as opened:
        yield opened


def issue_of(fake: FakeGitLab, project_id: int, iid: int) -> dict[str, Any]:
    return next(i for i in fake.issues.values() if i["project_id"] == project_id and i["iid"] == iid)


def notes_of(fake: FakeGitLab, project_id: int, iid: int) -> list[dict[str, Any]]:
    return [n for n in fake.notes.get(issue_of(fake, project_id, iid)["id"], []) if not n["system"]]


def paths(fake: FakeGitLab, method: str) -> list[str]:
    return [r.url.path for r in fake.requests if r.method == method]


def bob_writes(fake: FakeGitLab, project_id: int, iid: int, text: str) -> None:
    """bob comments in GitLab's own UI."""
    fake.create_note(fake.users[BOB], httpx2.QueryParams(), {"body": text}, project_id, iid)


# Attaching and listing


async def test_attaching_uploads_the_file_and_a_note_shows_it_on_the_issue(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Has files", project="WEB"))).ticket
    text = await tracker.attach_file(ticket.slug, "../logs/trace.log", b"line one\nline two\n")
    image = await tracker.attach_file(ticket.slug, "notes.txt", PNG)  # the name says text; the bytes say PNG
    assert (text.name, text.mime, text.size, text.ticket_slug) == ("trace.log", "text/plain", 18, "WEB-1")
    assert (text.sha256, text.uploader) == (hashlib.sha256(b"line one\nline two\n").hexdigest(), "alice")
    assert (image.name, image.mime, image.size) == ("notes.txt", "image/png", len(PNG))

    (upload_request, _) = [r for r in fake.requests if r.url.path == "/api/v4/projects/101/uploads"]
    assert upload_request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="file"; filename="trace.log"' in upload_request.content
    uploads = sorted(fake.uploads.values(), key=lambda u: u.id)
    assert [(u.filename, u.content, u.project_id) for u in uploads] == [
        ("trace.log", b"line one\nline two\n", 101),
        ("notes.txt", PNG, 101),
    ]
    bodies = [note["body"] for note in notes_of(fake, 101, 1)]
    assert bodies == [
        f"[trace.log](/uploads/{uploads[0].secret}/trace.log)",
        f"[notes.txt](/uploads/{uploads[1].secret}/notes.txt)",
    ]
    assert text.id == attachment_id(uploads[0].secret)


async def test_get_ticket_lists_the_files_the_issue_links_as_gitlab_describes_them(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Listed", project="WEB"))).ticket
    ours = await tracker.attach_file(ticket.slug, "trace.log", b"trace")
    detail = await tracker.get_ticket(ticket.slug)
    (listed,) = detail.attachments
    # GitLab keeps no size or type for an upload: the size is unknown until read, the type what the name says.
    assert (listed.id, listed.name, listed.size, listed.sha256, listed.uploader) == (
        ours.id,
        "trace.log",
        None,
        "",
        "alice",
    )
    assert listed.mime == "application/octet-stream"
    assert [c.body for c in detail.comments] == [
        f"[trace.log](/uploads/{next(iter(fake.uploads.values())).secret}/trace.log)"
    ]


async def test_the_board_ticket_page_leaves_out_a_size_gitlab_does_not_tell(tracker: GitLabTracker) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="On the board", project="WEB"))).ticket
    await tracker.attach_file(ticket.slug, "trace.log", b"trace")
    page = ticket_body(await tracker.get_ticket(ticket.slug), writable=False)
    (shown,) = re.findall(r'<span class="muted">([^<]*)<time', page)
    assert shown == "application/octet-stream, by alice, "


async def test_files_people_link_in_gitlab_are_listed_once_each_oldest_first(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    shot = fake.upload(fake.users[BOB], 101, "login screen.png", PNG)
    spec = fake.upload(fake.users[BOB], 101, "spec.pdf", b"%PDF-1.4 spec")
    fake.file_issue(101, "bob", "Login broken", f"See {shot['markdown']}{{width=300}} and again {shot['url']}.")
    bob_writes(fake, 101, 1, f"The spec: {spec['markdown']}\n\nAnd the screenshot once more: {shot['markdown']}")
    detail = await tracker.get_ticket("WEB-1")
    assert [(a.name, a.mime, a.uploader) for a in detail.attachments] == [
        ("login_screen.png", "image/png", "bob"),  # GitLab's name for it: the space became _
        ("spec.pdf", "application/pdf", "bob"),
    ]
    assert detail.attachments[0].created_at == detail.ticket.created_at
    assert detail.attachments[1].created_at == detail.comments[0].created_at
    described, content = await tracker.attachment("WEB-1", detail.attachments[0].id)
    assert (content, described.mime, described.size) == (PNG, "image/png", len(PNG))


async def test_reading_a_file_gets_its_bytes_with_the_type_sniffed_from_them(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    fake.file_issue(101, "bob", "Odd file", "")
    page = fake.upload(fake.users[BOB], 101, "page.png", b"<html><script>alert(1)</script>")
    bob_writes(fake, 101, 1, page["markdown"])
    (listed,) = (await tracker.get_ticket("WEB-1")).attachments
    assert listed.mime == "image/png"  # what the name says, all a listing has
    described, content = await tracker.attachment("WEB-1", listed.id)
    assert (described.mime, described.size, content) == ("text/html", 31, b"<html><script>alert(1)</script>")
    assert described.sha256 == hashlib.sha256(content).hexdigest()
    secret = page["url"].split("/")[2]
    assert paths(fake, "GET")[-1] == f"/api/v4/projects/101/uploads/{secret}/page.png"


# Bad input


async def test_an_unknown_id_or_another_issues_file_is_not_found_on_this_ticket(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    mine = (await tracker.create_ticket(TicketDraft(title="Mine", project="DOTFILES"))).ticket
    other = (await tracker.create_ticket(TicketDraft(title="Other", project="DOTFILES"))).ticket
    theirs = await tracker.attach_file(other.slug, "secret.txt", b"not yours")
    for wrong in (theirs.id, 1, 2**40):
        with pytest.raises(NotFound, match=f"DOTFILES-1 has no attachment {wrong}") as missing:
            await tracker.attachment(mine.slug, wrong)
        assert missing.value.hint == "get_ticket lists its attachments."
        with pytest.raises(NotFound, match=f"DOTFILES-1 has no attachment {wrong}"):
            await tracker.delete_attachment(mine.slug, wrong)
    assert (await tracker.attachment(other.slug, theirs.id))[1] == b"not yours"
    assert len(fake.uploads) == 1


async def test_a_file_over_the_limit_or_empty_is_refused_before_any_request(
    fake: FakeGitLab, tracker: GitLabTracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await tracker.create_ticket(TicketDraft(title="Small files", project="WEB"))
    monkeypatch.setenv("TICKETS_ATTACHMENT_MAX", "1KiB")
    sent = len(fake.requests)
    with pytest.raises(TooLarge, match=r"1 KiB \(1,025 bytes\); this server takes files up to 1 KiB"):
        await tracker.attach_file("WEB-1", "big.bin", b"x" * 1025)
    with pytest.raises(Invalid, match="The file is empty"):
        await tracker.attach_file("WEB-1", "empty.txt", b"")
    assert len(fake.requests) == sent
    assert not fake.uploads


async def test_a_file_gitlab_finds_too_large_is_refused_naming_gitlabs_limit(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    await tracker.create_ticket(TicketDraft(title="GitLab's limit", project="WEB"))
    fake.upload_max = 4
    with pytest.raises(TooLarge, match=r"GitLab refused trace\.log as too large") as refused:
        await tracker.attach_file("WEB-1", "trace.log", b"12345")
    assert "maximum attachment size" in (refused.value.hint or "")
    assert not fake.uploads and not notes_of(fake, 101, 1)


async def test_a_file_on_gitlab_larger_than_our_limit_is_not_read_past_it(
    fake: FakeGitLab, tracker: GitLabTracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Big file", project="WEB"))).ticket
    big = await tracker.attach_file(ticket.slug, "big.txt", b"y" * 4096)
    monkeypatch.setenv("TICKETS_ATTACHMENT_MAX", "1KiB")
    with pytest.raises(TooLarge, match=r"big\.txt is larger than this server reads \(1 KiB\)") as refused:
        await tracker.attachment(ticket.slug, big.id)
    assert "Open it in GitLab" in (refused.value.hint or "")


async def test_a_file_gitlab_no_longer_has_is_not_found_saying_so(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Gone file", project="WEB"))).ticket
    gone = await tracker.attach_file(ticket.slug, "gone.txt", b"gone")
    fake.uploads.clear()  # deleted in GitLab: the note's link stays
    with pytest.raises(NotFound, match=r"GitLab has no file gone\.txt in WEB any more") as missing:
        await tracker.attachment(ticket.slug, gone.id)
    assert "17.4" in (missing.value.hint or "")


# Deleting


async def test_deleting_a_file_needs_a_maintainer_and_says_so(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Keep file", project="WEB"))).ticket
    kept = await tracker.attach_file(ticket.slug, "kept.txt", b"kept")
    with pytest.raises(PermissionDenied, match="only maintainers and owners of acme/web delete files") as refused:
        await tracker.delete_attachment(ticket.slug, kept.id)
    assert "Ask a maintainer" in (refused.value.hint or "")
    assert len(fake.uploads) == 1 and len(notes_of(fake, 101, 1)) == 1
    assert [a.id for a in (await tracker.get_ticket(ticket.slug)).attachments] == [kept.id]


async def test_deleting_a_file_removes_the_upload_and_every_link_to_it(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Clean up", project="DOTFILES"))).ticket
    kept = await tracker.attach_file(ticket.slug, "kept.txt", b"kept")
    gone = await tracker.attach_file(ticket.slug, "gone.txt", b"gone")
    (gone_upload,) = [u for u in fake.uploads.values() if u.filename == "gone.txt"]
    link = f"[gone.txt](/uploads/{gone_upload.secret}/gone.txt)"
    await tracker.add_comment(ticket.slug, f"Here it is again: {link}, see above.")
    fake.edit_issue(
        fake.users[ALICE],
        httpx2.QueryParams(),
        {
            "description": f"Logs: {link}\n\nAt https://gitlab.example.com/alice/dotfiles/uploads/{gone_upload.secret}/gone.txt."
        },
        103,
        1,
    )

    deleted = await tracker.delete_attachment(ticket.slug, gone.id)
    assert (deleted.id, deleted.name) == (gone.id, "gone.txt")
    assert [u.filename for u in fake.uploads.values()] == ["kept.txt"]
    assert [n["body"] for n in notes_of(fake, 103, 1)] == [
        f"[kept.txt](/uploads/{fake.uploads[min(fake.uploads)].secret}/kept.txt)",  # gone.txt's own note is deleted
        "Here it is again: gone.txt (deleted), see above.",
    ]
    assert issue_of(fake, 103, 1)["description"] == "Logs: gone.txt (deleted)\n\nAt gone.txt (deleted)."
    assert [a.id for a in (await tracker.get_ticket(ticket.slug)).attachments] == [kept.id]
    with pytest.raises(NotFound, match=f"has no attachment {gone.id}"):
        await tracker.attachment(ticket.slug, gone.id)


async def test_attachments_are_a_capability_of_the_gitlab_backend(tracker: GitLabTracker) -> None:
    assert Capability.ATTACHMENTS in GitLabTracker.maps
    assert Capability.ATTACHMENTS not in (await tracker.workspace()).missing


# Moving to another project


async def test_moving_a_ticket_gives_it_a_new_slug_and_keeps_its_fields(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    draft = TicketDraft(
        title="Misfiled", project="WEB", description="Belongs elsewhere", status=Status.IN_PROGRESS,
        type=TicketType.BUG, priority=Priority.HIGH, labels=("ui",), assignee="bob",
    )  # fmt: skip
    ticket = (await tracker.create_ticket(draft)).ticket
    await tracker.add_comment(ticket.slug, "Noticed on Monday")
    version = (await tracker.get_ticket(ticket.slug)).ticket.version
    moved = await tracker.move_to_project(ticket.slug, "TRACKERMCP", version=version)
    assert (moved.moved_from, moved.ticket.slug, moved.subtasks, moved.parent) == ("WEB-1", "TRACKERMCP-1", {}, None)
    new = moved.ticket
    # GitLab keeps only the labels the target project has; the adapter puts the others back.
    assert (new.status, new.type, new.priority, [label.name for label in new.labels]) == (
        Status.IN_PROGRESS, TicketType.BUG, Priority.HIGH, ["ui"],
    )  # fmt: skip
    assert (new.title, new.description, new.assignee, new.reporter) == ("Misfiled", "Belongs elsewhere", "bob", "alice")
    assert sorted(issue_of(fake, 102, 1)["labels"]) == ["priority::high", "status::in_progress", "type::bug", "ui"]
    assert [c.body for c in (await tracker.get_ticket(new.slug)).comments] == ["Noticed on Monday"]
    old = issue_of(fake, 101, 1)
    assert (old["state"], old["moved_to_id"]) == ("closed", issue_of(fake, 102, 1)["id"])
    (move,) = [json.loads(r.content) for r in fake.requests if r.url.path.endswith("/issues/1/move")]
    assert move == {"to_project_id": 102}
    # The labels put back go as the array of names GitLab's OpenAPI document declares for add_labels.
    (put_back,) = [json.loads(r.content) for r in fake.requests if r.method == "PUT" and "/projects/102/" in r.url.path]
    assert sorted(put_back["add_labels"]) == ["priority::high", "status::in_progress", "type::bug", "ui"]


async def test_a_ticket_moves_to_a_project_of_another_namespace_by_path(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Personal", project="WEB"))).ticket
    moved = await tracker.move_to_project(ticket.slug, "alice/dotfiles")
    assert moved.ticket.slug == "DOTFILES-1" and moved.ticket.project_id == "103"


async def test_files_move_with_the_ticket_under_new_ids(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="With a file", project="WEB"))).ticket
    before = await tracker.attach_file(ticket.slug, "trace.log", b"trace")
    moved = await tracker.move_to_project(ticket.slug, "TRACKERMCP")
    (after,) = (await tracker.get_ticket(moved.ticket.slug)).attachments
    assert after.name == "trace.log" and after.id != before.id  # GitLab copies uploads under new secrets
    assert (await tracker.attachment(moved.ticket.slug, after.id))[1] == b"trace"


async def test_moving_to_the_same_project_is_refused_before_any_write(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Stay", project="WEB"))).ticket
    with pytest.raises(Invalid, match="WEB-1 is already in WEB") as refused:
        await tracker.move_to_project(ticket.slug, "acme/web")
    assert "list_projects" in (refused.value.hint or "")
    assert not [p for p in paths(fake, "POST") if p.endswith("/move")]


async def test_moving_to_an_unknown_project_is_not_found(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Nowhere", project="WEB"))).ticket
    with pytest.raises(NotFound, match="Project 'NOPE' not found among your GitLab projects"):
        await tracker.move_to_project(ticket.slug, "NOPE")
    assert issue_of(fake, 101, 1)["state"] == "opened"


async def test_moving_checks_the_version_first(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Versioned", project="WEB"))).ticket
    await tracker.add_comment(ticket.slug, "A change since")
    with pytest.raises(Conflict):
        await tracker.move_to_project(ticket.slug, "TRACKERMCP", version=ticket.version)
    assert not [p for p in paths(fake, "POST") if p.endswith("/move")]


async def test_moving_where_gitlab_says_the_role_is_missing_is_permission_denied(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    guests = fake.add_group(20, "guests", "Guests", {ALICE: GUEST})
    fake.add_project(104, guests, "docs", "Docs")
    fake.file_issue(101, "bob", "Guest's view", "")
    with pytest.raises(PermissionDenied, match="GitLab did not let alice move WEB-1 to DOCS") as refused:
        await tracker.move_to_project("WEB-1", "DOCS")
    assert "Reporter" in (refused.value.hint or "")
    assert issue_of(fake, 101, 1)["state"] == "opened"


async def test_a_move_whose_answer_was_lost_returns_the_issue_gitlab_made(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    ticket = (await tracker.create_ticket(TicketDraft(title="Lost answer", project="WEB"))).ticket
    fake.drop_post_responses = 1
    moved = await tracker.move_to_project(ticket.slug, "TRACKERMCP")
    assert (moved.moved_from, moved.ticket.slug) == ("WEB-1", "TRACKERMCP-1")
    assert len([i for i in fake.issues.values() if i["project_id"] == 102]) == 1


# End to end through the MCP tools


async def test_the_file_and_move_tools_work_in_front_of_gitlab(fake: FakeGitLab) -> None:
    async with mcp_client(fake) as client:
        await call(client, "enable_tools", sets=["files"])
        await call(client, "create_ticket", project="WEB", title="Via MCP")
        attached = await call(client, "attach_file", slug="WEB-1", name="trace.log", text="it broke\n")
        assert "Attached [" in attached and "«trace.log» text/plain 9 bytes alice" in attached
        shown = await call(client, "get_ticket", slug="WEB-1")
        assert "attachments (1; read one at tracker://tickets/WEB-1/attachments/ID):" in shown
        (line,) = [line for line in shown.splitlines() if "«trace.log»" in line and line.startswith("  [")]
        assert "application/octet-stream alice" in line  # no size: GitLab tells none until the file is read
        number = line.split("]")[0].strip(" [")
        read = await client.call_tool("read_attachment", {"slug": "WEB-1", "attachment": int(number)})
        assert "it broke" in "".join(block.text for block in read.content if isinstance(block, TextContent))
        assert "only maintainers and owners" in await call_error(
            client, "delete_attachment", slug="WEB-1", attachment=int(number), confirm=True
        )
        moved = await call(client, "update_ticket", slug="WEB-1", project="TRACKERMCP")
        assert "Moved WEB-1 to TRACKERMCP-1 (backlog" in moved


# A hostile text


async def test_a_link_whose_name_is_an_encoded_dot_segment_is_not_a_file(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    fake.file_issue(101, "bob", "Crafted", "")
    shot = fake.upload(fake.users[BOB], 101, "shot.png", PNG)
    secret = shot["url"].split("/")[2]
    # `%2e%2e` decodes to `..`: sent as a path segment, it would name /projects/101/uploads itself, not a file.
    bob_writes(fake, 101, 1, f"[a](/uploads/{secret}/%2e%2e) [b](/uploads/{secret}/%2E) [c](/uploads/{secret}/.%2e)")
    assert (await tracker.get_ticket("WEB-1")).attachments == ()
    with pytest.raises(NotFound, match="has no attachment"):
        await tracker.attachment("WEB-1", attachment_id(secret))
    assert not [p for p in paths(fake, "GET") if "/uploads" in p]


async def test_a_link_to_another_project_or_host_is_not_one_of_the_issues_files(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    fake.file_issue(101, "bob", "Crafted", "")
    theirs = fake.upload(fake.users[BOB], 102, "theirs.log", b"tracker-mcp's own file")
    mine = fake.upload(fake.users[BOB], 101, "mine.log", b"web's file")
    their_secret, my_secret = theirs["url"].split("/")[2], mine["url"].split("/")[2]
    reference = f"Same as {fake.host}/acme/tracker-mcp/uploads/{their_secret}/theirs.log"
    bob_writes(fake, 101, 1, reference)
    bob_writes(fake, 101, 1, f"Mirror: https://evil.example/acme/web/uploads/{my_secret}/mine.log")
    bob_writes(fake, 101, 1, f"Ours: {fake.host}/acme/web/uploads/{my_secret}/mine.log")
    (listed,) = (await tracker.get_ticket("WEB-1")).attachments
    assert (listed.id, listed.name) == (attachment_id(my_secret), "mine.log")
    assert listed.created_at == (await tracker.get_ticket("WEB-1")).comments[2].created_at
    # Deleting an id only another project's link holds finds nothing, and leaves that comment as it was.
    with pytest.raises(NotFound, match="has no attachment"):
        await tracker.delete_attachment("WEB-1", attachment_id(their_secret))
    assert notes_of(fake, 101, 1)[0]["body"] == reference


async def test_a_move_says_which_milestone_the_ticket_left_where_the_target_has_none_of_its_title(
    fake: FakeGitLab, tracker: GitLabTracker
) -> None:
    fake.add_milestone(fake.projects[101], "Sprint 1")
    fake.add_milestone(fake.groups[10], "Q3")
    fake.add_milestone(fake.projects[102], "Q3 web")
    left = (await tracker.create_ticket(TicketDraft(title="Sprint work", project="WEB", milestone="Sprint 1"))).ticket
    kept = (await tracker.create_ticket(TicketDraft(title="Quarter work", project="WEB", milestone="Q3"))).ticket
    moved = await tracker.move_to_project(left.slug, "TRACKERMCP")
    assert (moved.milestone, moved.ticket.milestone) == ("Sprint 1", None)  # GitLab keeps a milestone by title only
    moved = await tracker.move_to_project(kept.slug, "TRACKERMCP")
    assert (moved.milestone, moved.ticket.milestone) == (None, "Q3")  # the group's milestone: the target has it
