"""Idempotency keys: a keyed create sent again answers with the ticket it filed the first time.

A key belongs to whoever sent it (its token, else its user) and is forgotten after IDEMPOTENCY_DAYS.
The same key with other fields is a reuse, refused as a Conflict: the request's digest tells them apart.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta

from tickets_mcp.domain import Ticket
from tickets_mcp.domain.rules import format_timestamp, key_reused
from tickets_mcp.stores.port import Actor, NewTicket

IDEMPOTENCY_DAYS = 7  # how long a key is remembered
_PLANNING_FIELDS = ("due_date", "estimate", "milestone_id")  # NewTicket's fields added after keys were stored


def key_owner(actor: Actor) -> str:
    """Whose key it is: a key belongs to the token that sent it, or to the user without a token."""
    return f"token:{actor.token_id}" if actor.token_id is not None else f"user:{actor.user_id}"


def request_digest(new: NewTicket) -> str:
    """What a keyed create asked for, to tell a retry (the same) from a reuse of the key (not the same)."""
    fields = dataclasses.asdict(new) | {"idempotency_key": None}
    del fields["check_duplicates"]  # never set with a key; left out so that digests stored before it still match
    for name in _PLANNING_FIELDS:  # unset, left out for the same reason: a retry across the upgrade still matches
        if fields[name] is None:
            del fields[name]
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def replayed(stored_digest: str, stored_ticket: str, new: NewTicket) -> Ticket:
    """The ticket a key filed before, if this is the same request; a Conflict if the key was reused."""
    if stored_digest != request_digest(new):
        raise key_reused(new.idempotency_key or "")
    return Ticket.model_validate_json(stored_ticket)


def key_expiry() -> str:
    """Keys created before this moment are forgotten."""
    return format_timestamp(datetime.now(UTC) - timedelta(days=IDEMPOTENCY_DAYS))
