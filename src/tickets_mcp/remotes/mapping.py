"""What the adapters share in mapping a remote API onto the canonical model, apart from paging.

- Reading: every adapter validates a response into its API's documents (wire/) with `parse`, then maps
  them to records; a shape we do not expect is the remote's failure (BackendUnavailable naming the
  field), never a crash.
- Vocabulary: a value is written to an API only if it reads back as itself, so nothing is silently
  turned into something else (BugToMe has no `todo`: refused, not stored as `open` and read as backlog).
- Refusals: a filter, field or value the API lacks raises Unsupported naming the backend.
- Versions: no remote API here numbers a ticket's versions, so a ticket's version is its `updated_at`
  (wire/values.py's version_of) and an update that names a version checks it against a fresh read first
  (best effort: two changes within one second, or between the read and the write, are not told apart).
- Filing again after an answer was lost: `recover_created` finds the ticket a POST may have made.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ValidationError

from tickets_mcp.core.tracker import TicketChanges, TicketFilter
from tickets_mcp.domain import Project, Role, Ticket, TicketSort, User
from tickets_mcp.domain.rules import pick
from tickets_mcp.domain.vocabulary import Vocabulary
from tickets_mcp.errors import BackendUnavailable, Invalid, TrackerError, Unsupported
from tickets_mcp.remotes.client import Ambiguous

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
W = TypeVar("W", bound=StrEnum)

# A ticket the lost POST made was created after we sent it; remote clocks may differ from ours by this much.
CLOCK_SKEW = 120.0
CAPABILITIES_HINT = "get_workspace_context lists what this backend can do."


# Reading remote JSON


def parse(model: type[M], body: Any, backend: str, what: str) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problem = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in problem["loc"]) or "body"
        raise BackendUnavailable(
            f"{backend} sent {what} in a shape tickets-mcp does not understand ({where}: {problem['msg']}).",
            hint="Check that --url points at the tracker's API.",
        ) from None


def api_root(url: str) -> str:
    """The tracker's root from a URL that may go on into its API (`…/api/v1…` is cut off)."""
    parts = urlsplit(url.strip())
    path = parts.path
    cut = path.find("/api/v")
    if cut >= 0:
        path = path[:cut]
    return urlunsplit(parts._replace(path=path.rstrip("/") + "/", query="", fragment=""))


# The caller, as far as an API shows it


def token_holder(backend: str) -> User:
    """The user behind the token, where the API has no way to ask who that is."""
    return User(id=0, username="token", name=f"whoever the {backend} token acts as")


# How far the adapter lets a token go in an organization: what the role stands for in get_workspace_context.
READ_AND_FILE = Role.REPORTER
CHANGE_TICKETS = Role.MEMBER


# Vocabulary and refusals


def refuse(backend: str, what: str, hint: str = CAPABILITIES_HINT) -> Unsupported:
    return Unsupported(f"The {backend} backend cannot {what}: its API offers no way to.", hint=hint)


def word_for(vocabulary: Vocabulary[W, Any], value: StrEnum, backend: str, noun: str) -> W:
    """The API's word for `value`, if that word reads back as `value`; refused otherwise."""
    word = vocabulary.word(value)
    back = vocabulary.canonical(word)
    if back != value:
        kept = [v.value for v in type(value) if vocabulary.canonical(vocabulary.word(v)) == v]
        raise Unsupported(
            f"The {backend} backend has no {noun} {value.value}: it would be stored as {word.value} "
            f"and read back as {back.value}.",
            hint=f"Use one of: {', '.join(kept)}.",
        )
    return word


def words_for(vocabulary: Vocabulary[W, Any], values: Iterable[StrEnum], backend: str, noun: str) -> list[W]:
    """The API's words for a filter's values, each once, in the order asked."""
    return list(dict.fromkeys(word_for(vocabulary, value, backend, noun) for value in values))


FILTER_NAMES = {
    "types": "type",
    "priorities": "priority",
    "assignee": "assignee",
    "reporter": "reporter",
    "labels": "label",
    "parent": "parent",
    "text": "text",
    "updated_since": "last change",
}


def refuse_filters(query: TicketFilter, backend: str, supported: Iterable[str]) -> None:
    """Unsupported for the first filter the API cannot apply: a filter left out would list the wrong tickets."""
    allowed = set(supported)
    for field, noun in FILTER_NAMES.items():
        value = getattr(query, field)
        if value not in (None, "", (), []) and field not in allowed:
            raise refuse(backend, f"filter tickets by {noun}", hint="Leave that filter out. " + CAPABILITIES_HINT)


def require_newest_first(query: TicketFilter, backend: str) -> None:
    """For an API that lists tickets newest first and offers no other order."""
    if query.sort is not TicketSort.CREATED or not query.descending:
        order = f"{query.sort.value}, {'newest' if query.descending else 'oldest'} first"
        raise refuse(backend, f"list tickets by {order}", hint="Leave sort and order out: it lists the newest first.")


def refuse_changes(changes: TicketChanges, backend: str, supported: Iterable[str]) -> None:
    allowed = set(supported)
    for field in TicketChanges.__slots__:
        if getattr(changes, field) is not None and field not in allowed:
            raise refuse(backend, f"change a ticket's {field}")
    if all(getattr(changes, field) is None for field in TicketChanges.__slots__):
        raise Invalid("slug", "Nothing to change.", hint="Pass at least one field: title, status, assignee, labels...")


def user_id(value: str, backend: str, field: str = "assignee") -> int:
    """A user the API names by number: `10` (or `#10`, as tickets show it)."""
    text = value.strip().lstrip("#")
    if not text.isdigit():
        raise Invalid(
            field,
            f"{backend} names users by their numeric id, not {value!r}.",
            hint="Pass the id as tickets show it, e.g. 10; 'none' clears it.",
        )
    return int(text)


# Projects

CODE_MAX = 10


def project_code(path: str) -> str:
    """A project's code from its path (GitLab) or identifier (Redmine): its letters and digits upper-cased, at
    most 10, starting with a letter: 'tickets-mcp' → 'TICKETSMCP', 'web' → 'WEB', '2fa' → 'P2FA', 'x' → 'XX'."""
    code = re.sub(r"[^A-Za-z0-9]", "", path).upper()
    if not code[:1].isalpha():
        code = "P" + code
    if len(code) < 2:
        code += code[-1]
    return code[:CODE_MAX]


def code_with_id(path: str, project_id: int) -> str:
    """The code of a project whose path code another visible project shares: the id makes it unique."""
    digits = str(project_id)[-(CODE_MAX - 1) :]
    return project_code(path)[: CODE_MAX - len(digits)] + digits


def assign_codes(paths: Mapping[int, str]) -> dict[int, str]:
    """Codes for projects by id: the path's code, or for projects whose path codes collide, that code and the id."""
    base = {project_id: project_code(path) for project_id, path in paths.items()}
    uses = Counter(base.values())
    return {
        project_id: code if uses[code] == 1 else code_with_id(paths[project_id], project_id)
        for project_id, code in base.items()
    }


def find_project(reference: str, projects: Sequence[Project]) -> Project | None:
    return pick(
        reference, projects, lambda p: p.code, lambda p: p.id, lambda p: p.name,
        field="project", describe=lambda p: f"{p.code} ({p.id})",
    )  # fmt: skip


def only_project(projects: Sequence[Project], backend: str) -> Project:
    """The one project there is, for a call that leaves the project out."""
    if len(projects) == 1:
        return projects[0]
    if not projects:
        raise Invalid("project", f"{backend} shows no project to use.", hint="Pass project by its id.")
    raise Invalid(
        "project",
        "Several projects exist; say which one.",
        hint="Pass project as one of: " + ", ".join(p.code for p in projects[:20]) + ".",
    )


# A POST whose answer was lost


async def recover_created(
    lost: Ambiguous, sent_at: float, title: str, recent: Callable[[], Awaitable[Sequence[Ticket]]]
) -> Ticket:
    """The ticket a lost POST made, if the newest tickets hold it (same title, created since it was sent);
    else the Ambiguous error itself, which says the ticket may or may not exist."""
    try:
        candidates = await recent()
    except TrackerError as exc:
        log.warning("could not look for the ticket a lost request may have created: %s", exc)
        raise lost from None
    wanted = " ".join(title.split())
    since = sent_at - CLOCK_SKEW
    found = [
        t
        for t in candidates
        if " ".join(t.title.split()) == wanted and datetime.fromisoformat(t.created_at).timestamp() >= since
    ]
    if not found:
        raise lost
    ticket = max(found, key=lambda t: (t.created_at, t.number))
    log.info("a lost create was applied: found %s", ticket.slug)
    return ticket
