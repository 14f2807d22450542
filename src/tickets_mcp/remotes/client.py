"""The one HTTP client every remote adapter uses: timeouts, careful retries, safe redirects, clear errors.

- Every connect, read and write has a timeout, and a request as a whole (retries and waits included)
  a deadline it never outlives, however slowly the server trickles its answer.
- Only idempotent requests (GET, HEAD, PUT, DELETE, OPTIONS, or a call the adapter marks idempotent)
  are retried, on 429, 500, 502, 503, 504 (and a 403 that says the rate limit is used up or names a
  wait, as GitHub's secondary limits do), time-outs
  and dropped connections, after the wait the server asks for (`Retry-After` in seconds or as an HTTP
  date, or a rate-limit reset header) or a short doubling backoff; a wait that would pass the deadline
  ends the request at once (429 becomes RateLimited with the server's `retry_after`).
- A non-idempotent request (POST, PATCH) is sent again only when it provably never left (the
  connection could not be made). When it may have been applied but its outcome is unknown (a time-out
  or a reset after sending, a 500/502/504, a success whose body cannot be read) it raises `Ambiguous`,
  so the adapter can look for what it may have created instead of creating it twice.
- Redirects are followed on the same scheme, host and port only (one elsewhere is `RedirectedAway`), and a
  path given as a full URL must be on that origin too: credentials never go to another host.
- Only http(s) base URLs without credentials or a query; bodies are capped (a file past its bound is
  TooLarge); malformed JSON, statuses and remote messages become the tracker's own errors (401: the token
  was rejected, TokenRejected; 403: the scope it lacks, when the remote says; 404, 409, 413 (TooLarge),
  422; 429: retry after N s), naming the backend and the request, with any echo of the credential in the
  remote's words redacted.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import json
import logging
import math
import re
import time
from collections.abc import AsyncGenerator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC
from types import TracebackType
from typing import Any, Self, cast

import anyio
import httpx2

from tickets_mcp.errors import (
    BackendUnavailable,
    Conflict,
    Invalid,
    NotFound,
    PermissionDenied,
    RateLimited,
    TooLarge,
    TrackerError,
)

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Failures after which a non-idempotent request may have been applied: the server or a gateway broke mid-way.
UNSURE_STATUSES = frozenset({500, 502, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
MESSAGE_MAX = 200
RESET_HEADERS = ("ratelimit-reset", "x-ratelimit-reset", "x-rate-limit-reset", "x-ratelimit-requests-reset")
REMAINING_HEADERS = ("ratelimit-remaining", "x-ratelimit-remaining", "x-rate-limit-remaining")
PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
CHECK_HINT = "Check before retrying (get the ticket, or list recent tickets), so nothing is done twice."


@dataclass(frozen=True, slots=True)
class Policy:
    timeout: float = 10.0  # seconds for each connect, read and write of an attempt
    deadline: float = 30.0  # seconds for the whole request, retries and waits included
    retries: int = 3  # extra attempts for an idempotent request
    backoff: float = 0.25  # first pause between attempts when the server names none; doubles
    max_body: int = 8 * 1024 * 1024  # bytes of a success's body read at most; a failure's is cut there


class Ambiguous(BackendUnavailable):
    """A non-idempotent request may or may not have been applied (no answer, or none we could read)."""


class RedirectedAway(BackendUnavailable):
    """The remote answered with a redirect to another origin (`origin`), which is not followed: the credential
    would go with it. An adapter that knows where such a redirect leads can say so in its own words."""

    def __init__(self, message: str, *, hint: str | None = None, origin: str) -> None:
        super().__init__(message, hint=hint)
        self.origin = origin


class TokenRejected(PermissionDenied):
    """401: the remote does not know the token (wrong, expired or revoked). An adapter that may shrug off
    a 403 (a scope or role the token lacks) must not shrug off this."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: Any  # the parsed JSON, or None for an empty body
    attempts: int = 1


FormFile = tuple[str, bytes, str]  # a file sent in a multipart form: its name, its bytes, its type


@dataclass(frozen=True, slots=True)
class _Payload:
    """A request's body and its content type."""

    content: bytes
    type: str


def _form(files: Mapping[str, FormFile]) -> _Payload:
    """`files` as a multipart/form-data body, encoded once: every attempt sends the same bytes and boundary."""
    request = httpx2.Request("POST", "http://form.invalid/", files=dict(files))
    return _Payload(request.read(), request.headers["content-type"])


@dataclass(slots=True)
class _Attempt:
    """How one attempt ended: a reply, or a failure (a transport error, or a TrackerError that ends the request)."""

    reply: Reply | None = None
    error: Exception | None = None
    sent: bool = True  # whether the request may have been applied; False when it provably was not


class _Unreadable(Exception):
    """A success whose body we refuse to use: too big, or not JSON."""

    def __init__(self, what: str, hint: str, *, file: bool = False) -> None:
        super().__init__(what)
        self.what = what
        self.hint = hint
        self.file = file  # a file read with raw_max, past it


def validate_base_url(url: str) -> httpx2.URL:
    """The base URL of a remote tracker: http or https, with a host, no credentials, no query."""
    try:
        parsed = httpx2.URL(url.strip())
    except (httpx2.InvalidURL, TypeError, AttributeError):
        # The text itself is not repeated: a malformed URL may still carry a password.
        raise Invalid(
            "url", "The remote URL is not a valid URL.", hint="Pass e.g. https://tracker.example.com."
        ) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise Invalid("url", "The remote URL must start with http:// or https:// and name a host.")
    if parsed.username or parsed.password:
        raise Invalid("url", "Put the token in TICKETS_TOKEN or a --token-file, not in the URL.")
    if parsed.query:
        raise Invalid(
            "url", "The remote URL must not have a query (?...); put a token in TICKETS_TOKEN or a --token-file."
        )
    return parsed.copy_with(path=parsed.path.rstrip("/") + "/", fragment=None)


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait, from `Retry-After` (seconds or an HTTP date) or a rate-limit reset header.

    `headers` are an httpx Headers or a mapping with lower-case names. A reset header holds either an
    epoch timestamp in seconds (GitHub, GitLab) or milliseconds (Linear's X-RateLimit-Requests-Reset), or
    a number of seconds (the IETF draft); an unreadable value is ignored.
    """
    now = time.time() if now is None else now
    value = (headers.get("retry-after") or "").strip()
    if value:
        seconds = _seconds(value)
        if seconds is not None:
            return seconds
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, when.timestamp() - now)
    for name in RESET_HEADERS:
        seconds = _seconds(headers.get(name) or "")
        if seconds is not None:
            seconds = seconds / 1000 if seconds > 1_000_000_000_000 else seconds
            return max(0.0, seconds - now) if seconds > 1_000_000_000 else seconds
    return None


def _seconds(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def remote_message(body: Any, text: str) -> str:
    """The remote's own explanation, from the usual JSON shapes, cut short and stripped of control characters."""
    message = _said(body)
    if message is None:
        message = text
    if not isinstance(message, str):
        message = json.dumps(message, separators=(",", ":"))
    cleaned = "".join(ch if ch.isprintable() else " " for ch in message).strip()
    return cleaned[:MESSAGE_MAX] + ("…" if len(cleaned) > MESSAGE_MAX else "")


def _said(body: Any) -> Any:
    """The message in `{"message": ...}`, `{"error": {"message": ...}}`, `{"errors": [{"detail": ...}]}` and kin."""
    if not isinstance(body, dict):
        return None
    found = cast(dict[str, Any], body)
    for key in ("message", "error_description", "error", "detail", "title"):
        value = found.get(key)
        if isinstance(value, dict):
            value = _said(value)
        if value:
            return value
    errors = found.get("errors") or found.get("errorMessages")  # Jira: {"errorMessages": [...], "errors": {}}
    if isinstance(errors, list) and errors:
        first: Any = cast(list[Any], errors)[0]
        return _said(first) if isinstance(first, dict) else first
    return cast(Any, errors) or None


def _secrets(values: Iterable[str]) -> tuple[str, ...]:
    """The credential header values and their token parts ("Bearer abc" -> "abc"), longest first. A Basic
    credential also as the server decodes it, `user:pass`, and its password alone (a server may repeat them)."""
    found: set[str] = set()
    for value in values:
        pieces = [value, *value.split()]
        if len(pieces) == 3 and pieces[1].lower() == "basic":
            pieces += _basic(pieces[2])
        found.update(p for p in pieces if len(p) >= 4 and p.lower() not in ("bearer", "token", "basic"))
    return tuple(sorted(found, key=len, reverse=True))


def _basic(credential: str) -> list[str]:
    """`user:pass` and `pass` of a Basic credential; nothing where it does not decode."""
    try:
        decoded = base64.b64decode(credential, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return []
    return [decoded, decoded.partition(":")[2]]


def _origin(url: httpx2.URL) -> str:
    return f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port is not None else "")


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MB"
    return f"{n / 1024:g} KB" if n >= 1024 else f"{n} bytes"


def _describe(error: Exception) -> str:
    if isinstance(error, httpx2.TimeoutException | TimeoutError):
        return "timed out"
    if isinstance(error, httpx2.ConnectError):
        return "could not connect"
    return "the connection was dropped"


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
        for value in auth.values():
            if not PRINTABLE_ASCII.fullmatch(
                value
            ):  # HTTP headers carry neither, and httpx would say so in a traceback
                raise Invalid(
                    "token",
                    f"The {backend} token holds a character an HTTP header cannot carry (a line break, or one "
                    "outside ASCII such as a typographic quote).",
                    hint="Copy the token again into TICKETS_TOKEN or the token file, as the tracker shows it.",
                )
        self._auth = dict(auth)
        self._secrets = _secrets(self._auth.values())
        self._http = httpx2.AsyncClient(
            timeout=self.policy.timeout,
            follow_redirects=False,
            transport=transport,
            trust_env=False,
            headers={"accept": "application/json", "user-agent": "tickets-mcp"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    @asynccontextmanager
    async def closed_on_failure(self) -> AsyncGenerator[Self]:
        """For an adapter's start-up check: the client stays open if the block succeeds, closes if it fails."""
        try:
            yield self
        except BaseException:
            await self.aclose()
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def url(self, path: str) -> httpx2.URL:
        """`path` under the base URL. A full URL (a pagination link, say) must be on the base URL's origin."""
        try:
            target = self.base_url.join(path.lstrip("/"))
        except httpx2.InvalidURL:
            raise Invalid("path", f"{self.backend}: {path!r} is not a valid path.") from None
        if _origin(target) != _origin(self.base_url):
            raise BackendUnavailable(
                f"{self.backend}: refused to request {self._redact(_origin(target))}, which is not "
                f"{_origin(self.base_url)}; the token was not sent there."
            )
        return target

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        files: Mapping[str, FormFile] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        raw_max: int | None = None,
    ) -> Reply:
        """Send, retrying where that is safe; raises the tracker's errors for every failure status. `content` is
        sent as application/octet-stream (a file), `files` as multipart/form-data (a field's name, then its file
        name, bytes and type); `headers` are sent besides the client's own, which they cannot replace. With
        `raw_max`, a success's body is its bytes, not JSON, read as they stream and refused past `raw_max` bytes
        (TooLarge, as the adapter's own check of a size the remote lists would refuse it)."""
        method = method.upper()
        safe = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        url = self.url(path)
        if params:
            url = url.copy_merge_params(dict(params))
        payload = None
        if json_body is not None:
            payload = _Payload(json.dumps(json_body, separators=(",", ":")).encode(), "application/json")
        elif content is not None:
            payload = _Payload(content, "application/octet-stream")
        elif files is not None:
            payload = _form(files)
        own = {name.lower() for name in (*self._auth, "content-type")}
        extra = {name: value for name, value in (headers or {}).items() if name.lower() not in own}
        what = f"{method} {path}"
        policy = self.policy  # as it stands when the request starts, whatever replaces it meanwhile
        deadline = time.monotonic() + policy.deadline
        pause = policy.backoff
        attempts = 0
        unsure = False  # an earlier attempt may have been applied (matters for a retried PUT or DELETE)
        while True:
            attempts += 1
            attempt = await self._attempt(what, method, url, payload, extra, policy.timeout, deadline, raw_max)
            if attempt.reply is not None:
                status = attempt.reply.status
                retryable = status in RETRY_STATUSES or self._rate_limited(attempt.reply)
                wait = retry_after(attempt.reply.headers) if retryable else None
                why, maybe_applied = f"HTTP {status}", status in UNSURE_STATUSES
            else:
                assert attempt.error is not None
                retryable, wait = not isinstance(attempt.error, TrackerError), None
                why, maybe_applied = _describe(attempt.error), True
            wait = pause if wait is None else wait
            if (
                retryable
                and (safe or not attempt.sent)
                and attempts <= policy.retries
                and time.monotonic() + wait < deadline
            ):
                log.info("%s: %s %s failed (%s); retrying in %.2f s", self.backend, method, path, why, wait)
                unsure = unsure or (attempt.sent and maybe_applied)
                await anyio.sleep(wait)
                pause *= 2
                continue
            return self._conclude(what, attempt, safe, attempts, unsure)

    async def _attempt(
        self,
        what: str,
        method: str,
        url: httpx2.URL,
        payload: _Payload | None,
        extra: Mapping[str, str],
        each: float,
        deadline: float,
        raw_max: int | None,
    ) -> _Attempt:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return _Attempt(error=TimeoutError("deadline"), sent=False)
        timeout = httpx2.Timeout(min(each, remaining))
        try:
            # Each connect, read and write has its own timeout; this bounds a trickling answer by the deadline.
            with anyio.fail_after(remaining):
                return await self._exchange(what, method, url, payload, extra, timeout, raw_max)
        except httpx2.ConnectError as exc:
            return _Attempt(error=exc, sent=False)
        except (httpx2.TimeoutException, TimeoutError) as exc:
            return _Attempt(error=exc, sent=not isinstance(exc, httpx2.ConnectTimeout | httpx2.PoolTimeout))
        except httpx2.TransportError as exc:  # reset, closed without an answer, broken framing
            return _Attempt(error=exc)
        except httpx2.DecodingError:  # a body whose Content-Encoding does not decode
            return _Attempt(error=BackendUnavailable(f"{self.backend} answered {what} with a garbled body."))

    async def _exchange(
        self,
        what: str,
        method: str,
        url: httpx2.URL,
        payload: _Payload | None,
        extra: Mapping[str, str],
        limits: httpx2.Timeout,
        raw_max: int | None,
    ) -> _Attempt:
        """One attempt: send (with the adapter's `extra` headers), follow same-origin redirects, read the reply."""
        applied = False
        for _ in range(MAX_REDIRECTS + 1):
            headers = {**extra, **self._auth, **({"content-type": payload.type} if payload is not None else {})}
            content = payload.content if payload is not None else None
            request = self._http.build_request(method, url, content=content, headers=headers, timeout=limits)
            response = await self._http.send(request, stream=True)
            try:
                status = response.status_code
                if status in REDIRECT_STATUSES and "location" in response.headers:
                    # A 301/302/303 may answer a change already made (post/redirect/get); a 307/308 never does.
                    applied = status in (301, 302, 303)
                    try:
                        target = url.join(response.headers["location"])
                    except httpx2.InvalidURL:
                        error = BackendUnavailable(f"{self.backend} redirected {what} to an invalid address.")
                        return _Attempt(error=error, sent=applied)
                    if _origin(target) != _origin(url):
                        elsewhere = self._redact(_origin(target))
                        error = RedirectedAway(
                            f"{self.backend} redirected {what} to another host ({elsewhere}); "
                            "the token was not sent there.",
                            hint="Set the tracker URL to its final address.",
                            origin=elsewhere,
                        )
                        return _Attempt(error=error, sent=applied)
                    if status in (301, 302, 303) and method != "HEAD":
                        method, payload = "GET", None
                    url = target
                    continue
                try:
                    body = await self._read(method, response, raw_max)
                except _Unreadable as exc:
                    said = f"{self.backend} answered {what} with {exc.what}."
                    # A file past raw_max is too large, as one the remote lists larger is (remotes/file_checks.py).
                    error = (
                        TooLarge("response", said, hint=exc.hint)
                        if exc.file
                        else BackendUnavailable(said, hint=exc.hint)
                    )
                    return _Attempt(error=error)
            finally:
                await response.aclose()
            return _Attempt(reply=Reply(status, dict(response.headers), body))
        error = BackendUnavailable(f"{self.backend} redirected {what} more than {MAX_REDIRECTS} times.")
        return _Attempt(error=error, sent=applied)

    async def _read(self, method: str, response: httpx2.Response, raw_max: int | None = None) -> Any:
        """The JSON body of a success (its bytes, with `raw_max`); for a failure, its text, cut at the cap (only
        its message matters)."""
        if method == "HEAD" or response.status_code in (204, 304):
            return None
        success = response.is_success
        raw = raw_max is not None and success
        cap = raw_max if raw_max is not None and success else self.policy.max_body
        too_big = _Unreadable(
            f"more than {_size(cap)} (HTTP {response.status_code}), which was not read",
            "Ask for fewer items (a smaller limit or a narrower filter)." if not raw else "Open it in the tracker.",
            file=raw,
        )
        declared = response.headers.get("content-length", "").strip()
        if success and declared.isdigit() and int(declared) > cap:
            raise too_big
        data = bytearray()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > cap:
                if success:
                    raise too_big
                del data[cap:]
                break
        if raw:
            return bytes(data)
        if not data.strip():
            return None
        try:
            return json.loads(data)
        except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            if success:
                raise _Unreadable(
                    f"a body that is not JSON (HTTP {response.status_code})",
                    "Check that the URL points at the tracker's API.",
                ) from None
            return data[:2000].decode(errors="replace")

    def _conclude(self, what: str, attempt: _Attempt, safe: bool, attempts: int, unsure: bool) -> Reply:
        error = attempt.error
        if error is not None:
            if isinstance(error, TrackerError):
                if attempt.sent and not safe:
                    raise Ambiguous(
                        f"{error.message.rstrip('.')}, so {what} may or may not have been applied.", hint=CHECK_HINT
                    )
                raise error
            if attempt.sent and not safe:
                raise Ambiguous(
                    f"{self.backend} did not answer {what} ({_describe(error)}); it may or may not have been applied.",
                    hint=CHECK_HINT,
                )
            raise BackendUnavailable(
                f"{self.backend} did not answer {what} after {attempts} attempt{'s' if attempts > 1 else ''} "
                f"({_describe(error)}).",
                hint="Retry later; check the URL and that the tracker is up.",
            )
        assert attempt.reply is not None
        reply = Reply(attempt.reply.status, attempt.reply.headers, attempt.reply.body, attempts)
        if reply.status < 400:
            return reply
        raise self._error(what, reply, safe, unsure)

    def _error(self, what: str, reply: Reply, safe: bool, unsure: bool) -> TrackerError:
        text = reply.body if isinstance(reply.body, str) else ""
        remark = self._redact(remote_message(reply.body, text))
        said = remark or f"HTTP {reply.status}"
        told = f" ({remark})" if remark else ""  # where the message names the status already
        name = self.backend
        status = reply.status
        earlier = " An earlier attempt got no answer and may have applied it already." if unsure else ""
        wait = retry_after(reply.headers)
        if self._rate_limited(reply):
            seconds = max(1, math.ceil(wait)) if wait is not None else 60
            return RateLimited(
                f"{name} is rate limiting these requests; retry after {seconds} s.", retry_after=float(seconds)
            )
        if status == 401:
            return TokenRejected(
                f"{name} rejected the token ({said}).",
                hint="The token is wrong, expired or revoked: set a valid one in TICKETS_TOKEN.",
            )
        if status == 403:
            scope = self._missing_scope(reply)
            if scope:
                return PermissionDenied(
                    f"{name} refused {what}: the token lacks the scope {scope} ({said}).",
                    hint=f"Give the token the {scope} scope, or use one that has it.",
                )
            return PermissionDenied(
                f"{name} refused {what}: {said}.", hint="The token may lack a scope or role for this."
            )
        if status in (404, 410):
            return NotFound(f"{name}: {what}: not found ({said}).{earlier}")
        if status in (409, 412):
            return Conflict(f"{name}: {what}: conflict ({said}).{earlier}", hint="Read the current state and retry.")
        if status == 413:
            return TooLarge(
                "request", f"{name} refused {what} as too large (HTTP 413){': ' + remark if remark else ''}.",
                hint="Send less at once.",
            )  # fmt: skip
        if status < 500:
            return Invalid("request", f"{name} refused {what} (HTTP {status}){': ' + remark if remark else ''}.")
        if not safe and status in UNSURE_STATUSES:
            return Ambiguous(
                f"{name} failed {what} with HTTP {status}{told}; it may or may not have been applied.",
                hint=CHECK_HINT,
            )
        tries = f" after {reply.attempts} attempts" if reply.attempts > 1 else ""
        later = f"Retry after {max(1, math.ceil(wait))} s." if wait is not None else "Retry later."
        return BackendUnavailable(f"{name} failed {what} with HTTP {status}{tries}{told}.", hint=later)

    @staticmethod
    def _rate_limited(reply: Reply) -> bool:
        """429, or a 403 saying the rate limit is used up or naming a wait (GitHub's primary and secondary
        rate limits: a remaining count of 0, or Retry-After)."""
        if reply.status == 429:
            return True
        used_up = any(reply.headers.get(h, "").strip() == "0" for h in REMAINING_HEADERS)
        return reply.status == 403 and (used_up or bool(reply.headers.get("retry-after", "").strip()))

    def _missing_scope(self, reply: Reply) -> str | None:
        """The scope a 403 says the token lacks: from an OAuth `insufficient_scope` challenge or error body
        (GitLab), or GitHub's X-Accepted-OAuth-Scopes when X-OAuth-Scopes (the token's) has none of them."""
        challenge = reply.headers.get("www-authenticate", "")
        match = re.search(r'scope="([^"]+)"', challenge) if "insufficient_scope" in challenge else None
        body: Any = reply.body
        found = cast(dict[str, Any], body) if isinstance(body, dict) else {}
        scope: Any = (
            match.group(1) if match else found.get("scope") if found.get("error") == "insufficient_scope" else None
        )
        accepted = {s.strip() for s in reply.headers.get("x-accepted-oauth-scopes", "").split(",")} - {""}
        held = {s.strip() for s in reply.headers.get("x-oauth-scopes", "").split(",")}
        if not scope and accepted and not accepted & held:
            scope = ", ".join(sorted(accepted))
        return self._redact(remote_message(None, scope)) if isinstance(scope, str) and scope.strip() else None

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text
