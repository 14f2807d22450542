"""A small HTML builder that escapes by default: every `str` is text, only `Html` is markup.

What people and agents wrote (titles, descriptions, comments, label and user names) reaches a page only
as a `str` child or an attribute value, both escaped here, so no ticket can add markup or script to the
board. The page's Content-Security-Policy (routes.py) forbids inline script as a second line of defence.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

VOID = frozenset({"br", "input", "link", "meta"})


class Html(str):
    """Markup built by this module (or a literal from our own code); never made from text users wrote."""

    __slots__ = ()


Child = Html | str | int | None | Iterable["Child"]
AttributeValue = str | int | bool | None


def escape(text: object) -> Html:
    return Html(html.escape(str(text), quote=True))


def render(child: Child) -> Html:
    """Children as markup: Html as it is, str and int escaped, None dropped, iterables flattened."""
    if child is None:
        return Html("")
    if isinstance(child, Html):
        return child
    if isinstance(child, str | int):
        return escape(child)
    return Html("".join(render(item) for item in child))


def attributes(attrs: dict[str, AttributeValue]) -> str:
    """`class_="x"` → ` class="x"`, `data_slug` → `data-slug`; True is a bare attribute, False and None none."""
    parts: list[str] = []
    for key, value in attrs.items():
        name = key.rstrip("_").replace("_", "-")
        if value is True:
            parts.append(f" {name}")
        elif value is not None and value is not False:
            parts.append(f' {name}="{escape(value)}"')
    return "".join(parts)


def el(name: str, /, *children: Child, **attrs: AttributeValue) -> Html:
    """An element: `el("a", ticket.title, href=url, class_="title")`."""
    opening = f"<{name}{attributes(attrs)}>"
    if name in VOID:
        return Html(opening)
    return Html(f"{opening}{render(children)}</{name}>")
