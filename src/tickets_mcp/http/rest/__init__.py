"""The REST dialects of the seeds, each in its own module, all calling the same Tracker.

| module        | seed | base path                                                        |
|---------------|------|------------------------------------------------------------------|
| bugtome       | 000  | /api/v1/mcp/organizations…, POST /api/v1/tickets                 |
| agentsmesh    | 001  | /api/v1/ext/orgs/{org}/tickets…                                  |
| abf           | 002  | /api/v1/issues.json, /api/v1/projects/{id}/issues[/{number}].json |
| terraform     | 004  | /api/v1/organizations/{org}/projects, /api/v1/projects/{id}; also /api/v2/… |
| native        | -    | /api/v1/native/…: the Tracker protocol one to one                 |
| native_files  | -    | /api/v1/native/tickets/{slug}/attachments…: files, as they come    |

Seed 003's conventions (status codes, `{"message": …}` errors, page/per_page) hold for all of them.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI


def include_routers(app: FastAPI) -> None:
    """Mount every dialect's router on the app."""
    from tickets_mcp.http.rest import abf, agentsmesh, bugtome, native, native_files, terraform
    from tickets_mcp.http.rest.support import storable_body

    checked = [Depends(storable_body)]
    for module in (bugtome, agentsmesh, abf):
        app.include_router(module.router, dependencies=checked)
    # One router under each mount; the OpenAPI document lists the first (the others would repeat every operation id).
    for mount in terraform.MOUNTS:
        app.include_router(
            terraform.router, prefix=mount, include_in_schema=mount == terraform.MOUNTS[0], dependencies=checked
        )
    app.include_router(native.router, dependencies=checked)
    app.include_router(native_files.router)  # bodies of files, not JSON: nothing for storable_body to check
