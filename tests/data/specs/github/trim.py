"""Trims GitHub's REST description to what the github backend uses: tests/data/specs/github/api.github.com.trimmed.json.

Run by hand from the repository root with the description as input:

    python tests/data/specs/github/trim.py PATH/TO/api.github.com.2022-11-28.json

The input is github/rest-api-description's descriptions/api.github.com/api.github.com.2022-11-28.json,
or the same description as @octokit/openapi ships it (generated/api.github.com.json, which adds
`x-octokit` keys: they are dropped here, so both give the same operations and schemas). SOURCE.md says
which copy the committed file came from.

One addition, named in SOURCE.md: GitHub's REST documentation says any request may be answered 401
(a bad or revoked token), 403 or 429 (a primary or secondary rate limit), but the description lists those
on some operations only; each kept operation that lacks one gets it, with the description's own
`requires_authentication` (401), `forbidden` (403) and a basic-error 429, so the fake's answers are
still validated against GitHub's error schema.

A second one, also named in SOURCE.md: an issue's `milestone` in the create and update bodies is
`{"oneOf": [string, integer], "nullable": true}`, and its description says "use `null` to remove the
current milestone"; but OpenAPI 3.0.3 lets `nullable` add null only beside a `type` in the same schema,
so no validator takes that null. `nullable` is moved onto the integer branch, where it says what the
description says, and nothing else is allowed that was not.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))

from tests.fixtures.openapi_peer import load_document, trim

OUTPUT = Path(__file__).with_name("api.github.com.trimmed.json")
OPERATIONS: dict[str, set[str]] = {
    "/user": {"get"},
    "/user/repos": {"get"},
    "/repos/{owner}/{repo}/assignees": {"get"},
    "/repos/{owner}/{repo}/assignees/{assignee}": {"get"},
    "/repos/{owner}/{repo}/issues": {"get", "post"},
    "/repos/{owner}/{repo}/issues/{issue_number}": {"get", "patch"},
    "/repos/{owner}/{repo}/issues/{issue_number}/comments": {"get", "post"},
    "/repos/{owner}/{repo}/issues/{issue_number}/sub_issues": {"get", "post"},
    "/repos/{owner}/{repo}/issues/{issue_number}/sub_issue": {"delete"},
    "/repos/{owner}/{repo}/milestones": {"get", "post"},
    "/repos/{owner}/{repo}/milestones/{milestone_number}": {"get", "patch"},
    "/search/issues": {"get"},
}
ANY_REQUEST: dict[str, Any] = {
    "401": {"$ref": "#/components/responses/requires_authentication"},
    "403": {"$ref": "#/components/responses/forbidden"},
    "429": {
        "description": "Too many requests",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/basic-error"}}},
    },
}


def without_octokit(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: without_octokit(value) for key, value in node.items() if key != "x-octokit"}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(node, list):
        return [without_octokit(value) for value in node]  # pyright: ignore[reportUnknownVariableType]
    return node


MILESTONE_BODIES = (("/repos/{owner}/{repo}/issues", "post"), ("/repos/{owner}/{repo}/issues/{issue_number}", "patch"))


def null_milestone(document: Any) -> None:
    """An issue body's `milestone` takes null, as its description says (module docstring)."""
    for path, method in MILESTONE_BODIES:
        properties = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"][
            "properties"
        ]
        milestone = properties["milestone"]
        text, number = milestone["oneOf"]
        assert milestone.get("nullable") and text["type"] == "string" and number["type"] == "integer", milestone
        properties["milestone"] = {"oneOf": [text, {**number, "nullable": True}]}


def main(source: Path) -> None:
    document = without_octokit(load_document(source))
    for path, methods in OPERATIONS.items():
        for method in methods:
            responses = document["paths"][path][method]["responses"]
            for status, response in ANY_REQUEST.items():
                responses.setdefault(status, response)
    null_milestone(document)
    trimmed = trim(document, OPERATIONS)
    OUTPUT.write_text(json.dumps(trimmed, indent=2, ensure_ascii=False) + "\n")
    print(f"{OUTPUT}: {len(trimmed['paths'])} paths, {OUTPUT.stat().st_size} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
