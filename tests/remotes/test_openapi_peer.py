"""The referee of the vendor-specification peers (tests/fixtures/openapi_peer.py) catches what it must:
a request or an answer the document does not define never passes unseen."""

from __future__ import annotations

import httpx2
import pytest

from tests.fixtures.openapi_peer import Json, Spec, SpecTransport, trim

pytestmark = pytest.mark.anyio

ISSUE: Json = {
    "type": "object",
    "required": ["number", "title"],
    "properties": {"number": {"type": "integer"}, "title": {"type": "string"}},
}
DOCUMENT: Json = {
    "openapi": "3.0.3",
    "info": {"title": "issues", "version": "1"},
    "paths": {
        "/repos/{owner}/issues": {
            "parameters": [{"name": "owner", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {
                "parameters": [{"name": "per_page", "in": "query", "schema": {"type": "integer", "maximum": 100}}],
                "responses": {
                    "200": {
                        "description": "issues",
                        "content": {
                            "application/json": {
                                "schema": {"type": "array", "items": {"$ref": "#/components/schemas/issue"}},
                                "examples": {"default": {"$ref": "#/components/examples/issues"}},
                            }
                        },
                    }
                },
            },
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["title"],
                                "properties": {"title": {"type": "string"}},
                                "additionalProperties": False,
                            }
                        }
                    },
                },
                "responses": {
                    "201": {
                        "description": "filed",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/issue"}}},
                    }
                },
            },
        },
        "/unused": {"get": {"responses": {"204": {"description": "nothing"}}}},
    },
    "components": {
        "schemas": {"issue": ISSUE, "unused": {"type": "string"}},
        "examples": {"issues": {"value": [{"number": 1, "title": "Printer on fire"}]}},
    },
}


def answer(body: object, status: int = 200) -> httpx2.Response:
    return httpx2.Response(status, json=body)


async def send(transport: SpecTransport, method: str, url: str, **kwargs: object) -> httpx2.Response:
    async with httpx2.AsyncClient(transport=transport, base_url="https://api.example.test/v3") as client:
        return await client.request(method, url, **kwargs)  # pyright: ignore[reportArgumentType]


async def test_requests_and_answers_the_document_defines_pass_untouched() -> None:
    spec = Spec(DOCUMENT, base_path="/v3")
    example = spec.examples("get", "/repos/{owner}/issues")
    transport = SpecTransport(spec, lambda request: answer(example[0]))
    reply = await send(transport, "GET", "/repos/acme/issues", params={"per_page": 50})
    assert (reply.status_code, reply.json(), transport.violations) == (200, example[0], [])
    filed = SpecTransport(spec, lambda request: answer({"number": 2, "title": "New"}, 201))
    reply = await send(filed, "POST", "/repos/acme/issues", json={"title": "New"})
    assert (reply.status_code, filed.violations, filed.checked) == (201, [], 1)


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "says"),
    [
        ("GET", "/repos/acme/pulls", {}, "/repos/acme/pulls"),
        ("DELETE", "/repos/acme/issues", {}, "DELETE"),
        ("GET", "/repos/acme/issues", {"params": {"per_page": 500}}, "per_page"),
        ("GET", "/repos/acme/issues", {"params": {"per_page": "many"}}, "per_page"),
        ("POST", "/repos/acme/issues", {"json": {"title": "New", "labels": ["x"]}}, "labels"),
        ("POST", "/repos/acme/issues", {"json": {}}, "title"),
    ],
)
async def test_a_request_outside_the_document_is_refused_and_recorded(
    method: str, url: str, kwargs: dict[str, object], says: str
) -> None:
    called: list[httpx2.Request] = []
    transport = SpecTransport(Spec(DOCUMENT, base_path="/v3"), lambda r: called.append(r) or answer([]))
    reply = await send(transport, method, url, **kwargs)
    assert reply.status_code == 400 and called == []
    assert len(transport.violations) >= 1 and says in " ".join(transport.violations), transport.violations


async def test_an_answer_outside_the_document_is_replaced_and_recorded() -> None:
    transport = SpecTransport(Spec(DOCUMENT, base_path="/v3"), lambda request: answer([{"number": "one"}]))
    reply = await send(transport, "GET", "/repos/acme/issues")
    assert reply.status_code == 500
    assert transport.violations and transport.violations[0].startswith("answer to GET /v3/repos/acme/issues (200)")


def test_trimming_keeps_the_operations_asked_for_and_what_they_reference() -> None:
    trimmed = trim(DOCUMENT, {"/repos/{owner}/issues": {"get"}})
    assert list(trimmed["paths"]) == ["/repos/{owner}/issues"]
    assert set(trimmed["paths"]["/repos/{owner}/issues"]) == {"parameters", "get"}
    assert trimmed["components"] == {"examples": DOCUMENT["components"]["examples"], "schemas": {"issue": ISSUE}}
    Spec(trimmed)  # still a valid document
    with pytest.raises(KeyError, match="patch"):
        trim(DOCUMENT, {"/repos/{owner}/issues": {"patch"}})


async def test_an_operation_named_unrefereed_passes_unchecked_and_any_other_unknown_one_is_refused() -> None:
    called: list[str] = []

    def fake(request: httpx2.Request) -> httpx2.Response:
        called.append(request.url.path)
        return answer({"login": "alice"})

    transport = SpecTransport(Spec(DOCUMENT, base_path="/v3"), fake, unrefereed=frozenset({"GET /users/{name}"}))
    passed = await send(transport, "GET", "/users/alice")
    refused = await send(transport, "GET", "/users/alice/keys")
    wrong_verb = await send(transport, "DELETE", "/users/alice")
    assert (passed.status_code, refused.status_code, wrong_verb.status_code) == (200, 400, 400)
    assert called == ["/v3/users/alice"]
    assert (transport.unchecked, transport.checked, len(transport.violations) >= 2) == (1, 2, True)


async def test_a_status_the_vendor_documents_everywhere_passes_only_where_the_operation_does_not_list_it() -> None:
    spec = Spec(DOCUMENT, base_path="/v3")
    lenient = SpecTransport(
        spec, lambda request: answer({"message": "401 Unauthorized"}, 401), undeclared_statuses=frozenset({401})
    )
    strict = SpecTransport(spec, lambda request: answer({"message": "401 Unauthorized"}, 401))
    assert (await send(lenient, "GET", "/repos/acme/issues")).status_code == 401 and lenient.violations == []
    assert (await send(strict, "GET", "/repos/acme/issues")).status_code == 500 and strict.violations
