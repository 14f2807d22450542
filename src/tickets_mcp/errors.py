"""The one exception tree of the tracker.

Every error raised on purpose is a `TrackerError` whose text is written for the caller, often a model:
it says what went wrong and, in `hint`, what to do next. Front ends translate the classes: MCP turns
them into tool errors, REST into status codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class TrackerError(Exception):
    """A failure the tracker anticipated; `str(error)` is safe to show to the caller."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class NotFound(TrackerError):
    """The named thing does not exist, or the caller may not see it."""


class AlreadyDeleted(NotFound):
    """The ticket `slug` existed and was deleted; `deletion` is the audit entry that says so, as Change's fields."""

    def __init__(self, message: str, *, hint: str | None = None, slug: str, deletion: Mapping[str, Any]) -> None:
        super().__init__(message, hint=hint)
        self.slug = slug
        self.deletion = dict(deletion)


class PermissionDenied(TrackerError):
    """The caller is known but may not do this."""


class Conflict(TrackerError):
    """The change collides with the current state: a taken name, a stale version, a non-empty project."""

    def __init__(self, message: str, *, hint: str | None = None, current: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.current = dict(current) if current is not None else None


class StaleVersion(Conflict):
    """A change sent against `expected`, an older version than the ticket's (`current`). `changes` are the
    latest of the `changed` changes since, oldest first, as Change's fields (none where the backend cannot
    tell: a remote tracker)."""

    def __init__(
        self,
        message: str,
        *,
        hint: str,
        current: Mapping[str, Any],
        expected: int,
        changes: Sequence[Mapping[str, Any]] = (),
        changed: int = 0,
    ) -> None:
        super().__init__(message, hint=hint, current=current)
        self.slug = str(current["slug"])
        self.version = int(current["version"])
        self.expected = expected
        self.changes = tuple(dict(change) for change in changes)
        self.changed = changed


class LikelyDuplicate(Conflict):
    """A new ticket looks like an open one (`current`, as a Ticket's fields, None for a caller who may not
    read it): nothing was filed. `trace`: the stack trace both report (`KeyError at app/x.py:9`), if that is why."""

    def __init__(
        self,
        message: str,
        *,
        hint: str,
        current: Mapping[str, Any] | None,
        similarity: float,
        trace: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, current=current)
        self.similarity = similarity
        self.trace = trace
        self.item = ""  # in a batch, which item it was: `Item 2 of 5: `


class Invalid(TrackerError):
    """An input breaks a rule; `field` names it."""

    def __init__(
        self, field: str, message: str, *, hint: str | None = None, choices: Sequence[str] | None = None
    ) -> None:
        # `choices` makes the hint "Pass FIELD as one of: ...", so an API calling the field otherwise can rename it.
        if choices is not None and hint is None:
            hint = f"Pass {field} as one of: {', '.join(choices)}."
        super().__init__(message, hint=hint)
        self.field = field
        self.choices = choices

    def renamed(self, field: str) -> Invalid:
        """The same error in the words of an API that calls the field `field` (BugToMe's project_id)."""
        if self.choices is None:
            return Invalid(field, self.message, hint=self.hint)
        return Invalid(field, self.message, choices=self.choices)


class TooLarge(Invalid):
    """An input past a size limit the server states (a file over the attachment limit): 413 over REST."""


class RateLimited(TrackerError):
    """Too many requests; retry after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class Unsupported(TrackerError):
    """The backend behind the tools cannot do this at all (a remote API without boards, say)."""


class BackendUnavailable(TrackerError):
    """The store or remote tracker cannot be reached or is in a state we refuse to touch."""


class ReadOnlyStore(BackendUnavailable):
    """The store can be read but not changed (a read-only file, folder or file system): reads still work."""

    def __init__(self, store: str, reason: str) -> None:
        super().__init__(
            f"The database {store} is read-only: {reason}; reads still work.",
            hint="To change it, make it writable for this user, then start tickets-mcp again.",
        )
        self.store = store
        self.reason = reason
