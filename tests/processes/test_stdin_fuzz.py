"""One real tickets-mcp process fed well over a thousand malformed or random stdin lines between valid requests.

The server must survive, keep answering, write nothing but JSON-RPC on stdout, answer every well-formed request
exactly once, and change the database only through tool calls that said they succeeded.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

from tests.fixtures.stdio_client import JSON, RawServer, id_key, is_jsonrpc_message
from tests.fixtures.tool_calls import TOOLS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store_kind() -> str:
    return "sqlite"  # SQLite only: the fuzz is about the stdio transport, and it reads tickets back with sqlite3


SEED = 20261122
FUZZ_LINES = 2000
HUGE_EVERY = 150  # one ~1 MB line among this many
VALID_EVERY = 8  # one valid request after every this many fuzz lines
MEGABYTE = 1_000_000
MAX_NESTING = 64  # deeper JSON is refused by some parsers and not others: no expectation either way

TOOL_NAMES = sorted(TOOLS)
JUNK_TOOL_NAMES = ["", " ", "GET_TICKET", "get_ticket ", "nope", "tools/call", "../../etc/passwd", "x" * 300]
METHODS = [
    "ping",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "completion/complete",
    "logging/setLevel",
    "initialize",
    "server/discover",
    "notifications/initialized",
    "sampling/createMessage",
    "elicitation/create",
    "roots/list",
    "tasks/get",
    "$/cancelRequest",
    "TOOLS/LIST",
    "tools/list/",
    "",
]
PLAUSIBLE = [
    "INBOX-1",
    "INBOX-2",
    "inbox-3",
    "INBOX-0",
    "INBOX--1",
    "INBOX-99999999999999999999",
    "INBOX",
    "Inbox",
    "local",
    "Local",
    "me",
    "none",
    "alice",
    "todo",
    "done",
    "In Progress",
    "high",
    "bug",
    "frontend",
    "a,b,c",
    "created",
    "desc",
    "2026-01-01",
    "not a date",
    "eyJ2IjoxfQ",
    "'; DELETE FROM tickets; --",
    "%",
    "_",
    "\u0000",
    "\u202e",
    "🎫",
    "",
    " ",
]


def random_text(rng: random.Random, longest: int = 40) -> str:
    """Any code points but surrogates (those cannot travel in UTF-8): controls, RTL marks, astral planes."""
    chars: list[str] = []
    for _ in range(rng.randrange(longest + 1)):
        plane = rng.random()
        if plane < 0.6:
            chars.append(chr(rng.randrange(0x20, 0x7F)))
        elif plane < 0.7:
            chars.append(chr(rng.randrange(0x00, 0x20)))
        elif plane < 0.9:
            chars.append(chr(rng.randrange(0xA0, 0xD800)))
        else:
            chars.append(chr(rng.randrange(0xE000, 0x10FFFF)))
    return "".join(chars)


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 7)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, 1, -1, 2, 100, 101, 2**31, 2**63, -(2**63) - 1, 10**30, rng.randint(-1000, 1000)])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e308, -1e-308, 3.14, float(rng.randint(1, 10))])
    if kind in (4, 5):
        return rng.choice(PLAUSIBLE)
    if kind == 6:
        return random_text(rng)
    if kind == 7:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {random_text(rng, 8): random_value(rng, depth + 1) for _ in range(rng.randrange(4))}


@dataclass
class Fuzzer:
    """Builds the lines; each fuzz request gets an id of its own, so a reply can be traced to one line."""

    rng: random.Random
    schemas: dict[str, JSON]  # tool name -> inputSchema
    counter: int = 0
    kinds: Counter[str] = field(default_factory=Counter[str])

    def fresh_id(self) -> int | str:
        self.counter += 1
        return 1_000_000 + self.counter if self.rng.random() < 0.7 else f"fuzz-{self.counter}"

    def envelope(self, method: object, params: object = ..., request_id: object = ...) -> JSON:
        message: JSON = {"jsonrpc": "2.0", "id": self.fresh_id() if request_id is ... else request_id}
        message["method"] = method
        if params is not ...:
            message["params"] = params
        return message

    def plausible_value(self, name: str) -> Any:
        """Values a model might send for this argument, often valid, sometimes not."""
        if self.rng.random() < 0.25:
            return random_value(self.rng)
        if name in ("slug", "parent", "before", "after"):
            return f"INBOX-{self.rng.randrange(1, 60)}"
        if name in ("title", "body", "name", "description", "query"):
            return random_text(self.rng) or "x"
        if name == "status":
            return self.rng.choice(["backlog", "todo", "in_progress", "done", "In Review", "canceled"])
        if name == "confirm":
            return self.rng.random() < 0.7
        if name in ("version", "limit", "per_column"):
            return self.rng.randrange(1, 6)
        return self.rng.choice(PLAUSIBLE)

    def tool_arguments(self, tool: str) -> Any:
        shape = self.rng.random()
        if shape < 0.08:
            return random_value(self.rng)  # not even an object
        schema = self.schemas.get(tool, {})
        real = list(schema.get("properties", {}))
        arguments: JSON = {}
        if shape < 0.7:  # the required arguments and a few optional ones, with plausible values
            names = [*schema.get("required", []), *self.rng.sample(real, min(len(real), self.rng.randrange(4)))]
        else:  # any mix of real and junk names
            junk = ["", "slug ", "__proto__", "_meta", random_text(self.rng)]
            names = [self.rng.choice([*real, *junk]) for _ in range(self.rng.randrange(5))]
        for name in names:
            arguments[name] = self.plausible_value(name)
        return arguments

    def tool_call(self) -> JSON:
        tool = self.rng.choice(TOOL_NAMES + JUNK_TOOL_NAMES)
        params: JSON = {"name": tool, "arguments": self.tool_arguments(tool)}
        if self.rng.random() < 0.05:
            del params["arguments"]
        if self.rng.random() < 0.05:
            params["_meta"] = {"progressToken": random_value(self.rng)}
        return self.envelope("tools/call", params)

    # Each generator returns one line without its newline.

    def garbage_bytes(self) -> bytes:
        raw = self.rng.randbytes(self.rng.randrange(1, 300))
        return raw.replace(b"\n", b" ").replace(b"\r", b" ")

    def truncated_json(self) -> bytes:
        whole = json.dumps(self.tool_call()).encode()
        return whole[: self.rng.randrange(1, len(whole))]

    def not_json_rpc(self) -> bytes:
        value = self.rng.choice(
            [
                {"method": "ping", "id": self.fresh_id()},
                {"jsonrpc": "2.0"},
                {"hello": "world"},
                "ping",
                None,
                True,
                {},
                random_value(self.rng),
            ]
        )
        return json.dumps(value).encode()

    def wrong_types(self) -> bytes:
        message = self.envelope("ping")
        spoil = self.rng.randrange(5)
        if spoil == 0:
            message["jsonrpc"] = self.rng.choice(["1.0", 2.0, 2, None, "2.0 ", ""])
        elif spoil == 1:
            self.counter += 1
            message["id"] = self.rng.choice(
                [True, False, None, self.counter + 0.5, [self.counter], {"n": self.counter}]
            )
        elif spoil == 2:
            message["method"] = self.rng.choice([1, None, ["ping"], {"m": "ping"}, True])
        elif spoil == 3:
            message["method"] = self.rng.choice(["tools/call", "tools/list", "initialize"])
            message["params"] = self.rng.choice([1, "x", [1, 2], None, True])
        else:
            del message["jsonrpc"]
        return json.dumps(message).encode()

    def huge(self, choice: int) -> bytes:
        """One of six ~1 MB lines: junk, deep nesting, oversized arguments, a string that never ends."""
        self.kinds["huge"] += 1
        blob = "t" * MEGABYTE
        if choice == 0:
            return b"x" * MEGABYTE
        if choice == 1:
            return b"[" * MEGABYTE
        if choice == 2:
            return json.dumps(
                self.envelope("tools/call", {"name": "create_ticket", "arguments": {"title": blob}})
            ).encode()
        if choice == 3:
            arguments = {"slug": "INBOX-1", "body": blob}
            return json.dumps(self.envelope("tools/call", {"name": "add_comment", "arguments": arguments})).encode()
        if choice == 4:
            return json.dumps(self.envelope("no/such/method", {"blob": blob})).encode()
        return json.dumps(self.envelope("ping", {"blob": blob})).encode()[:-3]  # a string that never ends

    def method_call(self) -> bytes:
        method = self.rng.choice([*METHODS, random_text(self.rng, 20)])
        shape = self.rng.randrange(3)
        if shape == 0:
            return json.dumps(self.envelope(method)).encode()
        value = random_value(self.rng, 2)
        params: JSON = {} if shape == 1 else {"value": value, random_text(self.rng, 8): value}
        return json.dumps(self.envelope(method, params)).encode()

    def random_tool_call(self) -> bytes:
        return json.dumps(self.tool_call()).encode()

    def invalid_utf8(self) -> bytes:
        bad = self.rng.choice([b"\xff", b"\xfe\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf"])
        whole = json.dumps(self.tool_call()).encode()
        if self.rng.random() < 0.5:
            cut = self.rng.randrange(len(whole))
            return whole[:cut] + bad + whole[cut:]  # may land inside a string, where it becomes U+FFFD
        title = self.envelope("tools/call", {"name": "create_ticket", "arguments": {"title": "T@"}})
        return json.dumps(title).encode().replace(b"T@", b"caf" + bad)

    def blank(self) -> bytes:
        return self.rng.choice([b"", b" ", b"\t", b"   \t  ", b"\x0b", b"\x0c", b"\xc2\xa0"])

    def number(self) -> bytes:
        return self.rng.choice([b"0", b"42", b"-1", b"1e999", b"-0.0", b"NaN", b"Infinity", b"1" * 5000])

    def batch(self) -> bytes:
        members: list[Any] = [self.envelope("ping") for _ in range(self.rng.randrange(4))]
        if self.rng.random() < 0.5:
            members.append(self.tool_call())
        if self.rng.random() < 0.3:
            members.append(random_value(self.rng))
        return json.dumps(members).encode()

    def notification(self) -> bytes:
        method = self.rng.choice(
            ["notifications/cancelled", "notifications/progress", "notifications/initialized", "notifications/nope"]
        )
        params = {"requestId": -self.rng.randrange(1, 10**6), "progressToken": "t", "progress": 1, "reason": "fuzz"}
        return json.dumps({"jsonrpc": "2.0", "method": method, "params": params}).encode()

    def client_response(self) -> bytes:
        reply = self.rng.choice([{"result": {}}, {"error": {"code": -1, "message": "no"}}, {"result": None}])
        return json.dumps({"jsonrpc": "2.0", "id": self.fresh_id(), **reply}).encode()

    def line(self) -> bytes:
        generators: list[tuple[Callable[[], bytes], float]] = [
            (self.garbage_bytes, 10),
            (self.truncated_json, 10),
            (self.not_json_rpc, 8),
            (self.wrong_types, 12),
            (self.method_call, 12),
            (self.random_tool_call, 25),
            (self.invalid_utf8, 6),
            (self.blank, 4),
            (self.number, 3),
            (self.batch, 5),
            (self.notification, 3),
            (self.client_response, 2),
        ]
        generator = self.rng.choices([g for g, _ in generators], weights=[w for _, w in generators])[0]
        self.kinds[generator.__name__] += 1
        return generator()


def nesting(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((nesting(v) for v in cast(JSON, value).values()), default=0)
    if isinstance(value, list):
        return 1 + max((nesting(v) for v in cast(list[Any], value)), default=0)
    return 0


def parse(line: bytes) -> object:
    """The line as the server's transport sees it (invalid UTF-8 replaced), or ... when it is not strict JSON."""
    text = line.decode("utf-8", errors="replace")
    try:
        value: object = json.loads(text)
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # lone surrogates are not valid JSON text
    except (ValueError, RecursionError):
        return ...
    return value


def well_formed_request_id(value: object) -> object:
    """The id of a JSON-RPC 2.0 request as the spec and MCP define it (params an object), else ...."""
    if not isinstance(value, dict):
        return ...
    message = cast(JSON, value)
    if nesting(message) > MAX_NESTING:
        return ...
    request_id = message.get("id", ...)
    if message.get("jsonrpc") != "2.0" or not isinstance(message.get("method"), str):
        return ...
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        return ...
    if "params" in message and not isinstance(message["params"], dict):
        return ...
    if "result" in message or "error" in message:
        return ...
    return request_id


def ids_in(value: object) -> list[object]:
    """Every id a line carries, batches included: a reply may only ever name one of these."""
    if isinstance(value, list):
        return [i for member in cast(list[Any], value) for i in ids_in(member)]
    if isinstance(value, dict) and "id" in value:
        return [cast(JSON, value)["id"]]
    return []


def tool_call_name(value: object) -> str | None:
    if not isinstance(value, dict):
        return None
    message = cast(JSON, value)
    params = message.get("params")
    if message.get("method") != "tools/call" or not isinstance(params, dict):
        return None
    name = cast(JSON, params).get("name")
    return name if isinstance(name, str) else None


def ticket_slugs(db_path: Path) -> set[str]:
    with closing(sqlite3.connect(db_path)) as conn:
        rows: list[tuple[str]] = conn.execute(
            "SELECT p.code || '-' || t.number FROM tickets t JOIN projects p ON p.id = t.project_id"
        ).fetchall()
    return {row[0] for row in rows}


def test_thousands_of_malformed_stdin_lines_neither_kill_the_server_nor_leak_onto_stdout(
    server_env: dict[str, str], db_path: Path
) -> None:
    rng = random.Random(SEED)
    with RawServer(server_env, deadline=90) as server:  # the watchdog kills a hung server: the test fails
        server.initialize("fuzz-client")
        tools = cast(list[JSON], server.call("tools/list")["result"]["tools"])
        fuzzer = Fuzzer(rng, {tool["name"]: tool["inputSchema"] for tool in tools})
        first = server.call_tool("create_ticket", {"title": "Before the storm", "project": "INBOX"})
        assert not first.get("isError"), first
        first_slug = first["structuredContent"]["slug"]

        must_answer: dict[str, str | None] = {}  # id key -> tool name, for requests that must get one reply
        any_id: set[str] = set()  # every id any line carried
        valid: dict[str, str] = {}  # id key -> what the valid request was
        sent_lines = 0
        for n in range(FUZZ_LINES):
            line = fuzzer.huge(n // HUGE_EVERY % 6) if n % HUGE_EVERY == HUGE_EVERY // 2 else fuzzer.line()
            value = parse(line)
            any_id.update(id_key(i) for i in ids_in(value))
            request_id = well_formed_request_id(value)
            if request_id is not ...:
                must_answer[id_key(request_id)] = tool_call_name(value)
            server.send_line(line)
            sent_lines += 1
            if n % VALID_EVERY == VALID_EVERY - 1:
                kind, method, params = valid_request(n)
                request_id = server.request(method, params)
                valid[id_key(request_id)] = kind
                must_answer[id_key(request_id)] = tool_call_name({"method": method, "params": params})
                any_id.add(id_key(request_id))
                sent_lines += 1

        server.wait_for([json.loads(key) for key in must_answer], timeout=45)
        assert server.alive, f"the server died (exit {server.returncode}):\n{server.stderr[-3000:]}"
        final = server.call_tool("get_workspace_context", {})
        assert not final.get("isError"), final
        final_text = final["content"][0]["text"]
        assert final_text.startswith("you: alice; now: "), final_text
        assert "project INBOX 'Inbox'" in final_text
        assert server.alive
        assert server.close() == 0
        replies = server.all_responses()
        stdout_lines = server.stdout_lines
        own_ids = {id_key(i) for i in server.sent_ids}

    assert sent_lines >= 1000
    assert len(fuzzer.kinds) == 13, fuzzer.kinds
    assert fuzzer.kinds["huge"] >= 12, fuzzer.kinds

    # Nothing but JSON-RPC on stdout.
    for line in stdout_lines:
        message: object = json.loads(line.decode("utf-8"))  # strict UTF-8 and strict JSON, one message a line
        assert is_jsonrpc_message(message), line[:500]

    # Every well-formed request answered exactly once; no reply to an id nobody sent.
    for key in must_answer:
        assert len(replies.get(key, [])) == 1, (key, replies.get(key))
    unknown = set(replies) - any_id - own_ids
    assert not unknown, unknown

    # Valid requests got real answers.
    created: set[str] = set()
    deleted: set[str] = set()
    for key, tool in must_answer.items():
        reply = replies[key][0]
        if key in valid:
            assert "result" in reply, (valid[key], reply)
            assert not reply["result"].get("isError"), (valid[key], reply)
        if "result" not in reply or reply["result"].get("isError"):
            continue
        structured = cast(JSON, reply["result"].get("structuredContent") or {})
        if tool == "create_ticket":
            created.add(cast(str, structured["slug"]))
        if tool == "delete_ticket" and "deleted" in structured:
            deleted.update(cast(list[str], structured["deleted"]))
    valid_creates = sum(1 for kind in valid.values() if kind == "create_ticket")
    assert valid_creates >= 25
    created.add(first_slug)

    # The database holds exactly the tickets that successful create_ticket calls reported, minus deletions.
    assert deleted <= created
    # (A fuzzed tool call that happens to be valid counts as valid: it said it succeeded.)
    assert ticket_slugs(db_path) == created - deleted


def valid_request(n: int) -> tuple[str, str, JSON | None]:
    """The valid requests woven between the fuzz, as (what, method, params): a rotation that reads and writes."""

    def tool(name: str, **arguments: object) -> tuple[str, str, JSON]:
        return name, "tools/call", {"name": name, "arguments": arguments}

    rotation: list[tuple[str, str, JSON | None]] = [
        tool("create_ticket", title=f"Valid ticket {n}", project="INBOX"),
        ("ping", "ping", None),
        tool("list_tickets", limit=5, status="backlog", project="INBOX"),
        tool("create_ticket", title=f"Bug {n}", type="bug", project="INBOX"),
        ("tools/list", "tools/list", {}),
        tool("get_board", per_column=3, project="INBOX"),
    ]
    return rotation[(n // VALID_EVERY) % len(rotation)]
