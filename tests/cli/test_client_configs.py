"""The client configuration examples in examples/clients start tickets-mcp where each client looks for it.

Each file is checked against its client's documented format, written down here as a JSON Schema from the
client's own documentation (linked beside each), and every example must reach the same default database.
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

CLIENTS = Path(__file__).resolve().parent.parent.parent / "examples" / "clients"
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


# Each client's documented configuration format for a local (stdio) server.
CLIENT_SCHEMAS: dict[str, Json] = {
    # modelcontextprotocol.io/quickstart/user: mcpServers -> {command, args, env}
    "claude_desktop_config.json": servers_schema(
        "mcpServers", stdio_entry(type_values=None, required_type=False), globalShortcut={"type": "string"}
    ),
    # code.claude.com/docs/en/mcp: project .mcp.json, mcpServers -> {type, command, args, env}; ${VAR} and
    # ${VAR:-default} are expanded in command, args and env.
    "claude-code.mcp.json": servers_schema("mcpServers", stdio_entry(type_values=["stdio"], required_type=False)),
    # cursor.com/docs/context/mcp: mcpServers -> {type, command, args, env, envFile}
    "cursor.mcp.json": servers_schema(
        "mcpServers", stdio_entry(type_values=["stdio"], required_type=False, envFile={"type": "string"})
    ),
    # code.visualstudio.com/docs/copilot/reference/mcp-configuration: servers -> {type: stdio, command, args,
    # env, envFile, dev}, and a top-level inputs list.
    "vscode.mcp.json": servers_schema(
        "servers",
        stdio_entry(type_values=["stdio"], required_type=True, envFile={"type": "string"}, dev={"type": "object"}),
        inputs={"type": "array"},
    ),
}


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
