"""`serve` as its own OAuth 2.1 authorization server, step by step, on both stores.

Each step is driven by hand (tests/fixtures/oauth_flow.py) so that it can go wrong on purpose: a PKCE
verifier that does not match, a redirect URI never registered, a code or refresh token presented twice, a
grant revoked, an access token expired, a role taken away after consent. What an access token may do is
checked where agents use it: the MCP endpoint and the REST API.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.asgi_server import AppServer, serving_app
from tests.fixtures.http_server import bearer
from tests.fixtures.oauth_flow import REDIRECT, OAuthDriver, pkce, query_of
from tests.fixtures.stores import Location, events, execute_beside, table_rows
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
        assert "not registered" in refused.json()["error_description"]


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

    assert query_of(elsewhere.headers["location"])["error"] == "invalid_target"
    assert query_of(unknown_scope.headers["location"])["error"] == "invalid_scope"
    assert query_of(elsewhere.headers["location"])["iss"] == oauth.base_url  # RFC 9207 on errors too


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
