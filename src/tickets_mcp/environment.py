"""Environment variables, read under their `TICKETS_` names and, for one release, their old `TRACKER_` names.

The product was called tracker-mcp; a user's client configuration may still set `TRACKER_DB` or
`TRACKER_TOKEN`. Those keep working and the process says once on stderr which ones to rename. A
`TICKETS_` variable always wins over its old twin.
"""

from __future__ import annotations

import os
import sys
from typing import Final, overload

PREFIX: Final = "TICKETS_"
OLD_PREFIX: Final = "TRACKER_"

_noted: set[str] = set()


@overload
def env(name: str) -> str | None: ...
@overload
def env(name: str, default: str) -> str: ...
def env(name: str, default: str | None = None) -> str | None:
    """The value of `TICKETS_…` `name`, else of its deprecated `TRACKER_…` twin (noted once), else `default`."""
    value = os.environ.get(name)
    if value is not None:
        return value
    old = OLD_PREFIX + name.removeprefix(PREFIX)
    value = os.environ.get(old)
    if value is None:
        return default
    if old not in _noted:
        _noted.add(old)
        print(
            f"tickets-mcp: {old} is deprecated and will stop working in the next release; rename it {name}.",
            file=sys.stderr,
        )
    return value
