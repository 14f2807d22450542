"""Fetching an OAuth Client ID Metadata Document, against real HTTPS servers on loopback.

Each server has a certificate of its own that the policy trusts (verify=<its file>); loopback is allowed
(allow_private=True) except where a test is about refusing it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.fault_server import FaultServer, Step, json_step
from tests.fixtures.tls import LocalCertificate
from tickets_mcp.http.oauth.client_documents import (
    ClientDocumentRefused,
    DocumentPolicy,
    fetch_client_document,
    is_document_client_id,
)

pytestmark = pytest.mark.anyio

PATH = "/oauth/client.json"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> LocalCertificate:
    return LocalCertificate.make(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(certificate: LocalCertificate) -> Iterator[FaultServer]:
    with FaultServer(tls=certificate.server_context()) as running:
        yield running


@pytest.fixture
def policy(certificate: LocalCertificate) -> DocumentPolicy:
    # A deadline generous for a loaded machine: the tests about time set their own.
    return DocumentPolicy(timeout=5.0, allow_private=True, verify=str(certificate.cert_file))


def client_id(server: FaultServer, path: str = PATH) -> str:
    return f"https://127.0.0.1:{server.port}{path}"


def document(url: str, /, **changes: Any) -> dict[str, Any]:
    """A good document for `client_id`; a change to None leaves its member out."""
    fields: dict[str, Any] = {
        "client_id": url,
        "client_name": "Example Agent",
        "client_uri": "https://agent.example.com/",
        "redirect_uris": ["http://127.0.0.1:33418/callback", "https://agent.example.com/oauth/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }
    fields.update(changes)
    return {name: value for name, value in fields.items() if value is not None}


async def refusal(client_id: str, policy: DocumentPolicy) -> str:
    with pytest.raises(ClientDocumentRefused) as refused:
        await fetch_client_document(client_id, policy)
    return str(refused.value)


async def test_a_good_document_becomes_a_public_client(server: FaultServer, policy: DocumentPolicy) -> None:
    url = client_id(server)
    server.script(PATH, json_step(200, document(url)))
    client = await fetch_client_document(url, policy)
    assert client.client_id == url
    assert [str(uri) for uri in client.redirect_uris or ()] == [
        "http://127.0.0.1:33418/callback",
        "https://agent.example.com/oauth/callback",
    ]
    assert client.client_name == "Example Agent" and client.client_secret is None
    assert client.token_endpoint_auth_method == "none"
    (request,) = server.requests(PATH)
    assert request.method == "GET" and request.headers["accept"] == "application/json"
    assert "authorization" not in request.headers and "cookie" not in request.headers


async def test_a_document_without_an_auth_method_is_a_public_client(
    server: FaultServer, policy: DocumentPolicy
) -> None:
    url = client_id(server)
    server.script(PATH, json_step(200, document(url, token_endpoint_auth_method=None)))
    assert (await fetch_client_document(url, policy)).token_endpoint_auth_method == "none"


async def test_a_json_type_with_a_suffix_and_a_charset_is_json(server: FaultServer, policy: DocumentPolicy) -> None:
    url = client_id(server)
    body = json.dumps(document(url)).encode()
    server.script(PATH, Step(200, body, content_type="application/oauth-client+json; charset=utf-8"))
    assert (await fetch_client_document(url, policy)).client_id == url


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"client_id": "https://127.0.0.1:1/oauth/client.json"}, "client_id"),
        ({"client_id": None}, "client_id"),
        ({"redirect_uris": None}, "redirect_uris"),
        ({"redirect_uris": []}, "redirect_uris"),
        ({"redirect_uris": ["javascript:alert(1)"]}, "javascript"),
        ({"redirect_uris": ["https://agent.example.com/cb#x"]}, "fragment"),
        ({"client_secret": "s3cret"}, "client_secret"),
        ({"client_secret": None, "client_secret_expires_at": 0}, "client_secret_expires_at"),
        ({"token_endpoint_auth_method": "client_secret_basic"}, "shared secret"),
        ({"token_endpoint_auth_method": "client_secret_jwt"}, "shared secret"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "private_key_jwt"),
        ({"token_endpoint_auth_signing_alg": "HS256"}, "HS256"),
        ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, "symmetric"),
        ({"client_uri": 7}, "client_uri"),
    ],
)
async def test_a_document_breaking_a_rule_is_refused_naming_what_to_fix(
    server: FaultServer, policy: DocumentPolicy, changes: dict[str, Any], words: str
) -> None:
    url = client_id(server)
    server.script(PATH, json_step(200, document(url, **changes)))
    said = await refusal(url, policy)
    assert words in said and "s3cret" not in said


async def test_a_client_id_differing_from_the_url_by_a_slash_is_a_mismatch(
    server: FaultServer, policy: DocumentPolicy
) -> None:
    url = client_id(server)
    server.script(PATH, json_step(200, document(url + "/")))
    assert "does not match" in await refusal(url, policy)


@pytest.mark.parametrize(
    ("step", "words"),
    [
        (Step(200, b"<html>not a document</html>", content_type="text/html"), "text/html"),
        (Step(200, b"<html>not a document</html>"), "not valid JSON"),
        (Step(200, b'["https://example.com/x"]'), "not a JSON object"),
        (Step(200, b'{"client_id": "a", "client_id": "b"}'), "twice"),
        (Step(200, b"[" * 3000 + b"]" * 3000, chunked=True), "not valid JSON"),  # deeper than json's recursion
        (json_step(404, {"error": "not found"}), "HTTP 404"),
        (Step(200, b"{}", headers={"Content-Encoding": "gzip"}), "gzip"),
    ],
)
async def test_an_answer_that_is_not_a_json_document_is_refused(
    server: FaultServer, policy: DocumentPolicy, step: Step, words: str
) -> None:
    server.script(PATH, step)
    assert words in await refusal(client_id(server), replace(policy, max_bytes=8192))


async def test_a_body_streaming_past_the_cap_is_refused_without_reading_to_its_end(
    server: FaultServer, policy: DocumentPolicy
) -> None:
    # The body never ends: a reader that read to the end before counting would wait out the deadline instead.
    server.script(PATH, Step(200, b" " * (256 * 1024), endless=True))
    assert "more than 5 KiB" in await refusal(client_id(server), policy)


async def test_a_declared_length_over_the_cap_is_refused_before_reading(
    server: FaultServer, policy: DocumentPolicy
) -> None:
    # Only 2 bytes come of the 10 MB declared: a reader that waited for the declared body would time out.
    server.script(PATH, Step(200, b"{}", declared_length=10 * 1024 * 1024))
    assert "10485760 bytes" in await refusal(client_id(server), policy)


async def test_a_body_longer_than_its_declared_length_is_read_only_to_that_length(
    server: FaultServer, policy: DocumentPolicy
) -> None:
    url = client_id(server)
    good = json.dumps(document(url)).encode()
    server.script(PATH, Step(200, good + b"x" * (1024 * 1024), declared_length=len(good)))
    assert (await fetch_client_document(url, policy)).client_id == url


async def test_a_document_just_under_the_cap_is_read(server: FaultServer, policy: DocumentPolicy) -> None:
    url = client_id(server)
    body = json.dumps(document(url)).encode()
    padded = body[:-1] + b" " * (policy.max_bytes - len(body)) + b"}"
    server.script(PATH, Step(200, padded, chunked=True))
    assert len(padded) == policy.max_bytes == 5 * 1024
    assert (await fetch_client_document(url, policy)).client_id == url


async def test_a_server_that_does_not_answer_is_given_up_at_the_deadline(
    server: FaultServer, policy: DocumentPolicy
) -> None:
    server.script(PATH, Step(200, b"{}", delay=30.0))  # woken when the server stops
    assert "within 0.5 s" in await refusal(client_id(server), replace(policy, timeout=0.5))


async def test_one_deadline_covers_the_whole_fetch_not_each_read(server: FaultServer, policy: DocumentPolicy) -> None:
    url = client_id(server)
    # A byte every 20 ms never leaves a read waiting long, but the document takes seconds to arrive.
    server.script(PATH, Step(200, json.dumps(document(url)).encode(), drip=0.02))
    assert "within 0.5 s" in await refusal(url, replace(policy, timeout=0.5))


async def test_a_redirect_is_not_followed_by_default(server: FaultServer, policy: DocumentPolicy) -> None:
    url = client_id(server)
    server.script(PATH, Step(302, b"", headers={"Location": "/oauth/elsewhere.json"}))
    server.script("/oauth/elsewhere.json", json_step(200, document(url)))
    assert "redirect" in await refusal(url, policy)
    assert server.count("/oauth/elsewhere.json") == 0


async def test_a_redirect_on_the_same_origin_is_followed_when_allowed(
    server: FaultServer, policy: DocumentPolicy
) -> None:
    url = client_id(server)
    server.script(PATH, Step(301, b"", headers={"Location": "/oauth/v2/client.json"}))
    server.script("/oauth/v2/client.json", json_step(200, document(url)))
    client = await fetch_client_document(url, replace(policy, max_redirects=1))
    assert client.client_id == url
    assert server.count(PATH) == server.count("/oauth/v2/client.json") == 1


async def test_a_redirect_to_another_host_is_refused_and_not_followed(
    server: FaultServer, policy: DocumentPolicy
) -> None:
    url = client_id(server)
    elsewhere = f"https://localhost:{server.port}/oauth/elsewhere.json"  # another host, the same server
    server.script(PATH, Step(307, b"", headers={"Location": elsewhere}))
    server.script("/oauth/elsewhere.json", json_step(200, document(url)))
    said = await refusal(url, replace(policy, max_redirects=3))
    assert "another origin" in said and "localhost" in said
    assert server.count("/oauth/elsewhere.json") == 0


async def test_redirects_past_the_limit_are_refused(server: FaultServer, policy: DocumentPolicy) -> None:
    url = client_id(server)
    server.script(PATH, Step(302, b"", headers={"Location": "/a"}))
    server.script("/a", Step(302, b"", headers={"Location": "/b"}))
    server.script("/b", json_step(200, document(url)))
    assert "more than 1 redirect" in await refusal(url, replace(policy, max_redirects=1))
    assert server.count("/b") == 0


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
async def test_a_loopback_host_is_refused_unless_allowed_and_no_connection_is_made(
    server: FaultServer, policy: DocumentPolicy, host: str
) -> None:
    url = f"https://{host}:{server.port}{PATH}"
    server.script(PATH, json_step(200, document(url)))
    said = await refusal(url, replace(policy, allow_private=False))
    assert "loopback address" in said and "public" in said
    assert server.seen == [] and server.accepted == 0


async def test_a_certificate_the_policy_does_not_trust_is_refused(server: FaultServer, policy: DocumentPolicy) -> None:
    url = client_id(server)
    server.script(PATH, json_step(200, document(url)))
    assert "certificate" in await refusal(url, replace(policy, verify=True))  # the system's CAs only
    assert server.seen == []


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1/oauth/client.json", "https://"),
        ("HTTPS://agent.example.com/oauth/client.json", "https://"),
        ("client-123", "https://"),
        ("https://agent.example.com", "path"),
        ("https://agent.example.com/", "path"),
        ("https://agent.example.com/oauth/client.json#top", "fragment"),
        ("https://agent.example.com/oauth/client.json#", "fragment"),
        ("https://agent.example.com/oauth/../client.json", "dot segment"),
        ("https://agent.example.com/./client.json", "dot segment"),
        ("https://agent.example.com/oauth/%2E%2e/client.json", "dot segment"),
        ("https://user:hunter2@agent.example.com/client.json", "user name or password"),
        ("https://agent.example.com/a b", "without spaces"),
        ("https://agent.example.com/clïent.json", "ASCII"),
        ("https://agent.example.com\\@evil.example/client.json", "ASCII"),
        ("https://agent.example.com:99999/client.json", "port"),
        ("https://agent.example.com:0/client.json", "port"),
        ("https:///client.json", "host"),
        ("https://agent.example.com/" + "x" * 2100, "2000"),
    ],
)
async def test_a_client_id_that_is_no_document_url_is_refused_before_any_request(
    policy: DocumentPolicy, url: str, words: str
) -> None:
    said = await refusal(url, policy)
    assert words in said and "hunter2" not in said


async def test_a_host_that_does_not_resolve_is_said_so(policy: DocumentPolicy) -> None:
    assert "does not resolve" in await refusal("https://no-such-host.invalid/client.json", policy)


def test_only_https_client_ids_are_taken_for_documents() -> None:
    assert is_document_client_id("https://agent.example.com/oauth/client.json")
    assert not is_document_client_id("3f6c1b0e-client") and not is_document_client_id("http://a.example/c")


def test_a_policy_refuses_impossible_limits_and_a_missing_ca_file(tmp_path: Path) -> None:
    wrongs: list[dict[str, Any]] = [
        {"timeout": 0},
        {"max_bytes": 0},
        {"max_redirects": -1},
        {"verify": str(tmp_path / "none.pem")},
    ]
    for wrong in wrongs:
        with pytest.raises(ValueError):
            DocumentPolicy(**wrong)
    assert DocumentPolicy().max_bytes == 5 * 1024 and DocumentPolicy().max_redirects == 0
