"""Trim Atlassian's Jira Cloud platform REST v3 OpenAPI document to the operations the jira backend uses.

Input: the whole document, `swagger-v3.v3.json` (SOURCE.md says which copy and where it came from).
Output: `swagger-v3.trimmed.json.gz` beside this script, which the tests read (tests/fixtures/fake_jira.py).
Run by hand from the repository's root when the adapter starts using another operation:

    python tests/data/specs/jira/trim.py /path/to/swagger-v3.v3.json
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))  # the repository's root, for tests.fixtures

from tests.fixtures.openapi_peer import load_document, trim  # noqa: E402

OUTPUT = HERE / "swagger-v3.trimmed.json.gz"
ISSUE = "/rest/api/3/issue/{issueIdOrKey}"
# path -> methods: every request remotes/jira.py sends.
OPERATIONS: dict[str, set[str]] = {
    "/rest/api/3/myself": {"get"},
    "/rest/api/3/project/search": {"get"},
    "/rest/api/3/status": {"get"},
    "/rest/api/3/priority/search": {"get"},
    "/rest/api/3/resolution/search": {"get"},
    "/rest/api/3/user/search": {"get"},
    "/rest/api/3/search/jql": {"get"},
    "/rest/api/3/search/approximate-count": {"post"},
    "/rest/api/3/issue": {"post"},
    ISSUE: {"get", "put", "delete"},
    ISSUE + "/transitions": {"get", "post"},
    ISSUE + "/comment": {"get", "post"},
    ISSUE + "/worklog": {"get", "post"},
    "/rest/api/3/issueLink": {"post"},
    "/rest/api/3/issueLink/{linkId}": {"delete"},
    "/rest/api/3/issueLinkType": {"get"},
    "/rest/api/3/project/{projectIdOrKey}/versions": {"get"},
    "/rest/api/3/version": {"post"},
    "/rest/api/3/version/{id}": {"put"},
    ISSUE + "/attachments": {"post"},
    "/rest/api/3/attachment/content/{id}": {"get"},
    "/rest/api/3/attachment/{id}": {"delete"},
}
# What `POST /issue/{issueIdOrKey}/attachments` takes, as its description says: multipart/form-data whose
# parts named `file` hold the files. The document's schema, an array of MultipartFile (the fields of
# Spring's server-side class: bytes, inputStream, resource...), describes no multipart body: a validator
# reads the parts as an object of fields, which is never an array, and refuses every upload.
UPLOAD = {
    "type": "object",
    "required": ["file"],
    "properties": {"file": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "binary"}}},
}


def main(source: str) -> None:
    document = load_document(Path(source))
    # The upload's body as Jira takes it (UPLOAD above), put in before trimming, so MultipartFile and the
    # components it names are not kept for nothing.
    if "post" in OPERATIONS.get(ISSUE + "/attachments", ()):
        body = document["paths"][ISSUE + "/attachments"]["post"]["requestBody"]["content"]["multipart/form-data"]
        body["schema"] = UPLOAD
        print(f"multipart body of `file` parts: POST {ISSUE}/attachments")
    trimmed = trim(document, OPERATIONS)
    # Operations name their security schemes without a $ref: keep them, or their `security` names nothing.
    trimmed["components"]["securitySchemes"] = document["components"]["securitySchemes"]
    # The correction: a 204 has no content (RFC 9110, 15.3.5) and Jira sends none, but the document gives
    # some 204s an `application/json` of schema {}, which a validator then requires. SOURCE.md lists them.
    for path, item in trimmed["paths"].items():
        for method, operation in item.items():
            if method != "parameters" and operation["responses"].get("204", {}).pop("content", None) is not None:
                print(f"204 without content: {method.upper()} {path}")
    # The same for the 201 of POST /issueLink, whose description says "This resource returns nothing".
    if trimmed["paths"]["/rest/api/3/issueLink"]["post"]["responses"]["201"].pop("content", None) is not None:
        print("201 without content: POST /rest/api/3/issueLink")
    text = json.dumps(trimmed, sort_keys=True, separators=(",", ":")).encode()
    OUTPUT.write_bytes(gzip.compress(text, mtime=0))
    print(f"{OUTPUT.name}: {len(trimmed['paths'])} paths, {len(text)} bytes, {OUTPUT.stat().st_size} gzipped")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
