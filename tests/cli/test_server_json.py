"""server.json, the MCP registry entry: valid against the registry's schema and in step with the code."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any, cast

import pytest
from jsonschema import Draft7Validator
from jsonschema.protocols import Validator

import tickets_mcp
from tickets_mcp import config, logs
from tickets_mcp.config import ENV_DB, ENV_LOG_LEVEL, ENV_SYNCHRONOUS, ENV_TOKEN
from tickets_mcp.core.access import ENV_TIER, Tier
from tickets_mcp.domain import files
from tickets_mcp.domain import webhooks as webhook_rules
from tickets_mcp.http import settings as serve_settings
from tickets_mcp.http.board import access as board_access
from tickets_mcp.mcp import exposure
from tickets_mcp.mcp.exposure import ENV_TOOLS, TOOLSET_NAMES
from tickets_mcp.stores import search

REPO = Path(__file__).resolve().parent.parent.parent
SERVER_JSON = REPO / "server.json"
SCHEMA = Path(__file__).resolve().parent.parent / "data" / "server.schema.json"
SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
# SHA-256 of the published schema file, as pinned by other projects that vendor it (see tests/data/README.md).
SCHEMA_SHA256 = "3fba09590c99f61735d234822279f4223fab9e300c0a81e81c91ab62a4114de0"

Json = dict[str, Any]


def load(path: Path) -> Json:
    return cast(Json, json.loads(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def schema() -> Json:
    return load(SCHEMA)


@pytest.fixture(scope="module")
def validator(schema: Json) -> Validator:
    """The validator class matching the schema's declared draft (draft-07), with format checking on."""
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


@pytest.fixture
def server() -> Json:
    return load(SERVER_JSON)


def package(server: Json) -> Json:
    packages = cast(list[Json], server["packages"])
    assert len(packages) == 1
    return packages[0]


def errors(validator: Validator, document: Json) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(document)]


def test_vendored_schema_is_the_unmodified_2025_12_11_registry_schema(schema: Json) -> None:
    # Normalise line endings so a Windows checkout with core.autocrlf still matches the published bytes.
    assert hashlib.sha256(SCHEMA.read_bytes().replace(b"\r\n", b"\n")).hexdigest() == SCHEMA_SHA256
    assert schema["$id"] == SCHEMA_URL
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    Draft7Validator.check_schema(schema)


def test_server_json_declares_the_vendored_schema_version(server: Json) -> None:
    assert server["$schema"] == SCHEMA_URL


def test_server_json_is_valid_against_the_registry_schema(validator: Validator, server: Json) -> None:
    assert errors(validator, server) == []


def test_server_json_version_and_package_version_match_the_released_code(server: Json) -> None:
    assert server["version"] == tickets_mcp.__version__
    assert package(server)["version"] == tickets_mcp.__version__


def test_server_json_describes_the_pypi_package_run_over_stdio(server: Json) -> None:
    pkg = package(server)
    assert pkg["registryType"] == "pypi"
    assert pkg["identifier"] == "tickets-mcp"
    assert pkg["transport"] == {"type": "stdio"}


def declared_variables(*modules: object) -> set[str]:
    """The values of the modules' ENV_* constants: the environment variables each reads."""
    return {value for module in modules for name, value in vars(module).items() if name.startswith("ENV_")}


STDIO_VARIABLES = declared_variables(config, exposure, files, logs, search)
# Serve's, and the webhook rule's (serve sends webhooks; the admin commands add them): the stdio server has no use.
SERVE_ONLY_VARIABLES = declared_variables(serve_settings, board_access, webhook_rules)


def test_server_json_lists_every_environment_variable_a_stdio_user_may_set(server: Json) -> None:
    variables = cast(list[Json], package(server)["environmentVariables"])
    names = [v["name"] for v in variables]
    assert len(names) == len(set(names)), f"duplicate environment variables: {names}"
    assert {ENV_TIER, ENV_TOOLS, ENV_TOKEN} <= STDIO_VARIABLES
    assert set(names) == STDIO_VARIABLES


def test_every_variable_the_code_names_is_in_server_json_or_only_for_serve(server: Json) -> None:
    source = REPO / "src" / "tickets_mcp"
    named = {
        match
        for path in source.rglob("*.py")
        for match in re.findall(r"(?<![.\w])TICKETS_[A-Z][A-Z_]*[A-Z]\b(?!\s*=)", path.read_text(encoding="utf-8"))
    }
    listed = {v["name"] for v in cast(list[Json], package(server)["environmentVariables"])}
    assert named - listed - SERVE_ONLY_VARIABLES == set()
    assert len(listed | SERVE_ONLY_VARIABLES) == 34  # 5 of them OAuth's (http/settings.py)


def test_every_environment_variable_is_optional_described_and_secret_only_if_a_token(server: Json) -> None:
    for variable in cast(list[Json], package(server)["environmentVariables"]):
        assert variable["isRequired"] is False, variable["name"]
        assert variable["isSecret"] is (variable["name"] == ENV_TOKEN), variable["name"]
        assert str(variable.get("description", "")).strip(), variable["name"]
        if "default" in variable and "choices" in variable:
            assert variable["default"] in variable["choices"], variable["name"]


def test_environment_variable_defaults_are_the_ones_the_code_uses(server: Json) -> None:
    by_name = {v["name"]: v for v in cast(list[Json], package(server)["environmentVariables"])}
    assert by_name[ENV_SYNCHRONOUS]["default"] == "full"
    assert by_name[ENV_LOG_LEVEL]["default"] == "WARNING"
    assert by_name[ENV_DB]["format"] == "filepath"
    assert by_name[ENV_TIER]["choices"] == [tier.label for tier in Tier]
    assert by_name[ENV_TIER]["default"] == Tier.FULL.label
    for name in TOOLSET_NAMES:
        assert name in by_name[ENV_TOOLS]["description"]


def test_a_server_json_without_a_name_fails_validation(validator: Validator, server: Json) -> None:
    broken = copy.deepcopy(server)
    del broken["name"]
    assert any("'name' is a required property" in e for e in errors(validator, broken))


def test_a_server_json_with_an_unknown_transport_type_fails_validation(validator: Validator, server: Json) -> None:
    broken = copy.deepcopy(server)
    package(broken)["transport"] = {"type": "pigeon"}
    assert errors(validator, broken) != []


def test_a_server_json_with_a_name_outside_the_reverse_dns_form_fails_validation(
    validator: Validator, server: Json
) -> None:
    broken = copy.deepcopy(server)
    broken["name"] = "tickets-mcp"
    assert errors(validator, broken) != []


def test_a_server_json_whose_package_version_is_latest_fails_validation(validator: Validator, server: Json) -> None:
    broken = copy.deepcopy(server)
    package(broken)["version"] = "latest"
    assert errors(validator, broken) != []
