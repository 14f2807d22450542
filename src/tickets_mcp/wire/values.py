"""The values the APIs' documents share: times in their two spellings, ids written as numbers or text,
and the version a ticket has where an API numbers none.

A time field holds a `datetime`: pydantic reads ISO 8601 (with Z or an offset) or Unix seconds, as a
number or a digit string, whatever a server sends, and a time without a zone is taken as UTC when it
becomes a record (`stored`, `utc`); writing spells it the way the API's seed does (`IsoSeconds`:
`2024-01-01T00:00:00Z`, `UnixSeconds`: `"1348170705"`). Server-built documents so pay no Python
validator per time field, only the serializer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, Strict, WithJsonSchema
from pydantic_core import PydanticCustomError

from tickets_mcp.domain.rules import format_timestamp


class Document(BaseModel):
    """A JSON document of an API: every field is listed as required in what we send (defaults only make
    reading tolerant of servers that leave a field out), and unknown fields are ignored."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


def iso_seconds(moment: datetime) -> str:
    """A time as ISO 8601 to the second, in UTC: `2024-01-01T00:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _unix_seconds(moment: datetime) -> str:
    return str(int(moment.timestamp()))


IsoSeconds = Annotated[datetime, PlainSerializer(iso_seconds, return_type=str)]
UnixSeconds = Annotated[datetime, PlainSerializer(_unix_seconds, return_type=str)]


def _identifier(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


RemoteId = Annotated[str, BeforeValidator(_identifier)]  # an id an API writes as a number or a string

# An integer id in a request body (seeds 001 and 002): JSON `true` is no 1, nor "3" a 3.
IntegerId = Annotated[int, Strict()]


def _not_a_boolean(value: object) -> object:
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer (the project's number) or its code")
    return value


# A project named by its integer number, as seeds 001 and 002 do, or by its UUID or code as a string.
ProjectReference = Annotated[IntegerId | str, BeforeValidator(_not_a_boolean)]

# A count we always send but another server may leave out (read as unknown): an integer in our schema.
Count = Annotated[int | None, WithJsonSchema({"type": "integer"}, mode="serialization")]


def utc(moment: datetime) -> datetime:
    """A time read from an API, a time without a zone taken to be UTC (pydantic leaves it naive)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def stored(moment: datetime) -> str:
    """A time read from an API as the canonical timestamp records hold."""
    return format_timestamp(utc(moment))


def version_of(updated: datetime) -> int:
    """A ticket's version where the API numbers none: its last change in Unix seconds."""
    return max(1, int(utc(updated).timestamp()))


def version_in_ms(updated: datetime) -> int:
    """The same for an API whose times carry milliseconds (GitLab, Jira): its last change in them, counted
    exactly (no float rounding)."""
    delta = utc(updated) - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
