"""Log lines on stderr, as text or as one compact JSON object per line, with secrets masked in both.

Every command logs through the root logger configured here, uvicorn's error and access loggers too.
Whatever a library puts in a message, tokens, `Authorization` values, secret query parameters and
passwords in URLs are masked before the line is written, percent-encoded ones too (`?private%5Ftoken=pk%5F...`
authenticates as well as the plain form, so it is decoded before it is masked).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote, unquote

from tickets_mcp.environment import env
from tickets_mcp.errors import Invalid

ENV_LOG_FORMAT = "TICKETS_LOG_FORMAT"
LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"

# What the HTTP front end knows about the request being served (method, path, route), for every line
# logged while it is handled.
request_fields: ContextVar[Mapping[str, Any] | None] = ContextVar("tracker_request_fields", default=None)

_VALUE = r"""[^\s"',;}]+"""
_SECRETS = (
    # Token headers written as name: value or name=value, an Authorization scheme included.
    (
        re.compile(rf"""(?i)\b(x-api-key|private-token|authorization)(["']?\s*[:=]\s*["']?)(?:\w+\s+)?{_VALUE}"""),
        r"\1\2***",
    ),
    # Authorization values on their own: "Bearer abc", "Basic abc" (capitalised: "basic" is also a word).
    (re.compile(rf"\b((?i:bearer)|Basic)(\s+){_VALUE}"), r"\1\2***"),
    # Tracker tokens and webhook secrets wherever they appear (see tokens.TOKEN_FORMAT, webhooks.SECRET_PREFIX).
    (re.compile(r"\b(pk|proj|amk|whsec)_[A-Za-z0-9_-]{8,}"), r"\1_***"),
    # Secret query parameters: ?private_token=..., &access_token=..., &password=...
    (
        re.compile(r"(?i)([?&;](?:private_token|access_token|token|api_key|apikey|password|secret)=)[^&;#\s\"']*"),
        r"\1***",
    ),
    # Passwords in URLs: postgresql://user:secret@host
    # (a scheme starts where no scheme character precedes it: else "a.a.a…" is tried from every letter).
    (re.compile(r"(?i)(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*://[^:/?#@\s]*):[^@/?#\s]*@"), r"\1:***@"),
)


# A run of URL characters, decoded when it holds a percent escape, and what may stay unescaped when it is
# written again (printable ASCII but quotes, so that decoding never puts a newline or a forged field into
# a line). Runs are found whole and then searched: a pattern asking for the escape inside the run would
# rescan the rest of the line from every position, which a 40,000-character URL turns into seconds.
_RUN = re.compile(r"""[^\s"']+""")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_UNESCAPED = "".join(chr(code) for code in range(0x21, 0x7F) if chr(code) not in "%\"'\\")
_DECODINGS_MAX = 4  # %255F is %5F once decoded, _ twice


def redact(text: str) -> str:
    """`text` with every secret it carries replaced by `***`, whether written plainly or percent-encoded."""
    return _redact_plain(_RUN.sub(_redact_encoded, text))


def _redact_plain(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def _redact_encoded(match: re.Match[str]) -> str:
    """A run as it was if it hides no percent-encoded secret, else decoded, masked and encoded again."""
    decoded = match.group()
    if _ESCAPE.search(decoded) is None:
        return decoded
    for _ in range(_DECODINGS_MAX):
        once = unquote(decoded)
        if once == decoded:
            break
        decoded = once
    masked = _redact_plain(decoded)
    return match.group() if masked == decoded else quote(masked, safe=_UNESCAPED)


def log_format_from(flag: str | None) -> LogFormat:
    """The flag if given, else TICKETS_LOG_FORMAT, else text."""
    value = (flag or env(ENV_LOG_FORMAT) or "text").strip().lower()
    if value == "text":
        return "text"
    if value == "json":
        return "json"
    raise Invalid("log_format", f"Log format must be text or json, not {value!r}.")


class TextFormatter(logging.Formatter):
    """`LEVEL logger: message`, secrets masked."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One compact JSON object per record: time, level, logger, message, and request fields when known."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in (request_fields.get() or {}).items():
            entry[key] = redact(value) if isinstance(value, str) else value
        entry.update(access_fields(record))
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str)


def access_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The request fields of a uvicorn access line, whose arguments are (client, method, path, HTTP version, status)."""
    args = record.args
    if record.name != "uvicorn.access" or not isinstance(args, tuple) or len(args) != 5:
        return {}
    client, method, path, http_version, status = args
    return {
        "client": str(client),
        "method": str(method),
        "path": redact(str(path)),
        "http_version": str(http_version),
        "status": status,
    }


class StderrHandler(logging.Handler):
    """Writes each line to `sys.stderr` as it is at that moment, as `logging.lastResort` does."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        except Exception:  # logging's own contract: a line that cannot be written must not raise
            self.handleError(record)


def configure(level: str, log_format: LogFormat) -> None:
    """Send every logger's records to stderr in `log_format`, from `level` up.

    Runs before any server is built, so the SDK's own logging set-up finds the root logger configured
    and leaves it alone. Handlers someone else installed (a test runner's) are kept.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    # At DEBUG the HTTP client's transport logs raw response headers, where a remote tracker may echo
    # a token or set a cookie; its own lines say nothing an operator needs that ours do not.
    logging.getLogger("httpcore2").setLevel(max(logging.INFO, root.getEffectiveLevel()))


def announce(message: str, level: int = logging.INFO) -> None:
    """Say something the operator must see whatever the log level (the URL served, a fatal error).

    It is a plain line in text mode; with JSON logs it is a record like every other line, so that
    stderr stays one JSON object per line.
    """
    root = logging.getLogger()
    if any(isinstance(handler.formatter, JsonFormatter) for handler in root.handlers):
        logger = logging.getLogger("tickets_mcp")
        logger.handle(logger.makeRecord(logger.name, level, "", 0, message, (), None))
    else:
        print(redact(message), file=sys.stderr, flush=True)
