"""A keyed create's digest: what tells a retry of the same request from a reuse of its key."""

from __future__ import annotations

import dataclasses
import hashlib
import json

from tickets_mcp.domain import Priority, Status, TicketType
from tickets_mcp.stores.idempotency import request_digest
from tickets_mcp.stores.port import NewTicket

NEW = NewTicket(
    project_id="p1", type=TicketType.BUG, title="Crash", description="", status=Status.TODO,
    priority=Priority.HIGH, assignee_id=None, reporter_id=1, labels=("ui",), parent_id=None, idempotency_key="k1",
)  # fmt: skip


def digest_before_planning(new: NewTicket) -> str:
    """The digest as builds before due dates, estimates and milestones stored it."""
    fields = dataclasses.asdict(new) | {"idempotency_key": None}
    for name in ("check_duplicates", "due_date", "estimate", "milestone_id"):
        del fields[name]
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def test_a_key_stored_before_planning_fields_existed_still_matches_its_retry() -> None:
    assert request_digest(NEW) == digest_before_planning(NEW)


def test_a_due_date_estimate_or_milestone_makes_another_request() -> None:
    digests = {
        request_digest(dataclasses.replace(NEW, **change))  # pyright: ignore[reportArgumentType]
        for change in ({}, {"due_date": "2026-01-01"}, {"estimate": 2.0}, {"milestone_id": 3})
    }
    assert len(digests) == 4
