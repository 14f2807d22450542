"""The input schema a model reads in tools/list, compacted: every token in it is paid on each listing.

What it drops, the server still checks: an argument over a bound is refused with a tool error that
names the bound, so the model learns it only when it matters.
"""

from __future__ import annotations

from typing import Any, cast

# Bounds a model never nears by accident (a 64 KiB description, 100 labels): said when crossed, not listed.
QUIET_BOUNDS = frozenset({"maxItems", "minItems"})
QUIET_MAX_LENGTH = 100


def compact_description(text: str) -> str:
    """A docstring as one line: its indentation and line breaks cost tokens and say nothing."""
    return " ".join(text.split())


def compact_schema(node: Any) -> Any:
    """Drop what a model does not need from pydantic's schema: titles, `anyOf [X, null]` for optionals,
    `type` beside an `enum` of strings, a `false` default, and the bounds above."""
    if isinstance(node, list):
        return [compact_schema(item) for item in cast(list[Any], node)]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in cast(dict[str, Any], node).items():
        if (key == "title" and isinstance(value, str)) or key in QUIET_BOUNDS:
            continue
        if key == "maxLength" and isinstance(value, int) and value > QUIET_MAX_LENGTH:
            continue
        if key == "properties":
            out[key] = {name: compact_schema(prop) for name, prop in cast(dict[str, Any], value).items()}
        else:
            out[key] = compact_schema(value)
    if (out.get("default", ...) is None and "anyOf" not in out) or out.get("default", ...) is False:
        del out["default"]  # an optional argument's null default, or a flag's false, says nothing the schema does not
    options = out.get("anyOf")
    if isinstance(options, list) and out.get("default", ...) is None:
        rest = [option for option in cast(list[Any], options) if option != {"type": "null"}]
        if len(rest) == 1:
            del out["anyOf"], out["default"]
            out = {**rest[0], **out}
    if out.get("type") == "string" and isinstance(out.get("enum"), list):
        del out["type"]  # the values say it
    return out
