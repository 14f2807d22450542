"""Webhooks' vocabulary: the ticket events they carry, how a delivery is signed, where one may be sent, when a
failed one is tried again and when a hook is disabled. Pure rules: the stores keep hooks and their queue, the
dispatcher (dispatch/) sends, and both ask these.

A delivery is a POST of `TicketEvent.body()`, signed over `"<timestamp>.<body>"` with the hook's secret
(HMAC-SHA256, hex): docs/webhooks.md is the receiver's side of this module.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from tickets_mcp.domain.models import Record
from tickets_mcp.domain.rules import suggestion
from tickets_mcp.errors import Invalid


class EventType(StrEnum):
    """What happened to a ticket, as a webhook names it."""

    CREATED = "ticket.created"
    UPDATED = "ticket.updated"
    MOVED = "ticket.moved"
    COMMENTED = "ticket.commented"
    DELETED = "ticket.deleted"


# The audit trail (domain/audit.py) is the outbox: each of these actions is a webhook event; no other is.
EVENT_OF_ACTION: Final[Mapping[str, EventType]] = {
    "ticket.created": EventType.CREATED,
    "ticket.updated": EventType.UPDATED,
    "ticket.moved": EventType.MOVED,
    "ticket.moved_project": EventType.MOVED,  # its changes carry the slug, old and new, and the project's fields
    "comment.added": EventType.COMMENTED,
    "ticket.deleted": EventType.DELETED,
    # What else changes a ticket is an update of it, on each ticket it touches (a link: both of its tickets).
    "link.added": EventType.UPDATED,
    "link.removed": EventType.UPDATED,
    "time.logged": EventType.UPDATED,
    "attachment.added": EventType.UPDATED,
    "attachment.deleted": EventType.UPDATED,
}
ALL_EVENTS: Final = frozenset(EventType)

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - how a secret starts, not one
SECRET_HINT_LENGTH: Final = len(SECRET_PREFIX) + 4  # what a listing shows of a secret: enough to tell two apart
URL_MAX: Final = 2000
DESCRIPTION_MAX: Final = 200
HOOKS_PER_ORGANIZATION: Final = 20  # each event is sent once per hook: a bound on what one event costs

# The headers of a delivery (docs/webhooks.md).
EVENT_ID_HEADER: Final = "Tickets-Event-Id"
EVENT_TYPE_HEADER: Final = "Tickets-Event"
TIMESTAMP_HEADER: Final = "Tickets-Timestamp"
SIGNATURE_HEADER: Final = "Tickets-Signature"
SIGNATURE_VERSION: Final = "v1"

Outcome = Literal["delivered", "failed", "gave up"]
LOG_KEPT: Final = 100  # attempts kept per hook: the log is for seeing what goes wrong now, not an archive


class Webhook(Record):
    """A hook as owners and admins see it: never its secret, only how it starts."""

    id: int
    organization_id: str
    organization: str  # the organization's slug
    url: str
    events: tuple[EventType, ...]
    description: str
    secret_hint: str  # `whsec_AbCd…`
    created_at: str
    created_by: str | None  # a username; None when made with the admin commands
    active: bool
    failures: int  # consecutive failed attempts; a delivered one sets it back to 0
    retry_at: str | None  # while failing, no attempt before this
    disabled_at: str | None
    disabled_reason: str | None
    pending: int  # deliveries queued, failed ones waiting for their retry included


class WebhookAttempt(Record):
    """One entry of a hook's delivery log, newest first when listed."""

    at: str
    event_id: str
    event: EventType
    ticket: str
    attempt: int  # 1 for the first try of this event
    outcome: Outcome
    status: int | None  # the receiver's HTTP status; None when none came (refused, timed out, ...)
    error: str | None  # why it failed, for people; never the receiver's body
    duration_ms: int


@dataclass(frozen=True, slots=True)
class IssuedWebhook:
    """A new hook: `secret` is shown to whoever made it this once; listings show `webhook.secret_hint`."""

    secret: str = field(repr=False)
    webhook: Webhook


def parse_event_types(names: Iterable[str]) -> frozenset[EventType]:
    """The event types `names` list (`ticket.moved`, or `moved`); none, `all` or `*` mean every one."""
    wanted = [name.strip().lower() for name in names if name.strip()]
    if not wanted or any(name in ("all", "*") for name in wanted):
        return ALL_EVENTS
    found: set[EventType] = set()
    for name in wanted:
        full = name if name.startswith("ticket.") else f"ticket.{name}"
        try:
            found.add(EventType(full))
        except ValueError:
            raise Invalid(
                "events",
                f"Unknown webhook event {name!r}.",
                hint=suggestion(name, [e.value for e in EventType], "events") + " Or all.",
            ) from None
    return frozenset(found)


def events_column(events: frozenset[EventType]) -> str:
    """How a hook's event types are stored: comma-separated, in EventType's order."""
    return ",".join(e.value for e in EventType if e in events)


def events_of_column(text: str) -> tuple[EventType, ...]:
    return tuple(EventType(part) for part in text.split(",") if part)


def origin(url: str) -> str:
    """Where a hook sends, as logs name it: scheme, host and port; never the path or query, where a receiver
    often keeps a secret of its own."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def event_id(number: int) -> str:
    """An event's id as receivers see it (and deduplicate by): its audit entry's, which every hook shares."""
    return f"evt_{number}"


def secret_hint(secret: str) -> str:
    return secret[:SECRET_HINT_LENGTH] + "…"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `Tickets-Signature` value: HMAC-SHA256 of `"<timestamp>.<body>"` under the secret, in hex."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={mac}"


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """One entry of the audit trail, as a webhook receiver is told it."""

    id: int  # the audit entry's id: every hook is sent the same id for the same event
    type: EventType
    at: str
    organization: str  # slug
    ticket: str  # the ticket's slug when it happened
    changes: Mapping[str, Any]
    actor: str | None  # username; None for the admin commands
    client: str | None  # the MCP client or User-Agent that made the change, when known
    comment: str | None = None  # ticket.commented: the comment's text, while it exists

    @property
    def event_id(self) -> str:
        return event_id(self.id)

    def body(self) -> bytes:
        """The JSON document POSTed: compact, UTF-8, the same bytes on every attempt."""
        document: dict[str, Any] = {
            "id": self.event_id,
            "type": self.type.value,
            "at": self.at,
            "organization": self.organization,
            "ticket": self.ticket,
            "changes": dict(self.changes),
            "actor": self.actor,
            "client": self.client,
        }
        if self.comment is not None:
            document["comment"] = self.comment
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


# Where a hook may send ticket data. Left to itself a server would POST wherever an admin points it, its own
# network included (an admin of one organization reaching the operator's metadata service or database port):
# only public addresses are allowed unless the operator names more networks.
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Read by config.Settings for `serve` and the admin commands (the stdio server sends no webhooks).
ENV_WEBHOOK_NETWORKS: Final = "TICKETS_WEBHOOK_ALLOW_NETWORKS"
ALLOW_OPTION: Final = f"--webhook-allow-network or {ENV_WEBHOOK_NETWORKS}"


@dataclass(frozen=True, slots=True)
class Targets:
    """The addresses the server may connect to for a URL someone else gave: public ones, and the `allowed` networks
    besides. Webhook deliveries' by default; `purpose` and `remedy` word a refusal for another use (OAuth client
    documents: http/oauth/client_documents.py), which shares the check and network.GuardedNetwork."""

    allowed: tuple[Network, ...] = field(default=())
    purpose: str = "send webhooks to"  # a refusal ends "…, which this server does not <purpose>"
    remedy: str = f"an operator may allow it with {ALLOW_OPTION}"  # what a refused connection adds, in parentheses

    def refusal(self, address: str) -> str | None:
        """Why the server may not connect to `address` (an IP), or None when it may."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if any(ip in network for network in self.allowed):
            return None
        if ip.is_global and not ip.is_multicast:
            return None
        return f"{ip} is {_kind(ip)} address, which this server does not {self.purpose}"


def _kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if ip.is_loopback:
        return "a loopback"
    if ip.is_link_local:
        return "a link-local"
    if ip.is_multicast:
        return "a multicast"
    if ip.is_private:
        return "a private"
    return "a reserved"


def parse_networks(values: Iterable[str], source: str = ALLOW_OPTION) -> tuple[Network, ...]:
    """Networks as an operator writes them: `10.0.0.0/8`, `127.0.0.1`, `fd00::/8`."""
    networks: list[Network] = []
    for value in (v.strip() for v in values):
        if not value:
            continue
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise Invalid(
                "webhook_networks",
                f"{value!r} in {source} is not a network.",
                hint="Write an address or a CIDR range, e.g. 10.0.0.0/8 or 127.0.0.1.",
            ) from None
    return tuple(networks)


def check_url(url: str, targets: Targets) -> str:
    """The URL a hook may be sent to, as given; Invalid saying why not (never echoing credentials)."""
    text = url.strip()
    example = "e.g. https://ci.example.com/hooks/tickets"
    if not text or len(text) > URL_MAX or any(c.isspace() or ord(c) < 32 for c in text):
        raise Invalid("url", f"A webhook URL is 1-{URL_MAX} characters without spaces.", hint=example)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise Invalid("url", "The webhook URL does not parse.", hint=example) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise Invalid("url", "A webhook URL is an http:// or https:// URL with a host.", hint=example)
    if parts.username is not None or parts.password is not None:
        raise Invalid(
            "url",
            "A webhook URL may not hold a user name or password: deliveries are signed with the hook's secret.",
            hint="Remove user:password@ and check the signature on the receiver (docs/webhooks.md).",
        )
    if parts.fragment:
        raise Invalid("url", "A webhook URL has no #fragment: it is never sent.", hint=example)
    if port == 0:
        raise Invalid("url", "Port 0 cannot be connected to.", hint=example)
    host = parts.hostname.lower()
    refusal = _literal_refusal(host, targets)
    if refusal is not None:
        raise Invalid("url", f"Refused: {refusal}.", hint=f"An operator may allow it with {ALLOW_OPTION}.")
    return text


def _literal_refusal(host: str, targets: Targets) -> str | None:
    """What can be told of a host without looking its name up: an IP literal, or a name for this machine.
    Other names are checked where a delivery connects, against every address they resolve to."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith((".localhost", ".localhost.")) or host == "localhost.":
            return targets.refusal("127.0.0.1") and f"{host} names this machine"
        numeric = _ipv4_spelling(host)
        return None if numeric is None else targets.refusal(numeric) and f"{host} is {numeric}"
    return targets.refusal(host)


def _ipv4_spelling(host: str) -> str | None:
    """The IPv4 address an older spelling of one names (`127.1`, `0x7f000001`, `2130706433`, `0177.0.0.1`), which
    resolvers still read as that address; None for a name."""
    if not re.fullmatch(r"(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}", host):
        return None
    try:
        return str(ipaddress.IPv4Address(socket.inet_aton(host)))
    except OSError:
        return None


@dataclass(frozen=True, slots=True)
class Schedule:
    """When failed deliveries are tried again, and when a hook that keeps failing is disabled.

    A hook that fails is backed off as a whole (one attempt per wait, not one per queued event), so a receiver
    that is down gets a request now and then rather than a flood when it comes back. Waits double from
    `first_wait` up to `longest_wait`, each with up to half of it taken off at random so that hooks failing
    together do not retry together. With the defaults a hook is disabled after about 4 to 8 hours of failing.
    """

    first_wait: float = 30.0  # seconds
    longest_wait: float = 3 * 3600.0
    disable_after: int = 10  # consecutive failed attempts of a hook
    give_up_after: int = 12  # attempts at one event, for a hook that succeeds with others

    def wait(self, failures: int, jitter: float) -> float:
        """Seconds before the next attempt after `failures` failures in a row; `jitter` in [0, 1]."""
        full = min(self.first_wait * 2 ** max(failures - 1, 0), self.longest_wait)
        return full / 2 + full / 2 * min(max(jitter, 0.0), 1.0)


def disabled_reason(failures: int, last_error: str) -> str:
    return f"disabled after {failures} failed deliveries in a row; the last: {last_error}"


def attempts_shown(limit: int) -> int:
    """A delivery log's page, 1-100."""
    if not 1 <= limit <= LOG_KEPT:
        raise Invalid("limit", f"limit must be 1-{LOG_KEPT}.", hint=f"Each hook keeps its last {LOG_KEPT} attempts.")
    return limit


def describe(events: Sequence[EventType]) -> str:
    return "all" if frozenset(events) == ALL_EVENTS else ",".join(e.value.removeprefix("ticket.") for e in events)
