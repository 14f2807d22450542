"""The input schema a model reads in tools/list, compacted: every token in it is paid on each listing."""

from __future__ import annotations

from typing import Any, cast


def compact_schema(node: Any) -> Any:
    """Drop what a model does not need from pydantic's schema: titles, and `anyOf [X, null]` for optionals."""
    if isinstance(node, list):
        return [compact_schema(item) for item in cast(list[Any], node)]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in cast(dict[str, Any], node).items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "properties":
            out[key] = {name: compact_schema(prop) for name, prop in cast(dict[str, Any], value).items()}
        else:
            out[key] = compact_schema(value)
    if out.get("default", ...) is None and "anyOf" not in out:
        del out["default"]  # an optional argument's null default says nothing the schema does not
    options = out.get("anyOf")
    if isinstance(options, list) and out.get("default", ...) is None:
        rest = [option for option in cast(list[Any], options) if option != {"type": "null"}]
        if len(rest) == 1:
            del out["anyOf"], out["default"]
            out = {**rest[0], **out}
    return out
