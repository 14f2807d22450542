"""Argument types of the tools: the schema a model sees, kept small, and lenient where models slip."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from tickets_mcp.domain.enums import StatusFilterName
from tickets_mcp.domain.rules import COMMENT_MAX, DESCRIPTION_MAX, LABELS_MAX, TITLE_MAX

StatusName = Literal["backlog", "todo", "in_progress", "in_review", "done", "canceled"]
PriorityName = Literal["low", "medium", "high", "urgent"]
TypeName = Literal["bug", "feature", "task", "improvement"]
SortName = Literal["created", "updated", "priority", "relevance", "due"]


def _as_list(value: Any) -> Any:
    """Accept one value, a comma-separated string or a list where a list is expected."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _lower(value: Any) -> Any:
    """'In Progress' and 'in-progress' mean in_progress."""
    if isinstance(value, str):
        return value.strip().lower().replace(" ", "_").replace("-", "_")
    if isinstance(value, list):
        return [_lower(item) for item in value]  # pyright: ignore[reportUnknownVariableType]
    return value


Status = Annotated[StatusName, BeforeValidator(_lower)]
Priority = Annotated[PriorityName, BeforeValidator(_lower)]
TicketType = Annotated[TypeName, BeforeValidator(_lower)]
Statuses = Annotated[list[Annotated[StatusFilterName, BeforeValidator(_lower)]] | None, BeforeValidator(_as_list)]
Priorities = Annotated[list[Priority] | None, BeforeValidator(_as_list)]
TicketTypes = Annotated[list[TicketType] | None, BeforeValidator(_as_list)]


def lean(description: str | None = None) -> WithJsonSchema:
    """The published schema of a short identifier (slug, code, username, cursor): a string, nothing more.

    Its length limit is still validated; printing it in every schema would cost the model tokens on
    each tools/list without telling it anything useful.
    """
    return WithJsonSchema({"type": "string", "description": description} if description else {"type": "string"})


# Room for the organization a slug may name (engineering-platform-team:WEB-42, see rules), in every slug argument.
SLUG_MAX = 100
Slug = Annotated[str, Field(max_length=SLUG_MAX), lean("Ticket slug, e.g. WEB-42")]
OptionalSlug = Annotated[str | None, Field(max_length=SLUG_MAX), lean()]
ProjectRef = Annotated[str | None, Field(max_length=100), lean("Project code, name or id, e.g. WEB")]
OrganizationRef = Annotated[str | None, Field(max_length=100), lean("Omit if you have only one")]
Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX)]
Description = Annotated[str, Field(max_length=DESCRIPTION_MAX, description="Markdown")]
Labels = Annotated[
    Annotated[list[Annotated[str, Field(max_length=50)]], Field(max_length=LABELS_MAX)] | None,
    BeforeValidator(_as_list),
]
Assignee = Annotated[str | None, Field(max_length=100), lean("Username, 'me' or 'none'")]
Body = Annotated[str, Field(min_length=1, max_length=COMMENT_MAX, description="Markdown")]
Version = Annotated[int | None, Field(ge=1, description="The version you read; refused if it changed since")]
ProjectName = Annotated[str, Field(min_length=3, max_length=36, description="3-36 letters, digits, space, - or _")]
Order = Literal["asc", "desc"]
# Ignored where the client can ask its user: then only the user's answer confirms (consent.py).
Confirm = Annotated[bool, Field(description="The user's OK, if your client cannot ask them")]
Day = Annotated[str | None, Field(max_length=40), lean("YYYY-MM-DD, or today, friday, +3d")]
Milestone = Annotated[str | None, Field(max_length=100), lean("Milestone name, or 'none'")]
Estimate = Annotated[float | Literal["none"] | None, Field(description="Hours or points (the project's unit)")]
IdempotencyKey = Annotated[str | None, Field(max_length=100), lean("Retry-safe: a repeat returns the first ticket")]
