"""The native API's attachments on the serve app in process: multipart uploads read as they come and refused
past the limit without being read whole, downloads served as the type their bytes are and never run by a
browser, and who may do what. One world per test (tests/fixtures/rest_world.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import anyio.to_thread
import httpx2
import pytest

from tests.fixtures.asgi_server import AppServer
from tests.fixtures.http_server import bearer
from tests.fixtures.rest_world import Rest, json_of
from tickets_mcp.domain.files import ENV_FILE_MAX, ENV_QUOTA

pytestmark = pytest.mark.anyio

NATIVE = "/api/v1/native"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
HTML = b"<!DOCTYPE html><script>fetch('/api/v1/native/workspace').then(r => r.text()).then(steal)</script>"
CHUNK = 64 * 1024


async def ticket(rest: Rest, token: str) -> str:
    filed = await rest.client.post(
        f"{NATIVE}/tickets", json={"title": "Crash on save", "project": rest.project}, headers=bearer(token)
    )
    return str(json_of(filed, 201)["slug"])


async def upload(
    rest: Rest, token: str, slug: str, name: str, content: bytes, claimed: str = "text/plain", *, named: str = ""
) -> httpx2.Response:
    """POST a file as multipart/form-data (`named`: in the form's name field, as a browser cannot quote it)."""
    files = {"file": (name, content, claimed)}
    data = {"name": named} if named else None
    return await rest.client.post(f"{NATIVE}/tickets/{slug}/attachments", files=files, data=data, headers=bearer(token))


class Counted:
    """A request body sent in chunks as the app asks for them, counting how many it asked for."""

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.pulled = 0

    async def body(self) -> AsyncIterator[bytes]:
        boundary = b"--cut\r\n"
        yield boundary + b'Content-Disposition: form-data; name="file"; filename="big.log"\r\n\r\n'
        for _ in range(self.chunks):
            self.pulled += 1
            yield b"x" * CHUNK
        yield b"\r\n--cut--\r\n"


async def send_streamed(rest: Rest, slug: str, counted: Counted, headers: dict[str, str]) -> httpx2.Response:
    """POST `counted`'s body to the app as it reads it, without reading it first as the test client would."""
    request = httpx2.Request(
        "POST",
        f"{rest.server.url}{NATIVE}/tickets/{slug}/attachments",
        headers={"Content-Type": "multipart/form-data; boundary=cut", **headers},
        content=counted.body(),
    )
    server = cast(AppServer, rest.server)
    response = await anyio.to_thread.run_sync(server.answer_from_portal, request)
    response.read()
    return response


async def test_an_uploaded_file_is_listed_on_its_ticket_and_downloaded_as_the_type_its_bytes_are(rest: Rest) -> None:
    slug = await ticket(rest, rest.tokens.carol)
    attached = json_of(await upload(rest, rest.tokens.carol, slug, "screenshot.txt", PNG), 201)
    assert (attached["name"], attached["mime"], attached["size"], attached["uploader"]) == (
        "screenshot.txt", "image/png", len(PNG), rest.person("carol").username,
    )  # fmt: skip
    detail = json_of(await rest.client.get(f"{NATIVE}/tickets/{slug}", headers=bearer(rest.tokens.bob)), 200)
    assert detail["attachments"] == [attached]
    got = await rest.client.get(
        f"{NATIVE}/tickets/{slug}/attachments/{attached['id']}", headers=bearer(rest.tokens.bob)
    )
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"] == "inline; filename=\"screenshot.txt\"; filename*=UTF-8''screenshot.txt"
    assert got.headers["etag"] == f'"{attached["sha256"]}"'


async def test_an_uploaded_page_is_served_as_a_download_that_never_runs(rest: Rest) -> None:
    slug = await ticket(rest, rest.tokens.alice)
    attached = json_of(await upload(rest, rest.tokens.alice, slug, "cat.png", HTML, "image/png"), 201)
    assert attached["mime"] == "text/html"
    got = await rest.client.get(
        f"{NATIVE}/tickets/{slug}/attachments/{attached['id']}", headers=bearer(rest.tokens.alice)
    )
    assert got.content == HTML and got.headers["content-type"].startswith("text/html")
    assert got.headers["content-disposition"].startswith('attachment; filename="cat.png"')
    assert got.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("given", "kept", "header"),
    [
        ("../../etc/passwd", "passwd", "filename=\"passwd\"; filename*=UTF-8''passwd"),
        ("C:\\temp\\Grüße.txt", "Grüße.txt", "filename=\"Gr__e.txt\"; filename*=UTF-8''Gr%C3%BC%C3%9Fe.txt"),
        (
            'a"b;c\r\nX-Evil: 1.txt',
            'a"b;c X-Evil: 1.txt',
            "filename=\"a_b;c X-Evil: 1.txt\"; filename*=UTF-8''a%22b%3Bc%20X-Evil%3A%201.txt",
        ),
    ],
)
async def test_hostile_names_are_cleaned_and_quoted_safely(rest: Rest, given: str, kept: str, header: str) -> None:
    slug = await ticket(rest, rest.tokens.alice)
    attached = json_of(await upload(rest, rest.tokens.alice, slug, "sent.txt", b"text", named=given), 201)
    assert attached["name"] == kept
    got = await rest.client.get(
        f"{NATIVE}/tickets/{slug}/attachments/{attached['id']}", headers=bearer(rest.tokens.alice)
    )
    assert got.headers["content-disposition"] == "inline; " + header


async def test_an_upload_without_the_file_field_says_how_to_send_it(rest: Rest) -> None:
    slug = await ticket(rest, rest.tokens.alice)
    sent = await rest.client.post(
        f"{NATIVE}/tickets/{slug}/attachments", files={"upload": ("a.txt", b"x")}, headers=bearer(rest.tokens.alice)
    )
    assert "field named file" in json_of(sent, 400)["message"]
    sent = await rest.client.post(
        f"{NATIVE}/tickets/{slug}/attachments", json={"file": "x"}, headers=bearer(rest.tokens.alice)
    )
    assert "field named file" in json_of(sent, 400)["message"]


async def test_a_body_declared_over_the_limit_is_refused_with_413_before_a_byte_is_read(
    rest: Rest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_FILE_MAX, "256KiB")
    slug = await ticket(rest, rest.tokens.alice)
    counted = Counted(chunks=64)
    declared = {"Content-Length": str(64 * CHUNK + 200), **bearer(rest.tokens.alice)}
    refused = await send_streamed(rest, slug, counted, declared)
    assert "this server takes files up to 256 KiB" in json_of(refused, 413)["message"]
    assert counted.pulled == 0


async def test_a_streamed_body_past_the_limit_is_refused_with_413_without_being_read_whole(
    rest: Rest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_FILE_MAX, "256KiB")
    slug = await ticket(rest, rest.tokens.alice)
    counted = Counted(chunks=64)  # 4 MiB, sent chunked: no Content-Length to refuse it by
    refused = await send_streamed(rest, slug, counted, bearer(rest.tokens.alice))
    assert "this server takes files up to 256 KiB" in json_of(refused, 413)["message"]
    assert counted.pulled <= (256 * 1024 + 64 * 1024) // CHUNK + 1  # the limit, its multipart room, one chunk
    detail = json_of(await rest.client.get(f"{NATIVE}/tickets/{slug}", headers=bearer(rest.tokens.alice)), 200)
    assert detail["attachments"] == []


async def test_an_upload_without_a_valid_token_is_refused_before_its_body_is_read(rest: Rest) -> None:
    slug = await ticket(rest, rest.tokens.alice)
    counted = Counted(chunks=8)
    refused = await send_streamed(rest, slug, counted, bearer("pk_" + "x" * 43))
    assert refused.status_code == 401 and counted.pulled == 0


async def test_a_file_just_past_the_limit_is_413_naming_the_limit(rest: Rest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_FILE_MAX, "1KiB")
    slug = await ticket(rest, rest.tokens.alice)
    refused = json_of(await upload(rest, rest.tokens.alice, slug, "big.log", b"x" * 1025), 413)
    assert "this server takes files up to 1 KiB" in refused["message"]


async def test_the_quota_is_a_409_that_names_it(rest: Rest, monkeypatch: pytest.MonkeyPatch) -> None:
    slug = await ticket(rest, rest.tokens.alice)
    monkeypatch.setenv(ENV_QUOTA, "10")  # the organization used nothing before: its world is new
    refused = json_of(await upload(rest, rest.tokens.alice, slug, "a.log", b"x" * 11), 409)
    assert "quota" in refused["message"] and "10 bytes" in refused["message"]


async def test_who_may_attach_read_and_delete(rest: Rest) -> None:
    slug = await ticket(rest, rest.tokens.alice)
    theirs = json_of(await upload(rest, rest.tokens.alice, slug, "alice.txt", b"alice"), 201)
    mine = json_of(await upload(rest, rest.tokens.carol, slug, "carol.txt", b"carol"), 201)
    assert (await upload(rest, rest.tokens.reader, slug, "r.txt", b"r")).status_code == 403  # tickets:read
    assert (await upload(rest, rest.tokens.writer, slug, "w.txt", b"w")).status_code == 201
    assert (await upload(rest, rest.tokens.dave, slug, "d.txt", b"d")).status_code == 404  # another organization
    path = f"{NATIVE}/tickets/{slug}/attachments"
    assert (await rest.client.get(f"{path}/{theirs['id']}", headers=bearer(rest.tokens.reader))).content == b"alice"
    assert (await rest.client.get(f"{path}/{theirs['id']}", headers=bearer(rest.tokens.dave))).status_code == 404
    assert (await rest.client.delete(f"{path}/{theirs['id']}", headers=bearer(rest.tokens.carol))).status_code == 403
    assert json_of(await rest.client.delete(f"{path}/{mine['id']}", headers=bearer(rest.tokens.carol)), 200) == mine
    assert (await rest.client.get(f"{path}/{mine['id']}", headers=bearer(rest.tokens.carol))).status_code == 404


async def test_an_attachment_id_past_what_a_store_holds_is_a_404(rest: Rest) -> None:
    slug = await ticket(rest, rest.tokens.alice)
    path = f"{NATIVE}/tickets/{slug}/attachments/99999999999999999999999"
    for method in ("GET", "DELETE"):
        response = await rest.client.request(method, path, headers=bearer(rest.tokens.alice))
        assert response.status_code == 404, (method, response.text)
