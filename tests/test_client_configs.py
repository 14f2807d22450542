"""The client configuration examples in examples/clients start tickets-mcp where each client looks for it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest

from tickets_mcp.config import ENV_DB, ENV_LOG_LEVEL, ENV_SYNCHRONOUS, ENV_USER

CLIENTS = Path(__file__).resolve().parent.parent / "examples" / "clients"
COMMAND = "tickets-mcp"
SERVER = "tracker"
KNOWN_ENV = {ENV_DB, ENV_SYNCHRONOUS, ENV_USER, ENV_LOG_LEVEL}

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


def test_claude_desktop_example_shows_how_to_choose_the_database_file() -> None:
    assert ENV_DB in entry("claude_desktop_config.json")["env"]


def test_readme_gives_the_claude_code_one_line_command_and_the_package_runner_forms() -> None:
    readme = (CLIENTS / "README.md").read_text(encoding="utf-8")
    assert "claude mcp add --transport stdio --scope project tracker -- tickets-mcp" in readme
    assert "uvx tickets-mcp" in readme
    assert "pipx run tickets-mcp" in readme
    for name in EXAMPLES:
        assert name in readme, f"README does not mention {name}"
