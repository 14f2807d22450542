"""The one HTTP client every remote adapter uses: timeouts, careful retries, safe redirects, clear errors.

- Every attempt has a timeout, and a request as a whole (retries and waits included) a deadline.
- Only idempotent requests (GET, HEAD, PUT, DELETE, or a call the adapter marks idempotent) are
  retried, on 429, 502, 503, 504, time-outs and dropped connections, after the wait the server
  asks for (`Retry-After` in seconds or as an HTTP date, or a rate-limit reset header) or a short
  doubling backoff. A POST is sent again only when it provably never left (the connection was
  refused); after a time-out or a reset it raises `Ambiguous`, so the adapter can look for what
  the POST may have created instead of creating it twice.
- Redirects are followed on the same scheme, host and port only; credentials never go to another host.
- Only http(s) base URLs; bodies are capped; malformed JSON, statuses and remote messages become the
  tracker's own errors, naming the backend and never the token.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, cast

import anyio
import httpx2

from tracker_mcp.errors import BackendUnavailable, Conflict, Invalid, NotFound, PermissionDenied, RateLimited

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_REDIRECTS = 5
MESSAGE_MAX = 200
RESET_HEADERS = ("ratelimit-reset", "x-ratelimit-reset", "x-rate-limit-reset")


@dataclass(frozen=True, slots=True)
class Policy:
    timeout: float = 10.0  # seconds per attempt (connect, each read, each write)
    deadline: float = 30.0  # seconds for the whole request, retries and waits included
    retries: int = 3  # extra attempts for an idempotent request
    backoff: float = 0.25  # first pause between attempts when the server names none; doubles
    max_body: int = 8 * 1024 * 1024  # bytes of response body read at most


class Ambiguous(BackendUnavailable):
    """A non-idempotent request may or may not have been applied (time-out or reset after sending)."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: Any  # the parsed JSON, or None for an empty body
    attempts: int = 1


@dataclass(slots=True)
class _Attempt:
    """What one attempt ended with: a reply, or a failure and whether the request may have been applied."""

    reply: Reply | None = None
    error: Exception | None = None
    sent: bool = True  # False only when the connection was never made
    wait: float | None = None  # what the server asked us to wait before retrying
    notes: list[str] = field(default_factory=list[str])


def validate_base_url(url: str) -> httpx2.URL:
    """The base URL of a remote tracker: http or https, with a host; refused otherwise."""
    try:
        parsed = httpx2.URL(url.strip())
    except (httpx2.InvalidURL, TypeError) as exc:
        raise Invalid("url", f"{url!r} is not a URL ({exc}).", hint="Pass e.g. https://tracker.example.com.") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise Invalid("url", "The remote URL must start with http:// or https:// and name a host.")
    if parsed.username or parsed.password:
        raise Invalid("url", "Put the token in --token or TRACKER_TOKEN, not in the URL.")
    return parsed.copy_with(path=parsed.path.rstrip("/") + "/", query=None, fragment=None)


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait, from `Retry-After` (seconds or an HTTP date) or a rate-limit reset header."""
    now = time.time() if now is None else now
    value = headers.get("retry-after")
    if value is not None:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - now)
    for name in RESET_HEADERS:
        reset = headers.get(name)
        if reset is not None and reset.strip().replace(".", "", 1).isdigit():
            seconds = float(reset)
            # An epoch timestamp (GitHub, GitLab) or a number of seconds (the IETF draft).
            return max(0.0, seconds - now) if seconds > 1_000_000_000 else seconds
    return None


def remote_message(body: Any, text: str) -> str:
    """The remote's own explanation, from the usual JSON shapes, cut short and stripped of control characters."""
    message: Any = None
    if isinstance(body, dict):
        found: dict[str, Any] = body  # pyright: ignore[reportUnknownVariableType]
        message = found.get("message") or found.get("error") or found.get("detail")
        errors = found.get("errors")
        if message is None and isinstance(errors, list) and errors:
            first: Any = cast(list[Any], errors)[0]
            item = cast(dict[str, Any], first) if isinstance(first, dict) else {"detail": first}
            message = item.get("detail") or item.get("title")
    if message is None:
        message = text
    if not isinstance(message, str):
        message = json.dumps(message, separators=(",", ":"))
    cleaned = "".join(ch if ch.isprintable() else " " for ch in message).strip()
    return cleaned[:MESSAGE_MAX] + ("…" if len(cleaned) > MESSAGE_MAX else "")


class RemoteClient:
    """HTTP to one remote tracker: `backend` names it in every error, `auth` holds its credential headers."""

    def __init__(
        self,
        backend: str,
        base_url: str,
        auth: Mapping[str, str],
        *,
        policy: Policy | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.backend = backend
        self.base_url = validate_base_url(base_url)
        self.policy = policy or Policy()
        self._auth = dict(auth)
        self._http = httpx2.AsyncClient(
            timeout=self.policy.timeout,
            follow_redirects=False,
            transport=transport,
            trust_env=False,
            headers={"accept": "application/json", "user-agent": "tracker-mcp"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def url(self, path: str) -> httpx2.URL:
        return self.base_url.join(path.lstrip("/"))

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
    ) -> Reply:
        """Send, retrying where that is safe; raises the tracker's errors for every failure status."""
        method = method.upper()
        safe = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        deadline = time.monotonic() + self.policy.deadline
        pause = self.policy.backoff
        attempt_no = 0
        while True:
            attempt_no += 1
            remaining = deadline - time.monotonic()
            attempt = await self._attempt(method, self.url(path), params, json_body, remaining)
            retryable = attempt.error is not None or (
                attempt.reply is not None and attempt.reply.status in RETRY_STATUSES
            )
            may_retry = (safe or not attempt.sent) and retryable and attempt_no <= self.policy.retries
            wait = attempt.wait if attempt.wait is not None else pause
            if may_retry and time.monotonic() + wait < deadline:
                log.info("%s: %s %s failed (%s); retrying in %.2f s", self.backend, method, path,
                         _describe(attempt), wait)  # fmt: skip
                await anyio.sleep(wait)
                pause *= 2
                continue
            return self._conclude(method, path, attempt, safe, attempt_no)

    async def _attempt(
        self, method: str, url: httpx2.URL, params: Mapping[str, Any] | None, json_body: Any, remaining: float
    ) -> _Attempt:
        if remaining <= 0:
            return _Attempt(error=TimeoutError("deadline"), sent=False)
        timeout = httpx2.Timeout(min(self.policy.timeout, remaining))
        content = None if json_body is None else json.dumps(json_body, separators=(",", ":")).encode()
        headers = {**self._auth, **({"content-type": "application/json"} if content is not None else {})}
        try:
            with anyio.fail_after(min(self.policy.timeout, remaining) + 1):
                for _ in range(MAX_REDIRECTS + 1):
                    request = self._http.build_request(
                        method, url, params=dict(params or {}), content=content, headers=headers, timeout=timeout
                    )
                    response = await self._http.send(request, stream=True)
                    try:
                        if response.is_redirect and "location" in response.headers:
                            url, method, content = self._redirect(url, method, content, response)
                            continue
                        body = await self._read(response)
                    finally:
                        await response.aclose()
                    return _Attempt(
                        reply=Reply(response.status_code, dict(response.headers), body),
                        wait=retry_after(response.headers) if response.status_code in RETRY_STATUSES else None,
                    )
                raise BackendUnavailable(f"{self.backend} redirected more than {MAX_REDIRECTS} times.")
        except httpx2.ConnectError as exc:
            return _Attempt(error=exc, sent=False)
        except (httpx2.TimeoutException, TimeoutError, httpx2.NetworkError, httpx2.RemoteProtocolError) as exc:
            return _Attempt(error=exc, sent=not isinstance(exc, httpx2.ConnectTimeout | httpx2.PoolTimeout))

    def _redirect(
        self, url: httpx2.URL, method: str, content: bytes | None, response: httpx2.Response
    ) -> tuple[httpx2.URL, str, bytes | None]:
        target = url.join(response.headers["location"])
        if (target.scheme, target.host, target.port) != (url.scheme, url.host, url.port):
            raise BackendUnavailable(
                f"{self.backend} redirected to another host ({target.scheme}://{target.host}); "
                "the token was not sent there.",
                hint="Set the URL to the tracker's final address.",
            )
        if response.status_code == 303 or (response.status_code in (301, 302) and method != "HEAD"):
            return target, "GET" if method != "HEAD" else "HEAD", None
        return target, method, content

    async def _read(self, response: httpx2.Response) -> Any:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.policy.max_body:
            raise self._too_big()
        data = bytearray()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > self.policy.max_body:
                raise self._too_big()
        if not data.strip():
            return None
        try:
            return json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError):
            if response.is_success:
                raise BackendUnavailable(
                    f"{self.backend} answered {response.status_code} with a body that is not JSON.",
                    hint="Check that the URL points at the tracker's API.",
                ) from None
            return data[:2000].decode(errors="replace")

    def _too_big(self) -> BackendUnavailable:
        return BackendUnavailable(
            f"{self.backend} sent a response larger than {self.policy.max_body // (1024 * 1024)} MB; it was not read.",
            hint="Ask for fewer items (a smaller limit or a narrower filter).",
        )

    def _conclude(self, method: str, path: str, attempt: _Attempt, safe: bool, attempts: int) -> Reply:
        if attempt.error is not None:
            what = f"{method} {path}"
            if isinstance(attempt.error, BackendUnavailable):
                raise attempt.error
            if attempt.sent and not safe:
                raise Ambiguous(
                    f"{self.backend} did not answer {what} ({_describe(attempt)}); "
                    "it may or may not have been applied.",
                    hint="Check before retrying (e.g. list recent tickets), so nothing is done twice.",
                )
            raise BackendUnavailable(
                f"{self.backend} did not answer {what} after {attempts} attempt{'s' if attempts > 1 else ''} "
                f"({_describe(attempt)}).",
                hint="Retry later; check the URL and that the tracker is up.",
            )
        reply = attempt.reply
        assert reply is not None
        reply = Reply(reply.status, reply.headers, reply.body, attempts)
        if reply.status < 400:
            return reply
        raise self._error(reply)

    def _error(self, reply: Reply) -> Exception:
        text = reply.body if isinstance(reply.body, str) else ""
        said = remote_message(reply.body, text) or f"HTTP {reply.status}"
        name = self.backend
        status = reply.status
        if status == 401:
            return PermissionDenied(
                f"{name} rejected the token ({said}).",
                hint="The token is wrong, expired or revoked: set a valid one in TRACKER_TOKEN.",
            )
        if status == 403:
            return PermissionDenied(f"{name} refused: {said}.", hint="The token may lack a scope or role for this.")
        if status == 404:
            return NotFound(f"{name}: not found ({said}).")
        if status == 409:
            return Conflict(f"{name}: conflict ({said}).", hint="Read the current state and retry.")
        if status == 429:
            wait = retry_after(reply.headers)
            seconds = max(1, round(wait)) if wait is not None else 60
            return RateLimited(
                f"{name} is rate limiting these requests; retry after {seconds} s.",
                retry_after=float(seconds),
            )
        if status in (400, 405, 413, 415, 422):
            return Invalid("request", f"{name} refused the request: {said}.")
        return BackendUnavailable(f"{name} failed with HTTP {status} ({said}).", hint="Retry later.")


def _describe(attempt: _Attempt) -> str:
    if attempt.error is not None:
        kind = type(attempt.error).__name__
        return "timed out" if "Timeout" in kind or kind == "TimeoutError" else f"connection failed: {kind}"
    assert attempt.reply is not None
    return f"HTTP {attempt.reply.status}"
