"""Trim GitLab's OpenAPI 3.0 document of REST API v4 to the operations the gitlab backend sends or will send.

Input: `openapi_v3.slices.yaml` beside this script, the parts of GitLab's `doc/api/openapi/openapi_v3.yaml`
that were read and copied verbatim (the whole file could not be fetched; SOURCE.md says which copy and how).
Given the whole document instead (a path to a copy of `openapi_v3.yaml`), it trims that, which is the way
to refresh the vendored file once the whole file can be had.
Output: `openapi_v3.trimmed.json.gz` beside this script, which the tests read (tests/fixtures/fake_gitlab.py).
Run by hand from the repository's root when the adapter starts using another operation:

    python tests/data/specs/gitlab/trim.py [/path/to/openapi_v3.yaml]
"""

from __future__ import annotations

import copy
import gzip
import json
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))  # the repository's root, for tests.fixtures

from tests.fixtures.openapi_peer import trim  # noqa: E402

SLICES = HERE / "openapi_v3.slices.yaml"
OUTPUT = HERE / "openapi_v3.trimmed.json.gz"
API = "/api/v4"
PROJECT = API + "/projects/{id}"
ISSUE = PROJECT + "/issues/{issue_iid}"
# path -> methods: every request remotes/gitlab*.py sends, and those the helpers adding issue links, time
# tracking, milestones, uploads and moves will send. SOURCE.md lists what the adapter sends that is not here.
OPERATIONS: dict[str, set[str]] = {
    API + "/projects": {"get"},
    PROJECT: {"get"},
    PROJECT + "/labels": {"get"},
    PROJECT + "/members/all": {"get"},
    PROJECT + "/members/all/{user_id}": {"get"},
    API + "/groups/{id}/members/all": {"get"},
    API + "/groups/{id}/members/all/{user_id}": {"get"},
    API + "/groups/{id}/issues": {"get"},
    PROJECT + "/issues": {"get", "post"},
    ISSUE: {"get", "put", "delete"},
    PROJECT + "/issues/{noteable_id}/notes": {"get", "post"},
    PROJECT + "/issues/{noteable_id}/notes/{note_id}": {"put", "delete"},
    ISSUE + "/move": {"post"},
    ISSUE + "/links": {"get", "post"},
    ISSUE + "/links/{issue_link_id}": {"delete"},
    ISSUE + "/time_estimate": {"post"},
    ISSUE + "/reset_time_estimate": {"post"},
    ISSUE + "/add_spent_time": {"post"},
    ISSUE + "/time_stats": {"get"},
    PROJECT + "/milestones": {"get", "post"},
    PROJECT + "/milestones/{milestone_id}": {"get", "put"},
    API + "/groups/{id}/milestones": {"get"},
    API + "/groups/{id}/milestones/{milestone_id}": {"put"},
    PROJECT + "/uploads": {"post"},
    PROJECT + "/uploads/{upload_id}": {"get", "delete"},
    PROJECT + "/uploads/{secret}/{filename}": {"get", "delete"},
}
# Lists GitLab answers with a JSON array that the document declares as one object (its generator drops
# Grape's `is_array` on these routes; the same routes' siblings, such as /members/all, say `type: array`).
LISTS = [
    (API + "/groups/{id}/issues", "get"),
    (PROJECT + "/issues", "get"),
    (PROJECT + "/issues/{noteable_id}/notes", "get"),
    (PROJECT + "/labels", "get"),
    (PROJECT + "/milestones", "get"),
    (API + "/groups/{id}/milestones", "get"),
]
# Schema properties GitLab sends as an array of the referenced entity (`expose ..., using: ...` of a list),
# declared as one object; and the properties GitLab sends as integers that the document calls strings.
ARRAY_PROPERTIES = [
    ("APIEntitiesIssue", "assignees"),
    ("APIEntitiesIssueBasic", "assignees"),
    ("APIEntitiesRelatedIssue", "assignees"),
]
INTEGER_PROPERTIES = [("APIEntitiesMember", "access_level"), ("APIEntitiesMilestone", "group_id")]
# Deletes GitLab answers 204 with no body (`destroy_conditionally!` in lib/api/helpers.rb), which the document
# declares as 200 with the deleted entity.
NO_CONTENT = [(PROJECT + "/issues/{noteable_id}/notes/{note_id}", "delete")]
# Statuses GitLab answers that the operation does not list, and that rest/troubleshooting.md does not name
# for every request: an upload past the instance's maximum attachment size is refused 413 (Workhorse's
# `maximum_size`, `file_too_large!` in lib/api/helpers.rb; project_markdown_uploads.md, 15.10).
EXTRA_STATUSES = [(PROJECT + "/uploads", "post", "413", "Request Entity Too Large")]


def load(source: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    return document


def correct(trimmed: dict[str, Any]) -> None:
    """The corrections SOURCE.md lists, each printed as it is made."""
    for path, method in LISTS:
        media = trimmed["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        media["schema"] = {"type": "array", "items": media["schema"]}
        print(f"array answer: {method.upper()} {path}")
    schemas = trimmed["components"]["schemas"]
    for name, prop in ARRAY_PROPERTIES:
        schemas[name]["properties"][prop] = {"type": "array", "items": schemas[name]["properties"][prop]}
        print(f"array property: {name}.{prop}")
    for name, prop in INTEGER_PROPERTIES:
        schemas[name]["properties"][prop]["type"] = "integer"
        print(f"integer property: {name}.{prop}")
    for path, method in NO_CONTENT:
        responses = trimmed["paths"][path][method]["responses"]
        del responses["200"]
        responses["204"] = {"description": "No Content"}
        print(f"no content: {method.upper()} {path}")
    for path, method, status, description in EXTRA_STATUSES:
        trimmed["paths"][path][method]["responses"][status] = {"description": description}
        print(f"status {status}: {method.upper()} {path}")
    # GitLab answers null for an attribute that is not set (`"description": null`, `"milestone": null`, as
    # every example in doc/api/ shows); the generator marks nothing nullable. OpenAPI 3.0 lets no `nullable`
    # stand beside a $ref, so the entities themselves are marked nullable, as is each plain property.
    entities = [name for name in schemas if not name.startswith("RequestBody_")]
    for name in entities:
        schemas[name]["nullable"] = True
        for prop, schema in schemas[name]["properties"].items():
            if "$ref" not in schema:
                schemas[name]["properties"][prop] = {**schema, "nullable": True}
    print(f"nullable properties: {len(entities)} entities")


def main(source: Path) -> None:
    document = load(source)
    trimmed = trim(document, OPERATIONS)
    trimmed["components"]["securitySchemes"] = copy.deepcopy(document["components"]["securitySchemes"])
    correct(trimmed)
    text = json.dumps(trimmed, sort_keys=True, separators=(",", ":")).encode()
    OUTPUT.write_bytes(gzip.compress(text, mtime=0))
    print(f"{OUTPUT.name}: {len(trimmed['paths'])} paths, {len(text)} bytes, {OUTPUT.stat().st_size} gzipped")


if __name__ == "__main__":
    if len(sys.argv) > 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]) if len(sys.argv) == 2 else SLICES)
