"""The client configuration examples in examples/clients start tickets-mcp where each client looks for it,
and the configuration docs/clients/ shows is what each client reads.

Each file, and each JSON block of a client's page, is checked against its client's documented format, written
down here as a JSON Schema from the client's own documentation (linked beside each); every example must reach
the same default database, and the pages' links must lead somewhere.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, cast

import pytest
from jsonschema import Draft202012Validator
from jsonschema.protocols import Validator

from tickets_mcp import config, logs
from tickets_mcp.config import ENV_DB
from tickets_mcp.mcp import exposure

REPO = Path(__file__).resolve().parent.parent.parent
CLIENTS = REPO / "examples" / "clients"
PAGES = REPO / "docs" / "clients"
COMMAND = "tickets-mcp"
SERVER = "tracker"
KNOWN_ENV = {value for module in (config, exposure, logs) for name, value in vars(module).items() if name[:4] == "ENV_"}

Json = dict[str, Any]

# Each example file, the top-level key its client reads servers from, and whether entries need "type": "stdio".
FORMATS: dict[str, tuple[str, bool]] = {
    "claude_desktop_config.json": ("mcpServers", False),
    "claude-code.mcp.json": ("mcpServers", False),
    "cursor.mcp.json": ("mcpServers", False),
    "vscode.mcp.json": ("servers", True),
}
OTHER_KEY = {"mcpServers": "servers", "servers": "mcpServers"}

EXAMPLES = sorted(p.name for p in CLIENTS.glob("*.json"))

STRINGS: Json = {"type": "array", "items": {"type": "string"}}
STRING_MAP: Json = {"type": "object", "additionalProperties": {"type": "string"}}


def servers_schema(key: str, entry: Json, **top_level: Json) -> Json:
    return {
        "type": "object",
        "required": [key],
        "properties": {key: {"type": "object", "additionalProperties": entry}, **top_level},
        "additionalProperties": False,
    }


def stdio_entry(*, type_values: list[str] | None, required_type: bool, **extra: Json) -> Json:
    properties: Json = {"command": {"type": "string", "minLength": 1}, "args": STRINGS, "env": STRING_MAP, **extra}
    if type_values is not None:
        properties["type"] = {"enum": type_values}
    return {
        "type": "object",
        "required": ["command", "type"] if required_type else ["command"],
        "properties": properties,
        "additionalProperties": False,
    }


def remote_entry(*, type_values: list[str] | None, **extra: Json) -> Json:
    """A server reached at a URL: `type` (when the client names one) and `url` required, `headers` optional."""
    properties: Json = {"url": {"type": "string", "minLength": 1}, "headers": STRING_MAP, **extra}
    if type_values is not None:
        properties["type"] = {"enum": type_values}
    return {
        "type": "object",
        "required": ["url", "type"] if type_values is not None else ["url"],
        "properties": properties,
        "additionalProperties": False,
    }


def either(*entries: Json) -> Json:
    return {"oneOf": list(entries)}


# Each client's documented configuration format: a local (stdio) server, and one reached at a URL where the
# client's configuration file takes one.
CLIENT_SCHEMAS: dict[str, Json] = {
    # modelcontextprotocol.io/quickstart/user: mcpServers -> {command, args, env}. Remote servers are added
    # under Settings > Connectors instead: support.claude.com says Desktop does not connect to remote servers
    # configured in this file.
    "claude_desktop_config.json": servers_schema(
        "mcpServers", stdio_entry(type_values=None, required_type=False), globalShortcut={"type": "string"}
    ),
    # code.claude.com/docs/en/mcp: project .mcp.json, mcpServers -> {type, command, args, env} or
    # {type: http|sse, url, headers}; ${VAR} and ${VAR:-default} are expanded in command, args, env, url and
    # headers. `oauth` ({clientId, callbackPort}) is what `claude mcp add --client-id --callback-port` writes
    # (seen with Claude Code 2.1.197).
    "claude-code.mcp.json": servers_schema(
        "mcpServers",
        either(
            stdio_entry(type_values=["stdio"], required_type=False),
            remote_entry(type_values=["http", "sse"], headersHelper={"type": "string"}, oauth={"type": "object"}),
        ),
    ),
    # cursor.com/docs/mcp: mcpServers -> {type, command, args, env, envFile} or {url, headers, auth}; ${env:NAME}
    # is expanded in command, args, env, url and headers.
    "cursor.mcp.json": servers_schema(
        "mcpServers",
        either(
            stdio_entry(type_values=["stdio"], required_type=False, envFile={"type": "string"}),
            remote_entry(type_values=None, auth={"type": "object"}),
        ),
    ),
    # code.visualstudio.com/docs/copilot/reference/mcp-configuration: servers -> {type: stdio, command, args,
    # env, envFile, dev} or {type: http|sse, url, headers, oauth}, and a top-level inputs list.
    "vscode.mcp.json": servers_schema(
        "servers",
        either(
            stdio_entry(type_values=["stdio"], required_type=True, envFile={"type": "string"}, dev={"type": "object"}),
            remote_entry(type_values=["http", "sse"], oauth={"type": "object"}),
        ),
        inputs={"type": "array"},
    ),
}

# The page of docs/clients/ about each client whose configuration file the page shows.
PAGE_FORMATS = {
    "claude-desktop.md": "claude_desktop_config.json",
    "claude-code.md": "claude-code.mcp.json",
    "cursor.md": "cursor.mcp.json",
    "vscode.md": "vscode.mcp.json",
}
JSON_BLOCK = re.compile(r"```json\n(.*?)```", re.DOTALL)
LINK = re.compile(r"\]\((?P<target>[^)\s#]*)(?:#[^)\s]*)?\)")


def format_of(name: str) -> Validator:
    return Draft202012Validator(CLIENT_SCHEMAS[name])


EXPANSION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def claude_code_expand(value: str, environment: dict[str, str]) -> str:
    """Claude Code's documented expansion: ${VAR} is VAR's value; ${VAR:-default} is VAR's value or the default."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        if name in environment:
            return environment[name]
        assert default is not None, f"Claude Code refuses to load ${{{name}}} while {name} is unset"
        return default

    return EXPANSION.sub(replace, value)


def launched_environment(name: str, environment: dict[str, str]) -> dict[str, str]:
    """The variables the client sets for tickets-mcp from this example, in a user's `environment`."""
    env = cast(dict[str, str], entry(name).get("env", {}))
    if name == "claude-code.mcp.json":
        return {key: claude_code_expand(value, environment) for key, value in env.items()}
    return dict(env)


def load(name: str) -> Json:
    document = json.loads((CLIENTS / name).read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{name} is not a JSON object"
    return cast(Json, document)


def entry(name: str) -> Json:
    key, _ = FORMATS[name]
    servers = load(name).get(key)
    assert isinstance(servers, dict), f"{name} has no {key!r} object"
    server = cast(Json, servers).get(SERVER)
    assert isinstance(server, dict), f"{name} has no {SERVER!r} server under {key!r}"
    return cast(Json, server)


def test_every_json_example_is_a_known_client_format() -> None:
    assert EXAMPLES, f"no JSON files in {CLIENTS}"
    assert set(EXAMPLES) == set(FORMATS)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_starts_the_tickets_mcp_command_under_the_clients_top_level_key(name: str) -> None:
    server = entry(name)
    assert server["command"] == COMMAND
    args = server.get("args", [])
    assert isinstance(args, list)
    assert all(isinstance(arg, str) for arg in cast(list[object], args))


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_does_not_use_the_other_clients_top_level_key(name: str) -> None:
    key, _ = FORMATS[name]
    assert OTHER_KEY[key] not in load(name)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_declares_a_stdio_type_when_its_client_requires_one(name: str) -> None:
    _, type_required = FORMATS[name]
    server = entry(name)
    if type_required:
        assert server["type"] == "stdio"
    else:
        assert server.get("type", "stdio") == "stdio"


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_sets_only_environment_variables_tickets_mcp_reads(name: str) -> None:
    env = entry(name).get("env", {})
    assert isinstance(env, dict)
    env = cast(dict[str, object], env)
    assert set(env) <= KNOWN_ENV, f"unknown variables: {set(env) - KNOWN_ENV}"
    assert all(isinstance(value, str) for value in env.values())


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_is_valid_in_its_clients_documented_format(name: str) -> None:
    validator = format_of(name)
    assert [error.message for error in validator.iter_errors(load(name))] == []


def test_the_format_check_refuses_an_entry_the_client_would_not_read() -> None:
    desktop = format_of("claude_desktop_config.json")
    assert not desktop.is_valid({"servers": {"tracker": {"command": "tickets-mcp"}}})
    assert not desktop.is_valid({"mcpServers": {"tracker": {"command": "tickets-mcp", "environment": {}}}})
    vscode = format_of("vscode.mcp.json")
    assert not vscode.is_valid({"servers": {"tracker": {"command": "tickets-mcp"}}})
    assert not vscode.is_valid({"servers": {"tickets": {"url": "https://tracker.example.com/mcp"}}})
    cursor = format_of("cursor.mcp.json")
    assert not cursor.is_valid({"mcpServers": {"tickets": {"url": "https://t.example/mcp", "header": {}}}})
    code = format_of("claude-code.mcp.json")
    assert not code.is_valid({"mcpServers": {"tickets": {"type": "streamable-http", "url": "https://t.example/mcp"}}})


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_reaches_the_same_default_database(name: str) -> None:
    assert "--db" not in entry(name).get("args", [])
    assert launched_environment(name, {}).get(ENV_DB, "") == ""


def test_claude_code_example_passes_a_users_own_database_through() -> None:
    environment = {ENV_DB: "/home/me/tracker.db"}
    assert launched_environment("claude-code.mcp.json", environment)[ENV_DB] == "/home/me/tracker.db"


def test_an_empty_database_variable_means_the_default_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv(ENV_DB, "")
    assert config.Settings.from_env().db == tmp_path / "tickets-mcp" / config.DB_FILE_NAME


def test_readme_gives_the_claude_code_one_line_command_and_the_package_runner_forms() -> None:
    readme = (CLIENTS / "README.md").read_text(encoding="utf-8")
    assert "claude mcp add --transport stdio --scope project tracker -- tickets-mcp" in readme
    assert "uvx tickets-mcp" in readme
    assert "pipx run tickets-mcp" in readme
    for name in EXAMPLES:
        assert name in readme, f"README does not mention {name}"


def json_blocks(page: Path) -> list[Json]:
    return [cast(Json, json.loads(block)) for block in JSON_BLOCK.findall(page.read_text(encoding="utf-8"))]


def client_pages() -> list[Path]:
    return sorted(PAGES.glob("*.md"))


@pytest.mark.parametrize("page", sorted(PAGE_FORMATS))
def test_every_configuration_a_client_page_shows_is_in_that_clients_documented_format(page: str) -> None:
    blocks = json_blocks(PAGES / page)
    assert blocks, f"docs/clients/{page} shows no configuration"
    validator = format_of(PAGE_FORMATS[page])
    assert [error.message for block in blocks for error in validator.iter_errors(block)] == []


@pytest.mark.parametrize("page", client_pages(), ids=lambda page: page.name)
def test_every_json_block_of_a_client_page_parses(page: Path) -> None:
    json_blocks(page)


LINKING_PAGES = [*client_pages(), REPO / "README.md", REPO / "docs" / "deployment.md"]


@pytest.mark.parametrize("page", LINKING_PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_relative_link_of_a_client_page_reaches_a_file(page: Path) -> None:
    targets = [m.group("target") for m in LINK.finditer(page.read_text(encoding="utf-8"))]
    local = [t for t in targets if t and not re.match(r"[a-z]+:", t)]
    assert [t for t in local if not (page.parent / t).exists()] == []


def test_the_client_index_links_every_client_page() -> None:
    index = (PAGES / "README.md").read_text(encoding="utf-8")
    linked = {m.group("target") for m in LINK.finditer(index)}
    assert {p.name for p in client_pages() if p.name != "README.md"} <= linked


def test_the_readme_and_the_deployment_guide_point_to_the_client_index() -> None:
    readme = {m.group("target") for m in LINK.finditer((REPO / "README.md").read_text(encoding="utf-8"))}
    deployment = (REPO / "docs" / "deployment.md").read_text(encoding="utf-8")
    assert "docs/clients/README.md" in readme
    assert "clients/README.md" in {m.group("target") for m in LINK.finditer(deployment)}
