"""`serve` as its own OAuth 2.1 authorization server, step by step, on both stores.

Each step is driven by hand (tests/fixtures/oauth_flow.py) so that it can go wrong on purpose: a PKCE
verifier that does not match, a redirect URI never registered, a code or refresh token presented twice, a
grant revoked, an access token expired, a role taken away after consent. What an access token may do is
checked where agents use it: the MCP endpoint and the REST API.
"""

from __future__ import annotations

import html as html_lib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.asgi_server import AppServer, serving_app
from tests.fixtures.http_server import bearer
from tests.fixtures.oauth_flow import REDIRECT, OAuthDriver, pkce, query_of
from tests.fixtures.stores import Location, events, execute_beside, table_rows
from tests.fixtures.tool_calls import FILE_TOOLS, call
from tickets_mcp.config import Settings
from tickets_mcp.errors import Invalid
from tickets_mcp.http.settings import ServeSettings

TICKETS = "/api/v1/ext/orgs/local/tickets"  # AgentsMesh (seed 001): tickets:read to list, tickets:write to file


@pytest.fixture
def server(store_location: Location) -> Iterator[AppServer]:
    with serving_app(store_location) as served:
        yield served


@pytest.fixture
def oauth(server: AppServer) -> Iterator[OAuthDriver]:
    with server.client() as http:
        yield OAuthDriver(http, server.url)


def lists_tickets(server: AppServer, token: str) -> int:
    with server.client(headers=bearer(token)) as http:
        return http.get(TICKETS).status_code


def test_metadata_names_the_server_and_the_resource_and_a_401_points_at_them(server: AppServer) -> None:
    with server.client() as http:
        metadata = http.get("/.well-known/oauth-authorization-server").json()
        resource = http.get("/.well-known/oauth-protected-resource/mcp").json()
        refused = http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})

    assert metadata["issuer"] == server.url
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["client_id_metadata_document_supported"] is True
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["registration_endpoint"] == f"{server.url}/register"
    assert metadata["revocation_endpoint"] == f"{server.url}/revoke"
    assert "none" in metadata["token_endpoint_auth_methods_supported"]
    assert set(metadata["scopes_supported"]) == {"tickets:read", "tickets:write", "projects:read", "projects:write"}
    assert resource["resource"] == f"{server.url}/mcp"
    assert resource["authorization_servers"] == [server.url]
    assert refused.status_code == 401
    challenge = refused.headers["www-authenticate"]
    assert f'resource_metadata="{server.url}/.well-known/oauth-protected-resource/mcp"' in challenge
    assert "OAuth" in refused.json()["message"]


def test_a_whole_flow_gives_tokens_that_work_until_refreshed_and_the_audit_trail_names_the_client(
    server: AppServer, oauth: OAuthDriver, store_location: Location
) -> None:
    client_id = oauth.register(name="Nightly Triage")
    verifier, challenge = pkce()
    asked = oauth.authorize(client_id, REDIRECT, challenge)
    assert asked.status_code == 302
    page = oauth.consent_page(asked.headers["location"])
    assert page.status_code == 200
    assert "Nightly Triage" in page.text and "127.0.0.1" in page.text and "tickets:write" in page.text
    assert "form-action 'self' http://127.0.0.1:7777" in page.headers["content-security-policy"]

    answered = oauth.decide(asked.headers["location"])
    back = query_of(answered.headers["location"])
    assert back["state"] == "state-1" and back["iss"] == server.url
    tokens = oauth.exchange(client_id, back["code"], verifier).json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert tokens["access_token"].startswith("oat_") and tokens["refresh_token"].startswith("ort_")

    with server.client(headers=bearer(tokens["access_token"])) as http:
        filed = http.post(TICKETS, json={"title": "Filed through OAuth"})
    assert filed.status_code == 201, filed.text
    created = [e for e in events(store_location) if e[0] == "ticket.created"]
    assert created, "the ticket was filed"
    actors = table_rows(
        store_location,
        "SELECT k.name, k.kind FROM events e JOIN tokens k ON k.id = e.token_id WHERE e.action = 'ticket.created'",
    )
    assert actors == [("Nightly Triage (OAuth, 127.0.0.1)", "oat")]

    renewed = oauth.refresh(client_id, tokens["refresh_token"]).json()
    assert renewed["refresh_token"] != tokens["refresh_token"]
    assert lists_tickets(server, renewed["access_token"]) == 200
    assert lists_tickets(server, tokens["access_token"]) == 200  # rotation spends the refresh token only

    # Secrets are kept as digests only.
    stored = table_rows(store_location, "SELECT hash FROM oauth_tokens")
    assert all(tokens["access_token"] not in row[0] and len(row[0]) == 64 for row in stored)


def test_a_refresh_token_presented_twice_revokes_its_whole_grant(server: AppServer, oauth: OAuthDriver) -> None:
    client_id = oauth.register()
    first = oauth.tokens(client_id)
    second = oauth.refresh(client_id, first["refresh_token"]).json()

    replayed = oauth.refresh(client_id, first["refresh_token"])

    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"
    assert lists_tickets(server, second["access_token"]) == 401  # the family is gone, the newest too
    assert oauth.refresh(client_id, second["refresh_token"]).status_code == 400


def test_a_code_redeemed_twice_revokes_what_the_first_redemption_got(server: AppServer, oauth: OAuthDriver) -> None:
    client_id = oauth.register()
    verifier, challenge = pkce()
    code = oauth.code(client_id, REDIRECT, challenge)
    first = oauth.exchange(client_id, code, verifier).json()

    again = oauth.exchange(client_id, code, verifier)

    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert lists_tickets(server, first["access_token"]) == 401


def test_a_verifier_that_does_not_match_the_challenge_gets_nothing(oauth: OAuthDriver) -> None:
    client_id = oauth.register()
    _, challenge = pkce()
    other_verifier, _ = pkce()
    code = oauth.code(client_id, REDIRECT, challenge)

    refused = oauth.exchange(client_id, code, other_verifier)

    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_a_redirect_uri_never_registered_is_refused_without_redirecting(oauth: OAuthDriver) -> None:
    client_id = oauth.register()
    _, challenge = pkce()

    for wrong in (
        "http://127.0.0.1:7777/callback/more",
        "http://evil.example/callback",
        "http://localhost:7777/callback",
    ):
        refused = oauth.authorize(client_id, wrong, challenge)
        assert refused.status_code == 400, wrong
        assert "location" not in refused.headers
        assert "not registered" in refused.text


@pytest.mark.parametrize("registered", [REDIRECT, "http://localhost:3118/callback"])
def test_a_loopback_redirect_may_use_any_port_as_native_apps_do(oauth: OAuthDriver, registered: str) -> None:
    client_id = oauth.register(registered)
    verifier, challenge = pkce()
    elsewhere = registered.replace(registered.split(":")[2].split("/")[0], "50123")
    code = oauth.code(client_id, elsewhere, challenge)

    assert oauth.exchange(client_id, code, verifier, elsewhere).status_code == 200
    for wrong in (elsewhere.replace("http://", "http://user@"), elsewhere + "#x", elsewhere.replace("http:", "https:")):
        refused = oauth.authorize(client_id, wrong, challenge)
        assert refused.status_code == 400 and "location" not in refused.headers, wrong


def test_a_person_who_says_no_sends_the_client_back_with_access_denied(oauth: OAuthDriver, server: AppServer) -> None:
    client_id = oauth.register()
    _, challenge = pkce()
    asked = oauth.authorize(client_id, REDIRECT, challenge)

    answered = oauth.decide(asked.headers["location"], "deny")

    back = query_of(answered.headers["location"])
    assert back == {"error": "access_denied", "state": "state-1", "iss": server.url}
    assert table_rows(server.db, "SELECT COUNT(*) FROM oauth_codes") == [(0,)]


def test_consent_cannot_be_posted_from_another_site_or_altered(oauth: OAuthDriver) -> None:
    client_id = oauth.register()
    _, challenge = pkce()
    consent_url = oauth.authorize(client_id, REDIRECT, challenge).headers["location"]
    sealed = query_of(consent_url)["request"]

    forged = oauth.http.post(
        "/board/consent", data={"request": sealed, "decision": "allow"}, headers={"Origin": "http://evil.example"}
    )
    altered = oauth.http.post(
        "/board/consent", data={"request": sealed.replace("7777", "6666"), "decision": "allow"}, headers=oauth.origin
    )

    assert forged.status_code == 403
    assert altered.status_code == 400 and "expired or was altered" in altered.text


def test_a_revoked_grant_and_a_revoked_token_end_at_once(server: AppServer, oauth: OAuthDriver) -> None:
    client_id = oauth.register(name="Revoked By Hand")
    by_cli = oauth.tokens(client_id)
    listed = server.cli("grant", "list", "--user", "alice")
    assert "Revoked By Hand (OAuth, 127.0.0.1)" in listed and "\tgrant\t" in listed
    grant_id = listed.split("\t", 1)[0]

    assert "revoked" in server.cli("grant", "revoke", grant_id)
    assert lists_tickets(server, by_cli["access_token"]) == 401
    assert oauth.refresh(client_id, by_cli["refresh_token"]).status_code == 400

    by_rfc7009 = oauth.tokens(client_id)
    revoked = oauth.http.post("/revoke", data={"token": by_rfc7009["access_token"], "client_id": client_id})
    assert revoked.status_code == 200
    assert lists_tickets(server, by_rfc7009["access_token"]) == 401


def test_an_expired_access_token_is_refused_and_its_refresh_token_still_works(
    server: AppServer, oauth: OAuthDriver
) -> None:
    client_id = oauth.register()
    tokens = oauth.tokens(client_id)

    execute_beside(server.db, "UPDATE oauth_tokens SET expires_at = '2000-01-01T00:00:00.000Z' WHERE kind = 'access'")

    assert lists_tickets(server, tokens["access_token"]) == 401
    renewed = oauth.refresh(client_id, tokens["refresh_token"])
    assert renewed.status_code == 200
    assert lists_tickets(server, renewed.json()["access_token"]) == 200


def test_a_grant_does_only_what_its_scopes_say(server: AppServer, oauth: OAuthDriver) -> None:
    client_id = oauth.register(scope="tickets:read")
    tokens = oauth.tokens(client_id, scope="tickets:read")
    assert tokens["scope"] == "tickets:read"

    with server.client(headers=bearer(tokens["access_token"])) as http:
        assert http.get(TICKETS).status_code == 200
        refused = http.post(TICKETS, json={"title": "Not with a read-only grant"})
    assert refused.status_code == 403


def test_a_role_taken_away_after_consent_takes_the_grant_with_it(
    server: AppServer, monkeypatch: pytest.MonkeyPatch, store_location: Location
) -> None:
    server.cli("user", "add", "bob")
    server.cli("member", "set", "local", "bob", "member")
    bob_token = server.create_token("--user", "bob")
    monkeypatch.setenv("TICKETS_BOARD_LOCAL", "0")  # the board asks who is consenting
    with serving_app(store_location) as remote:
        with remote.client() as http:
            as_bob = OAuthDriver(http, remote.url)
            as_bob.login(bob_token)
            tokens = as_bob.tokens(as_bob.register())
        assert lists_tickets(remote, tokens["access_token"]) == 200
        with remote.client(headers=bearer(tokens["access_token"])) as http:
            assert http.post(TICKETS, json={"title": "Bob, through OAuth"}).status_code == 201

        remote.cli("member", "remove", "local", "bob")

        with remote.client(headers=bearer(tokens["access_token"])) as http:
            assert http.post(TICKETS, json={"title": "Bob, no longer a member"}).status_code in (403, 404)
            assert http.get(TICKETS).status_code in (403, 404)


def test_resource_and_scope_are_checked(oauth: OAuthDriver) -> None:
    client_id = oauth.register()
    _, challenge = pkce()

    elsewhere = oauth.authorize(client_id, REDIRECT, challenge, resource="https://other.example/mcp")
    unknown_scope = oauth.authorize(client_id, REDIRECT, challenge, scope="webhooks:write")

    # Shown to the person on this server's page, with a link back carrying the error and RFC 9207's iss.
    assert elsewhere.status_code == 400 and "invalid_target" in elsewhere.text
    assert unknown_scope.status_code == 400 and "invalid_scope" in unknown_scope.text
    back = html_lib.unescape(elsewhere.text.split(f'href="{REDIRECT}', 1)[1].split('"', 1)[0])
    back = REDIRECT + back
    assert back.startswith(REDIRECT) and query_of(back)["iss"] == oauth.base_url
    assert query_of(back)["error"] == "invalid_target" and query_of(back)["state"] == "state-1"


def test_a_metadata_document_on_a_private_address_is_never_fetched_and_the_person_is_told_why(
    oauth: OAuthDriver,
) -> None:
    _, challenge = pkce()

    refused = oauth.authorize("https://127.0.0.1:9/client.json", REDIRECT, challenge)

    assert refused.status_code == 400
    assert "location" not in refused.headers
    assert "cannot sign in" in refused.text and "127.0.0.1" in refused.text


def test_an_owner_can_turn_dynamic_registration_off(store_location: Location) -> None:
    with serving_app(store_location, oauth_registration=False) as server, server.client() as http:
        metadata = http.get("/.well-known/oauth-authorization-server").json()
        refused = http.post("/register", json={"redirect_uris": [REDIRECT], "client_name": "Spam"})

    assert "registration_endpoint" not in metadata
    assert metadata["client_id_metadata_document_supported"] is True
    assert refused.status_code in (404, 405)


def test_oauth_is_served_where_it_can_be_and_turned_off_on_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Settings(db=tmp_path / "tracker.db", username="alice")

    assert ServeSettings.from_env(store).oauth_issuer == "http://127.0.0.1:8740"
    assert ServeSettings.from_env(store, public_url="https://tracker.example.com").oauth_issuer == (
        "https://tracker.example.com"
    )
    assert ServeSettings.from_env(store, public_url="http://10.0.0.5:8740").oauth_issuer is None  # needs HTTPS
    monkeypatch.setenv("TICKETS_OAUTH", "0")
    assert ServeSettings.from_env(store).oauth_issuer is None
    monkeypatch.setenv("TICKETS_OAUTH", "maybe")
    with pytest.raises(Invalid, match="TICKETS_OAUTH must be on or off"):
        ServeSettings.from_env(store)
    monkeypatch.setenv("TICKETS_OAUTH", "1")
    monkeypatch.setenv("TICKETS_OAUTH_CA_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(Invalid, match="names no file"):
        ServeSettings.from_env(store)


def test_each_step_may_land_on_another_replica_sharing_the_state_key(store_location: Location) -> None:
    keys = ("k" * 40,)
    with (
        serving_app(store_location, state_keys=keys) as first,
        serving_app(store_location, state_keys=keys) as second,
        first.client() as to_first,
        second.client() as to_second,
    ):
        on_first, on_second = OAuthDriver(to_first, first.url), OAuthDriver(to_second, second.url)
        client_id = on_first.register()
        verifier, challenge = pkce()
        consent_url = on_second.authorize(client_id, REDIRECT, challenge).headers["location"]
        code = query_of(on_first.decide(consent_url).headers["location"])["code"]
        tokens = on_second.exchange(client_id, code, verifier).json()
        renewed = on_first.refresh(client_id, tokens["refresh_token"]).json()

        assert lists_tickets(second, renewed["access_token"]) == 200
        assert on_second.refresh(client_id, tokens["refresh_token"]).status_code == 400  # the reuse is seen there too
        assert lists_tickets(first, renewed["access_token"]) == 401


@pytest.mark.anyio
async def test_tool_sets_a_grant_switched_on_are_listed_by_every_replica(store_location: Location) -> None:
    with serving_app(store_location) as first, serving_app(store_location) as second, first.client() as http:
        driver = OAuthDriver(http, first.url)
        access = driver.tokens(driver.register())["access_token"]
        async with first.mcp_client(access) as client:
            assert await call(client, "enable_tools", sets=["files"]) == (
                "Listed now: attach_file, read_attachment, delete_attachment."
            )
        async with second.mcp_client(access) as client:
            assert {tool.name for tool in (await client.list_tools()).tools} >= FILE_TOOLS


def test_a_replica_with_another_state_key_refuses_a_consent_started_elsewhere(store_location: Location) -> None:
    with (
        serving_app(store_location, state_keys=("a" * 40,)) as first,
        serving_app(store_location, state_keys=("b" * 40,)) as second,
        first.client() as to_first,
        second.client() as to_second,
    ):
        client_id = OAuthDriver(to_first, first.url).register()
        _, challenge = pkce()
        consent_url = OAuthDriver(to_first, first.url).authorize(client_id, REDIRECT, challenge).headers["location"]

        refused = OAuthDriver(to_second, second.url).decide(consent_url)

    assert refused.status_code == 400 and "expired or was altered" in refused.text


def test_an_organization_key_logged_in_on_the_board_cannot_mint_a_grant(
    server: AppServer, store_location: Location, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = server.create_token(
        "--kind", "organization", "--user", "alice", "--organization", "local", "--scopes", "tickets:read"
    )
    monkeypatch.setenv("TICKETS_BOARD_LOCAL", "0")
    with serving_app(store_location) as remote, remote.client() as http:
        as_key = OAuthDriver(http, remote.url)
        as_key.login(key)
        client_id = as_key.register()
        _, challenge = pkce()
        consent_url = as_key.authorize(client_id, REDIRECT, challenge).headers["location"]

        shown = as_key.consent_page(consent_url)
        posted = as_key.decide(consent_url)

    assert shown.status_code == 403 and posted.status_code == 403
    assert "personal token" in posted.text
    assert table_rows(store_location, "SELECT COUNT(*) FROM oauth_codes") == [(0,)]


def test_a_person_sees_and_revokes_their_grants_on_the_board(server: AppServer, oauth: OAuthDriver) -> None:
    tokens = oauth.tokens(oauth.register(name="Board Listed <b>Agent</b>"))

    page = oauth.http.get("/board/grants")
    assert page.status_code == 200
    assert "Board Listed &lt;b&gt;Agent&lt;/b&gt; (OAuth, 127.0.0.1)" in page.text  # a client's name is data
    grant_id = page.text.split("/board/grants/", 1)[1].split("/revoke", 1)[0]

    forged = oauth.http.post(f"/board/grants/{grant_id}/revoke", headers={"Origin": "http://evil.example"})
    assert forged.status_code == 403 and lists_tickets(server, tokens["access_token"]) == 200
    done = oauth.http.post(f"/board/grants/{grant_id}/revoke", headers=oauth.origin)
    assert done.status_code == 303
    assert lists_tickets(server, tokens["access_token"]) == 401
    assert "revoked" in oauth.http.get("/board/grants").text


# Found by an adversarial trial (a fresh clone, a real serve on both engines); each failed before its fix.


def test_registration_is_bounded_in_size_and_in_clients_nobody_used(server: AppServer, oauth: OAuthDriver) -> None:
    huge = oauth.http.post("/register", json={"redirect_uris": [REDIRECT], "client_name": "A" * 100_000})
    assert huge.status_code == 400 and "4 KiB" in huge.json()["error_description"]

    limit = 5
    with serving_app(server.db, oauth_unused_clients=limit) as capped, capped.client() as http:
        flood = OAuthDriver(http, capped.url)
        for _ in range(limit):
            flood.register()
        refused = http.post("/register", json={"redirect_uris": [REDIRECT], "client_name": "One too many"})
        assert refused.status_code == 400 and "try again" in refused.json()["error_description"]
    assert table_rows(server.db, "SELECT COUNT(*) FROM oauth_clients") == [(limit,)]


@pytest.mark.parametrize(
    "uri",
    ["javascript:alert(document.cookie)//", "data:text/html,hi", "vbscript:x", "file:///etc/passwd",
     "http://127.0.0.1:7777/callback#frag", "http://evil.example/callback"],
)  # fmt: skip
def test_registration_refuses_redirect_uris_a_browser_must_never_be_sent_to(oauth: OAuthDriver, uri: str) -> None:
    refused = oauth.http.post("/register", json={"redirect_uris": [uri], "client_name": "Bad"})

    assert refused.status_code == 400, uri
    assert refused.json()["error"] == "invalid_redirect_uri"


def test_registration_takes_an_apps_own_scheme_and_https(oauth: OAuthDriver) -> None:
    for uri in (
        "cursor://anysphere.cursor-mcp/oauth/callback",
        "https://app.example.com/cb",
        "http://localhost:3118/cb",
    ):
        assert oauth.http.post("/register", json={"redirect_uris": [uri]}).status_code == 201, uri


@pytest.mark.parametrize("name", ["nul\u0000byte", "bad \ud800 half", "right\u202eto left"])
def test_a_client_name_that_is_not_plain_text_is_refused_or_cleaned_never_a_500(
    server: AppServer, oauth: OAuthDriver, name: str
) -> None:
    registered = oauth.http.post(
        "/register",
        content=json.dumps({"redirect_uris": [REDIRECT], "client_name": name, "token_endpoint_auth_method": "none"}),
        headers={"Content-Type": "application/json"},
    )
    if registered.status_code == 400:
        assert registered.json()["error"] == "invalid_client_metadata"
        return
    client_id = registered.json()["client_id"]
    tokens = oauth.tokens(client_id)
    assert lists_tickets(server, tokens["access_token"]) == 200
    assert "\u202e" not in server.cli("grant", "list")


def test_an_error_before_consent_is_shown_on_this_servers_page_not_redirected(oauth: OAuthDriver) -> None:
    client_id = oauth.register("https://evil.example/phish")
    _, challenge = pkce()

    bad_scope = oauth.authorize(client_id, "https://evil.example/phish", challenge, scope="admin")
    unknown = oauth.authorize("no-such-client", REDIRECT, challenge)

    assert bad_scope.status_code == 400 and "location" not in bad_scope.headers
    assert "text/html" in bad_scope.headers["content-type"] and "invalid_scope" in bad_scope.text
    assert 'href="https://evil.example/phish?error=invalid_scope' in bad_scope.text  # a link the person may follow
    assert unknown.status_code == 400 and "text/html" in unknown.headers["content-type"]
    assert "no-such-client" in unknown.text


def test_without_scope_a_client_gets_what_it_registered_for(server: AppServer, oauth: OAuthDriver) -> None:
    client_id = oauth.register(scope="tickets:read")

    tokens = oauth.tokens(client_id)

    assert tokens["scope"] == "tickets:read"


def test_a_narrower_refresh_keeps_the_grants_scope_for_the_next_one(server: AppServer, oauth: OAuthDriver) -> None:
    client_id = oauth.register()
    tokens = oauth.tokens(client_id)
    narrow = oauth.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client_id,
            "scope": "tickets:read",
        },
    ).json()
    assert narrow["scope"] == "tickets:read"
    with server.client(headers=bearer(narrow["access_token"])) as http:
        assert http.post(TICKETS, json={"title": "Narrowed"}).status_code == 403

    wide = oauth.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": narrow["refresh_token"],
            "client_id": client_id,
            "scope": "tickets:read tickets:write",
        },
    )
    assert wide.status_code == 200, wide.text


def test_a_client_secret_is_kept_as_a_digest_and_still_checked(server: AppServer, oauth: OAuthDriver) -> None:
    registered = oauth.http.post(
        "/register", json={"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_post"}
    ).json()
    client_id, secret = registered["client_id"], registered["client_secret"]
    stored = table_rows(server.db, "SELECT document FROM oauth_clients")
    assert all(secret not in row[0] for row in stored)

    verifier, challenge = pkce()
    code = oauth.code(client_id, REDIRECT, challenge)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": client_id}
    wrong = oauth.http.post("/token", data={**form, "code_verifier": verifier, "client_secret": "x" * 64})
    right = oauth.http.post("/token", data={**form, "code_verifier": verifier, "client_secret": secret})
    assert wrong.status_code == 401
    assert right.status_code == 200, right.text
    revoked = oauth.http.post(
        "/revoke", data={"token": right.json()["access_token"]}, auth=(client_id, secret)
    )  # client_secret_post registered, Basic sent: refused, nothing revoked
    assert revoked.status_code == 401
    assert lists_tickets(server, right.json()["access_token"]) == 200


def test_metadata_says_public_clients_may_revoke(server: AppServer) -> None:
    with server.client() as http:
        metadata = http.get("/.well-known/oauth-authorization-server").json()
    assert "none" in metadata["revocation_endpoint_auth_methods_supported"]


def test_the_issuer_is_added_to_a_redirect_whose_query_merely_contains_iss(oauth: OAuthDriver) -> None:
    redirect = "https://app.example.com/cb?miss=1"
    client_id = oauth.register(redirect)
    _, challenge = pkce()
    consent_url = oauth.authorize(client_id, redirect, challenge).headers["location"]

    back = query_of(oauth.decide(consent_url, "deny").headers["location"])

    assert back["iss"] == oauth.base_url and back["miss"] == "1"


def test_a_grant_without_a_scope_is_told_to_reconnect_not_to_make_a_key(server: AppServer, oauth: OAuthDriver) -> None:
    tokens = oauth.tokens(oauth.register(scope="tickets:read"), scope="tickets:read")
    with server.client(headers=bearer(tokens["access_token"])) as http:
        refused = http.post(TICKETS, json={"title": "No write scope"})
    assert refused.status_code == 403
    assert "token create" not in refused.text and "Sign in again from the app" in refused.text


def test_oauth_is_off_when_clients_would_reach_the_server_by_a_name_it_does_not_know(tmp_path: Path) -> None:
    store = Settings(db=tmp_path / "tracker.db", username="alice")
    anywhere = ServeSettings.from_env(store, host="0.0.0.0", allowed_hosts=["192.0.2.2"])
    assert anywhere.oauth_issuer is None
    assert "--public-url https://" in (anywhere.oauth_off_reason or "")
    assert ServeSettings.from_env(store, public_url="http://10.0.0.5:8740").oauth_off_reason is not None
    assert ServeSettings.from_env(store).oauth_off_reason is None
