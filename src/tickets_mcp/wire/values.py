"""The values the APIs' documents share: times in their two spellings, ids written as numbers or text,
and the version a ticket has where an API numbers none.

A time field holds an aware `datetime`: reading accepts ISO 8601 (with Z, an offset or no zone, read as
UTC) or Unix seconds as a number or a digit string, whatever a server sends; writing spells it the way
the API's seed does (`IsoSeconds`: `2024-01-01T00:00:00Z`, `UnixSeconds`: `"1348170705"`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, Strict, WithJsonSchema
from pydantic_core import PydanticCustomError


class Document(BaseModel):
    """A JSON document of an API: every field is listed as required in what we send (defaults only make
    reading tolerant of servers that leave a field out), and unknown fields are ignored."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


def _moment(value: Any) -> Any:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return datetime.fromtimestamp(int(text), UTC)
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return value


def _iso_seconds(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _unix_seconds(moment: datetime) -> str:
    return str(int(moment.timestamp()))


Moment = Annotated[datetime, BeforeValidator(_moment)]  # read only: GitLab's ISO 8601 with milliseconds
IsoSeconds = Annotated[Moment, PlainSerializer(_iso_seconds, return_type=str)]
UnixSeconds = Annotated[Moment, PlainSerializer(_unix_seconds, return_type=str)]


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


def version_of(updated: datetime) -> int:
    """A ticket's version where the API numbers none: its last change in Unix seconds."""
    return max(1, int(updated.timestamp()))
