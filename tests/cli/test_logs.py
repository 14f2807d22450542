"""Log lines: text or one JSON object per line, and no secret in either."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tickets_mcp import logs
from tickets_mcp.cli.main import main
from tickets_mcp.logs import JsonFormatter, TextFormatter, redact, request_fields

TOKEN = "pk_" + "Abc-123_x" * 5


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """main() configures the root logger of this process; put it back for the tests after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"Authorization: Bearer {TOKEN}", "Authorization: ***"),
        (f"bearer {TOKEN[3:]}", "bearer ***"),
        (f"x-api-key={TOKEN[3:]}", "x-api-key=***"),
        (f"{{'private-token': '{TOKEN[3:]}'}}", "{'private-token': '***'}"),
        (f"GET /issues?state=opened&private_token={TOKEN}&page=2", "GET /issues?state=opened&private_token=***&page=2"),
        (f"token {TOKEN} refused", "token pk_*** refused"),
        (f"signed with whsec_{TOKEN[3:]}", "signed with whsec_***"),
        ("postgresql://tracker:s3cret@db:5432/tracker", "postgresql://tracker:***@db:5432/tracker"),
        ("postgresql://db/tracker?user=t&password=s3cret", "postgresql://db/tracker?user=t&password=***"),
        (f"Basic {TOKEN[3:]}", "Basic ***"),
        ("GET /api/v1/ext/orgs/local/tickets 200", "GET /api/v1/ext/orgs/local/tickets 200"),
        ("basic checks passed", "basic checks passed"),
        (f"GET /x?private%5Ftoken={TOKEN.replace('_', '%5F')}&a=1", "GET /x?private_token=***&a=1"),
        (f"GET /x?private_token=%2570k%255F{TOKEN[3:]}", "GET /x?private_token=***"),
        (f"GET /x/{TOKEN.replace('_', '%5F')}%0Aforged", "GET /x/pk_***%0Aforged"),
        ("GET /a%2Fb?q=hello%20world 200", "GET /a%2Fb?q=hello%20world 200"),
    ],
)  # fmt: skip
def test_secrets_are_masked_and_everything_else_is_kept(text: str, shown: str) -> None:
    assert redact(text) == shown


def record(name: str, message: str, args: tuple[object, ...] = ()) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, message, args, None)


def test_a_json_line_has_time_level_logger_message_and_the_fields_of_an_access_line() -> None:
    arguments = ("127.0.0.1:5000", "GET", f"/x?private_token={TOKEN}", "1.1", 401)
    line = JsonFormatter().format(record("uvicorn.access", '%s - "%s %s HTTP/%s" %d', arguments))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["time"].endswith("Z")
    assert (entry["level"], entry["logger"]) == ("INFO", "uvicorn.access")
    assert entry["message"] == '127.0.0.1:5000 - "GET /x?private_token=*** HTTP/1.1" 401'
    assert (entry["method"], entry["path"], entry["status"], entry["client"]) == (
        "GET", "/x?private_token=***", 401, "127.0.0.1:5000",
    )  # fmt: skip


def test_lines_logged_while_a_request_is_served_carry_its_method_and_path() -> None:
    token = request_fields.set({"method": "POST", "path": "/mcp"})
    try:
        entry = json.loads(JsonFormatter().format(record("mcp.server", "Tool %r failed", ("get_ticket",))))
    finally:
        request_fields.reset(token)
    assert entry == entry | {"method": "POST", "path": "/mcp", "message": "Tool 'get_ticket' failed"}


def test_a_traceback_is_masked_too() -> None:
    try:
        raise RuntimeError(f"cannot reach postgresql://u:hunter2@db/x with {TOKEN}")
    except RuntimeError:
        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info())
    for formatted in (JsonFormatter().format(failed), TextFormatter().format(failed)):
        assert "hunter2" not in formatted
        assert TOKEN not in formatted
        assert "RuntimeError" in formatted


def test_every_command_reports_errors_as_json_with_log_format_json(
    capsys: pytest.CaptureFixture[str], db_path: Path
) -> None:
    assert main(["--db", str(db_path), "--log-format", "json", "token", "revoke", "999"]) == 2
    entry = json.loads(capsys.readouterr().err.strip())
    assert (entry["level"], entry["logger"]) == ("ERROR", "tickets_mcp")
    assert entry["message"].startswith("tickets-mcp: ")


def test_the_log_format_comes_from_the_environment_and_a_wrong_one_is_refused(
    capsys: pytest.CaptureFixture[str], db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKETS_LOG_FORMAT", "json")
    assert main(["--db", str(db_path), "token", "revoke", "999"]) == 2
    assert json.loads(capsys.readouterr().err)["level"] == "ERROR"
    monkeypatch.setenv("TICKETS_LOG_FORMAT", "yaml")
    assert main(["--db", str(db_path), "info"]) == 2
    assert "Log format must be text or json, not 'yaml'" in capsys.readouterr().err


def test_the_http_clients_transport_never_logs_below_info_where_it_would_show_raw_headers() -> None:
    logs.configure("DEBUG", "text")
    try:
        assert logging.getLogger("httpcore2").getEffectiveLevel() == logging.INFO
        assert logging.getLogger("tickets_mcp").getEffectiveLevel() == logging.DEBUG
    finally:
        logs.configure("WARNING", "text")
        logging.getLogger("httpcore2").setLevel(logging.NOTSET)  # as other tests found it
