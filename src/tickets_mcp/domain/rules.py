"""Pure rules of the canonical model: names, codes, slugs, labels and cursors."""

from __future__ import annotations

import base64
import binascii
import difflib
import hashlib
import hmac
import json
import re
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from tickets_mcp.domain.models import Change, Project, Ticket
from tickets_mcp.errors import Conflict, Invalid, StaleVersion

T = TypeVar("T")

PROJECT_NAME = re.compile(r"[A-Za-z0-9 _-]{3,36}")
PROJECT_CODE = re.compile(r"[A-Z][A-Z0-9]{1,9}")
SLUG = re.compile(r"([A-Za-z][A-Za-z0-9]{1,9})-([1-9][0-9]{0,9})")
LABEL_NAME = re.compile(r"[^\s,][^,\n\r\t]{0,49}")
TITLE_MAX = 500
DESCRIPTION_MAX = 65_536
COMMENT_MAX = 65_536
LABELS_MAX = 20
# Dark enough for white text and light enough for black, so the board stays readable in both modes.
LABEL_PALETTE = (
    "d73a4a", "0075ca", "a2eeef", "7057ff", "008672", "e4e669",
    "d876e3", "fbca04", "0e8a16", "b60205", "5319e7", "1d76db",
)  # fmt: skip


def validate_project_name(name: str) -> str:
    """Seed 004: letters, digits, spaces, `-` and `_`, 3 to 36 characters."""
    if not PROJECT_NAME.fullmatch(name):
        raise Invalid(
            "name",
            f"Project name {name!r} is not valid.",
            hint="Use 3-36 letters, digits, spaces, '-' or '_'.",
        )
    return name


def validate_project_code(code: str) -> str:
    upper = code.upper()
    if not PROJECT_CODE.fullmatch(upper):
        raise Invalid(
            "code",
            f"Project code {code!r} is not valid.",
            hint="Use 2-10 letters or digits starting with a letter, e.g. WEB.",
        )
    return upper


def derive_project_code(name: str, taken: Iterable[str]) -> str:
    """A short upper-case code for a project name, unique among `taken`: 'Web App' -> 'WA', 'Backend' -> 'BACK'."""
    words = [w for w in re.split(r"[\s_-]+", name) if w]
    letters = "".join(ch for ch in name if ch.isalnum()).upper()
    if len(words) > 1:
        base = "".join(w[0] for w in words if w[0].isalpha() or w[0].isdigit()).upper()[:10]
    else:
        base = letters[:4]
    if not base or not base[0].isalpha():
        base = "P" + base
    if len(base) < 2:
        base = (letters + "XX")[:2] if letters[:1].isalpha() else base + "X"
    base = base[:10]
    taken_set = {code.upper() for code in taken}
    if base not in taken_set:
        return base
    for n in range(2, 10_000):
        candidate = f"{base[: 10 - len(str(n))]}{n}"
        if candidate not in taken_set:
            return candidate
    raise Invalid("code", "Could not derive a free project code.", hint="Pass an explicit code.")


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "org"


# Project codes are unique per organization: `beta:WEB-42` names WEB-42 of organization beta, for a
# caller who sees a project WEB in several of its organizations.
ORGANIZATION_MARK = ":"


def split_organization(reference: str) -> tuple[str | None, str]:
    """`beta:WEB-42` -> ('beta', 'WEB-42'); a plain slug names no organization."""
    organization, mark, slug = reference.strip().rpartition(ORGANIZATION_MARK)
    return (organization.strip() or None, slug) if mark else (None, reference)


def in_organization(organization: str, slug: str) -> str:
    """A slug that names its organization too: in_organization('beta', 'WEB-42') == 'beta:WEB-42'."""
    return f"{organization}{ORGANIZATION_MARK}{slug}"


def qualifiers(projects: Sequence[Project], slugs: Mapping[str, str]) -> dict[str, str]:
    """Project id -> its organization's slug, for the projects whose code alone names several of
    `projects` (a caller who sees WEB in acme and beta writes acme:WEB and acme:WEB-1); unique codes are absent."""
    codes = Counter(p.code for p in projects)
    return {p.id: slugs[p.organization_id] for p in projects if codes[p.code] > 1 and p.organization_id in slugs}


def project_reference(project: Project, qualifiers: Mapping[str, str]) -> str:
    """The shortest name that picks `project` out: its code, or org:CODE where the code is ambiguous."""
    organization = qualifiers.get(project.id)
    return in_organization(organization, project.code) if organization else project.code


def parse_slug(slug: str) -> tuple[str, int]:
    match = SLUG.fullmatch(slug.strip())
    if not match:
        raise Invalid("slug", f"{slug!r} is not a ticket slug.", hint="Use PROJECTCODE-NUMBER, e.g. WEB-42.")
    return match.group(1).upper(), int(match.group(2))


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def refuse_control_characters(field: str, text: str) -> str:
    """Control characters and bidirectional overrides have no place in tracker text; tab and newlines do."""
    found = CONTROL.search(text)
    if found:
        raise Invalid(
            field,
            f"The {field} contains the control character U+{ord(found.group()):04X}.",
            hint="Remove control and bidirectional-override characters.",
        )
    return text


def normalize_title(title: str) -> str:
    """Titles are one line: runs of white space, line breaks included, become one space."""
    cleaned = " ".join(refuse_control_characters("title", title).split())
    if not cleaned:
        raise Invalid("title", "The title is empty.", hint="Give a short summary of the ticket.")
    if len(cleaned) > TITLE_MAX:
        raise Invalid(
            "title",
            f"The title has {len(cleaned)} characters; the limit is {TITLE_MAX}.",
            hint="Shorten it and put details in the description.",
        )
    return cleaned


def validate_text(field: str, text: str, limit: int) -> str:
    if len(text) > limit:
        raise Invalid(field, f"The {field} has {len(text)} characters; the limit is {limit}.")
    return refuse_control_characters(field, text)


def normalize_labels(labels: Iterable[str]) -> tuple[str, ...]:
    """Labels keep their spelling and lose surrounding space and duplicates (case-insensitively)."""
    seen: dict[str, str] = {}
    for raw in labels:
        label = refuse_control_characters("labels", raw).strip()
        if not LABEL_NAME.fullmatch(label):
            raise Invalid(
                "labels",
                f"Label {raw!r} is not valid.",
                hint="Use 1-50 characters without commas or line breaks.",
            )
        seen.setdefault(label.casefold(), label)
    if len(seen) > LABELS_MAX:
        raise Invalid("labels", f"{len(seen)} labels given; the limit is {LABELS_MAX}.")
    return tuple(seen.values())


def label_color(name: str) -> str:
    """A stable color for a new label, so the same name looks the same in every project."""
    digest = hashlib.blake2b(name.casefold().encode(), digest_size=2).digest()
    return LABEL_PALETTE[int.from_bytes(digest) % len(LABEL_PALETTE)]


def pick(
    reference: str, candidates: Sequence[T], *keys: Callable[[T], str], field: str, describe: Callable[[T], str]
) -> T | None:
    """The candidate whose first key equals `reference` (case-insensitively), else by the next key.

    Keys go from most to least specific (code, then id, then name), so a project named like another
    project's code is still found by its code. Two matches on the same key are refused, never guessed.
    """
    wanted = reference.strip().casefold()
    for key in keys:
        matches = [candidate for candidate in candidates if key(candidate).casefold() == wanted]
        if len(matches) > 1:
            raise Invalid(
                field,
                f"{reference!r} names more than one {field}.",
                hint="Use one of: " + ", ".join(describe(m) for m in matches) + ".",
            )
        if matches:
            return matches[0]
    return None


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z: sorts as text, reads the same in every client."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_AGO = re.compile(r"(\d{1,6})\s*(s|m|min|h|d|w)(?:\s+ago)?", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def is_relative_time(value: str) -> bool:
    """Whether parse_timestamp reads `value` against the clock (`1h`, `yesterday`) rather than as a date."""
    text = value.strip().lower()
    return text in {"today", "yesterday", "now"} or _AGO.fullmatch(text) is not None


def parse_timestamp(field: str, value: str, now: datetime | None = None) -> str:
    """A moment from a caller, as a stored timestamp: ISO 8601 (a date or a time without a zone is UTC),
    or relative to `now` (the clock's): `30m`, `1h`, `2d`, `1w` ago, `today` or `yesterday` (from midnight
    UTC), `now`. Agents think in "the last hour" and should not need a clock of their own for it."""
    text = value.strip().lower()
    moment = now or datetime.now(UTC)
    midnight = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        if found := _AGO.fullmatch(text):
            parsed = moment - timedelta(**{_UNITS[found[2].lower()]: int(found[1])})
        elif text in {"today", "yesterday", "now"}:
            parsed = {"today": midnight, "yesterday": midnight - timedelta(days=1), "now": moment}[text]
        else:
            parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return format_timestamp(parsed)
    except (ValueError, OverflowError) as exc:
        raise Invalid(
            field,
            f"{value!r} is not a usable date.",
            hint="Use ISO 8601 (2026-11-01, 2026-11-01T09:00:00Z) or a time ago: 30m, 1h, 2d, 1w, today, yesterday.",
        ) from exc


def closest(value: str, choices: Iterable[str], limit: int = 3, cutoff: float = 0.5) -> list[str]:
    options = list(dict.fromkeys(choices))
    by_fold: dict[str, str] = {}
    for option in options:
        by_fold.setdefault(option.casefold(), option)
    matches = difflib.get_close_matches(value.casefold(), list(by_fold), n=limit, cutoff=cutoff)
    found = [by_fold[m] for m in matches]
    for option in options:
        if len(found) >= limit:
            break
        if value.casefold() in option.casefold() and option not in found:
            found.append(option)
    return found


def suggestion(value: str, choices: Iterable[str], noun: str, listing_tool: str | None = None) -> str:
    """The hint for a wrong name: the closest valid values, else the full list if short, else where to look."""
    options = list(choices)
    near = closest(value, options)
    if near:
        return "Did you mean: " + ", ".join(near) + "?"
    if len(options) <= 8:
        return f"Valid {noun}: " + (", ".join(options) if options else "none") + "."
    return f"Call {listing_tool} to see them." if listing_tool else ""


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def encode_cursor(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise Invalid(
            "cursor", "The cursor is not valid.", hint="Pass next_cursor exactly as returned, or omit it."
        ) from exc
    if not isinstance(payload, dict):
        raise Invalid("cursor", "The cursor is not valid.", hint="Pass next_cursor exactly as returned.")
    return payload  # pyright: ignore[reportUnknownVariableType]


# Half of a UTF-16 pair, as JSON's "\ud800" decodes alone: no UTF-8 database stores it. Nor NUL.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_text(value: object, where: str = "") -> str | None:
    """Where in `value` (`labels.1`) the first string no database can store is, a NUL or a lone surrogate;
    None when there is none. A name holding one is reported as the object that holds it."""
    if isinstance(value, str):
        return where or "value" if UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in cast(dict[Any, Any], value).items():
            if isinstance(key, str) and UNSTORABLE.search(key):
                return where or "body"
            found = unstorable_text(item, f"{where}.{key}" if where else str(key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(cast(list[Any], value)):
            found = unstorable_text(item, f"{where}.{index}" if where else str(index))
            if found is not None:
                return found
    return None


def unstorable(field: str) -> Invalid:
    return Invalid(
        field,
        f"{field} contains U+0000 (NUL) or a lone surrogate (U+D800-DFFF, half of a UTF-16 pair): not text.",
        hint="Send valid Unicode: a character outside the BMP as a surrogate pair, or as itself in UTF-8.",
    )


CURSOR_MAC_BYTES = 12  # 96 bits: 16 characters on each cursor, past guessing, cheap in tokens


class CursorSeal:
    """Signs the cursors a front end hands out and refuses any it did not make: a caller echoes a cursor,
    never writes one. Keyed by the state keys replicas share (the first signs, all verify, so a key can
    rotate), else by a key of this process."""

    def __init__(self, keys: Sequence[str] = (), *, purpose: bytes = b"tickets-mcp cursor") -> None:
        secrets_ = [key.encode() for key in keys] or [secrets.token_bytes(32)]
        # Derived per purpose, so a cursor's MAC can never stand for a MAC the same key makes elsewhere
        # (an OAuth request sealed for the consent page, say).
        self._keys = [hmac.new(key, purpose, hashlib.sha256).digest() for key in secrets_]

    @staticmethod
    def _mac(key: bytes, cursor: str) -> bytes:
        digest = hmac.new(key, cursor.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:CURSOR_MAC_BYTES])

    def seal(self, cursor: str | None) -> str | None:
        return None if cursor is None else f"{cursor}.{self._mac(self._keys[0], cursor).decode()}"

    def open(self, sealed: str | None) -> str | None:
        """The cursor `seal` was given; None for none. Refuses one that is forged, altered or signed with a
        key no longer in use."""
        if not sealed:
            return None
        cursor, _, mac = sealed.rpartition(".")
        given = mac.encode("utf-8", "replace")
        if cursor and any(hmac.compare_digest(given, self._mac(key, cursor)) for key in self._keys):
            return cursor
        raise Invalid(
            "cursor",
            "The cursor is not valid: this server did not hand it out, or its key has changed since.",
            hint="Start again without a cursor, then pass next_cursor exactly as returned.",
        )


IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,100}")


def idempotency_key(key: str | None) -> str | None:
    """A key is 1-100 visible ASCII characters (a UUID, a hash, a job id); None when not given."""
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise Invalid(
            "idempotency_key", "The idempotency key must be 1-100 visible ASCII characters.",
            hint="Use e.g. a UUID, or a hash of the job and the error.",
        )  # fmt: skip
    return key


def key_reused(key: str) -> Conflict:
    """The refusal of an idempotency key sent again with other fields."""
    return Conflict(
        f"The idempotency key {key!r} was used before for a different ticket.",
        hint="Use a new key for a new ticket; resend the same fields to get the first ticket back.",
    )


# The most changes since a stale version its refusal carries, the latest ones: get_ticket shows the rest.
STALE_SHOWN = 5


def check_version(
    current: Ticket, expected_version: int | None, latest_changes: Callable[[int], Sequence[Change]] | None = None
) -> None:
    """Refuse a change made against an older version, showing the ticket as it is now (stores and adapters)
    and, where `latest_changes(n)` gives a ticket's latest n changes oldest first (the stores' audit
    trail), what changed since: the version starts at 1 and every recorded change adds one."""
    if expected_version is None or expected_version == current.version:
        return
    missed = current.version - max(expected_version, 1)
    shown = latest_changes(min(missed, STALE_SHOWN)) if latest_changes is not None and missed > 0 else ()
    redo = (
        f"Re-read it, or send version={current.version} to apply yours over theirs."
        if shown
        else f"Redo your change with version={current.version}; get_ticket shows the description and comments."
    )
    if expected_version > current.version:  # a version it never had: a typo, or another ticket's
        raise StaleVersion(
            f"{current.slug} is at version {current.version}; it has never been at version {expected_version}.",
            hint=f"Send the version get_ticket shows (now {current.version}).",
            current=current.model_dump(mode="json"),
            expected=expected_version,
            changes=[],
            changed=0,
        )
    raise StaleVersion(
        f"{current.slug} is at version {current.version}, not {expected_version}: someone changed it.",
        hint=redo,
        current=current.model_dump(mode="json"),
        expected=expected_version,
        changes=[change.model_dump(mode="json") for change in shown],
        changed=missed if shown else 0,
    )
