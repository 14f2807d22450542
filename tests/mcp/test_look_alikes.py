"""Bug reports filed twice in other words: create_ticket answers with the first when the stack trace is the
same, and a ticket filed anyway names the open tickets most like it. Driven through the real server over stdio."""

from __future__ import annotations

import pytest

from tests.fixtures.tool_calls import call, call_error, slug_of, spawned
from tests.fixtures.traces import EXPORT_KEY_ERROR

pytestmark = pytest.mark.anyio

TRACE = EXPORT_KEY_ERROR.rstrip("\n")

FIRST = {
    "title": "CSV export crashes with KeyError",
    "type": "bug",
    "description": f"Exporting the customer list fails when a customer was archived.\n\n```\n{TRACE}\n```",
}
REWORDINGS = [
    {
        "title": "Customer download blows up for archived accounts",
        "type": "bug",
        "description": f"Support says downloads die for some accounts. Trace from prod:\n{TRACE}\nHappens every time.",
    },
    {
        "title": "500 on /customers/export",
        "type": "bug",
        "description": f"Seen in the logs after the last deploy:\n\n    {TRACE.replace(chr(10), chr(10) + '    ')}\n",
    },
]


async def test_rewordings_of_a_bug_with_the_same_trace_get_the_first_back(server_env: dict[str, str]) -> None:
    async with spawned(server_env) as client:
        first = slug_of(await call(client, "create_ticket", **FIRST))
        for twin in REWORDINGS:
            refusal = await call_error(client, "create_ticket", **twin)
            assert refusal.startswith(f"Not filed: it looks like {first} ")
            assert "(same «KeyError at app/export.py:142»)" in refusal
        assert "1 of 1 tickets" in await call(client, "list_tickets")

        # Filed anyway, or another crash: filed, naming the open look-alikes to link or undo by.
        anyway = await call(client, "create_ticket", **REWORDINGS[0], not_duplicate=True)
        assert anyway.endswith(f"(backlog, version 1). Similar open: {first}.")
        elsewhere = TRACE.replace('app/export.py", line 142, in export_rows', 'app/totals.py", line 9, in totals')
        other = await call(client, "create_ticket", title="CSV export crashes on the totals row", description=elsewhere)
        assert other.startswith("Created ") and other.endswith(f"Similar open: {first}.")  # half the title's words
        nearby = TRACE.replace("line 142, in export_rows", "line 60, in header_row")
        same_file = await call(client, "create_ticket", title="Header missing in file", description=nearby)
        # A KeyError raised in the same file, not the one raised elsewhere on the way from the same view.
        assert same_file.endswith(f"Similar open: {first}, {slug_of(anyway)}.")
        unrelated = await call(client, "create_ticket", title="Dark mode toggle", description="Add one")
        assert "Similar" not in unrelated
