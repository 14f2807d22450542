"""Seed 004, HCP Terraform's projects API: JSON:API documents, page[number]/page[size], q.

Creating, renaming and deleting a project takes an owner or admin, or an organization key with
projects:write; the list's permission filters ask the same rules (PERMISSION_FILTERS). A project that
holds tickets is not deleted (409), as HCP keeps a project that holds workspaces. Errors carry
JSON:API's `errors` array beside the `message` every dialect answers with.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from tickets_mcp.core.access import Action, TierRefusal
from tickets_mcp.core.tracker import Tracker
from tickets_mcp.domain import Organization, Project
from tickets_mcp.errors import Invalid, NotFound, PermissionDenied
from tickets_mcp.http.errors import ErrorShape
from tickets_mcp.http.rest.paging import Page, page_brackets
from tickets_mcp.http.rest.support import (
    TrackerDep,
    error_responses,
    iso_seconds,
    operation_ids,
)

MEDIA_TYPE = "application/vnd.api+json"


class JsonApiResponse(JSONResponse):
    media_type = MEDIA_TYPE


def error_members(status: int, text: str) -> dict[str, Any]:
    # JSON:API's title names the kind of problem, the same each time; the message says what happened.
    return {"errors": [{"status": str(status), "title": HTTPStatus(status).phrase, "detail": text}]}


class ErrorObject(BaseModel):
    status: str = Field(examples=["404"])
    title: str = Field(description="The status's phrase.", examples=["Not Found"])
    detail: str


class JsonApiError(BaseModel):
    message: str
    errors: list[ErrorObject]


# Mounted under each (rest/__init__.py): /api/v1 beside the other dialects, /api/v2 where HCP serves it
# and where its clients look.
MOUNTS = ("/api/v1", "/api/v2")

router = APIRouter(
    tags=["Projects, HCP Terraform style (seed 004)"],
    default_response_class=JsonApiResponse,
    responses=error_responses(JsonApiError),
    generate_unique_id_function=operation_ids("terraform"),
)


# Every error on these paths, the routes' own and those answered before a route runs (405, 413, a 401 for a
# body refused unread), carries JSON:API's `errors` beside `message` (errors.install_error_handlers).
PATHS = re.compile(
    "(?:" + "|".join(re.escape(m) for m in MOUNTS) + r")/(?:organizations/[^/]+/projects|projects/[^/]+)/?"
)
ERROR_SHAPE = ErrorShape(
    serves=lambda path: PATHS.fullmatch(path) is not None, members=error_members, media_type=MEDIA_TYPE
)


class NewProjectAttributes(BaseModel):
    name: str = Field(description="3-36 letters, digits, spaces, '-' or '_'.", examples=["Web Application"])
    description: str = ""


class NewProjectData(BaseModel):
    type: Literal["projects"]
    attributes: NewProjectAttributes


class NewProjectDocument(BaseModel):
    data: NewProjectData


class ProjectChangeAttributes(BaseModel):
    name: str | None = Field(default=None, description="Left out: the name stays.")
    description: str | None = None


class ProjectChangeData(BaseModel):
    type: Literal["projects"]
    attributes: ProjectChangeAttributes = Field(default_factory=ProjectChangeAttributes)


class ProjectChangeDocument(BaseModel):
    data: ProjectChangeData


class ProjectAttributes(BaseModel):
    name: str
    description: str
    code: str = Field(description="The project's code, used in ticket slugs (WEB-42).")
    created_at: str = Field(serialization_alias="created-at", examples=["2024-01-01T00:00:00Z"])
    tickets_count: int = Field(serialization_alias="tickets-count")
    open_tickets_count: int = Field(serialization_alias="open-tickets-count")


class ResourceIdentifier(BaseModel):
    id: str
    type: str


class Relationship(BaseModel):
    data: ResourceIdentifier


class ProjectRelationships(BaseModel):
    organization: Relationship


class SelfLink(BaseModel):
    self: str


class ProjectResource(BaseModel):
    id: str
    type: Literal["projects"] = "projects"
    attributes: ProjectAttributes
    relationships: ProjectRelationships
    links: SelfLink


class ProjectDocument(BaseModel):
    data: ProjectResource


class ListLinks(BaseModel):
    self: str
    first: str
    prev: str | None
    next: str | None
    last: str


class Pagination(BaseModel):
    current_page: int = Field(serialization_alias="current-page")
    page_size: int = Field(serialization_alias="page-size")
    prev_page: int | None = Field(serialization_alias="prev-page")
    next_page: int | None = Field(serialization_alias="next-page")
    total_pages: int = Field(serialization_alias="total-pages")
    total_count: int = Field(serialization_alias="total-count")


class ListMeta(BaseModel):
    pagination: Pagination


class ProjectListDocument(BaseModel):
    data: list[ProjectResource]
    links: ListLinks
    meta: ListMeta


def mount_of(request: Request) -> str:
    """The prefix a request came in under, so the links it is sent keep to it."""
    return next((mount for mount in MOUNTS if request.url.path.startswith(f"{mount}/")), MOUNTS[0])


MountDep = Annotated[str, Depends(mount_of)]


def resource_of(project: Project, organizations: dict[str, Organization], mount: str) -> ProjectResource:
    org = organizations.get(project.organization_id)
    return ProjectResource(
        id=project.id,
        attributes=ProjectAttributes(
            name=project.name,
            description=project.description,
            code=project.code,
            created_at=iso_seconds(project.created_at),
            tickets_count=project.tickets_count or 0,
            open_tickets_count=project.open_tickets_count or 0,
        ),
        relationships=ProjectRelationships(
            organization=Relationship(
                data=ResourceIdentifier(id=org.slug if org else project.organization_id, type="organizations")
            )
        ),
        links=SelfLink(self=f"{mount}/projects/{project.id}"),
    )


async def document_of(tracker: Tracker, project: Project, mount: str) -> ProjectDocument:
    organizations = {o.id: o for o in await tracker.list_organizations()}
    return ProjectDocument(data=resource_of(project, organizations, mount))


async def project_by_id(tracker: Tracker, project_id: str) -> Project:
    for project in await tracker.list_projects():
        if project.id == project_id:
            return project
    raise NotFound(
        f"Project {project_id!r} not found.",
        hint="A project is named by its id (a UUID); list an organization's projects, with their ids, with "
        "GET organizations/{organization_name}/projects.",
    )


# HCP's permission filters, as the action each asks about: updating a project is managing it, and
# tickets are what a project holds here, as workspaces are there.
PERMISSION_FILTERS = {
    "filter[permissions][update]": Action.MANAGE,
    "filter[permissions][create-workspace]": Action.FILE,
}
FILTER_VALUES = {"": True, "true": True, "false": False}  # "If present": a bare `filter[...]` filters


def permission_filters(request: Request) -> list[Action]:
    """The actions the caller's permission filters ask for; an unknown filter or value is a 400, never ignored."""
    wanted: list[Action] = []
    for key, value in request.query_params.multi_items():
        if not key.startswith("filter["):
            continue
        action = PERMISSION_FILTERS.get(key)
        if action is None:
            raise Invalid(key, f"{key} is not a filter here.", hint="Use " + " or ".join(PERMISSION_FILTERS) + ".")
        present = FILTER_VALUES.get(value.strip().casefold())
        if present is None:
            raise Invalid(key, f"{key}={value!r} is neither true nor false.", hint=f"Send {key}=true.")
        if present:
            wanted.append(action)
    return wanted


def page_link(request: Request, number: int, size: int) -> str:
    """The list's URL at page `number`: every other parameter the caller sent (q, the filters) kept."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page[number]", "page[size]")]
    return f"{request.url.path}?{urlencode([('page[number]', number), ('page[size]', size), *kept])}"


@router.post(
    "/organizations/{organization_name}/projects", status_code=status.HTTP_201_CREATED, summary="Create a project"
)
async def create_project(
    organization_name: str, body: NewProjectDocument, tracker: TrackerDep, mount: MountDep
) -> ProjectDocument:
    attributes = body.data.attributes
    project = await tracker.create_project(
        attributes.name, description=attributes.description, organization=organization_name
    )
    return await document_of(tracker, project, mount)


@router.get("/organizations/{organization_name}/projects", summary="List an organization's projects")
async def list_projects(
    organization_name: str,
    tracker: TrackerDep,
    request: Request,
    mount: MountDep,
    page: Annotated[Page, Depends(page_brackets)],
    q: Annotated[str | None, Query(description="Only projects whose name contains this, ignoring case.")] = None,
    _update: Annotated[
        str | None,
        Query(alias="filter[permissions][update]", description="true: only projects you may rename or delete."),
    ] = None,
    _create_workspace: Annotated[
        str | None,
        Query(alias="filter[permissions][create-workspace]", description="true: only projects you may file in."),
    ] = None,
) -> ProjectListDocument:
    wanted = permission_filters(request)
    projects = await tracker.list_projects(organization_name)
    if wanted:
        projects = [p for p in projects if set(wanted) <= await tracker.permitted_actions(p.id)]
    if q:
        projects = [p for p in projects if q.casefold() in p.name.casefold()]
    organizations = {o.id: o for o in await tracker.list_organizations()}
    total = len(projects)
    last = page.pages(total)
    following, previous = page.next_number(total), page.previous_number()
    return ProjectListDocument(
        data=[resource_of(p, organizations, mount) for p in page.cut(projects)],
        links=ListLinks(
            self=page_link(request, page.number, page.size),
            first=page_link(request, 1, page.size),
            prev=page_link(request, previous, page.size) if previous else None,
            next=page_link(request, following, page.size) if following else None,
            last=page_link(request, last, page.size),
        ),
        meta=ListMeta(
            pagination=Pagination(
                current_page=page.number,
                page_size=page.size,
                prev_page=previous,
                next_page=following,
                total_pages=last,
                total_count=total,
            )
        ),
    )


@router.get("/projects/{project_id}", summary="Show a project")
async def show_project(project_id: str, tracker: TrackerDep, mount: MountDep) -> ProjectDocument:
    return await document_of(tracker, await project_by_id(tracker, project_id), mount)


@router.patch("/projects/{project_id}", summary="Rename a project or change its description")
async def update_project(
    project_id: str, body: ProjectChangeDocument, tracker: TrackerDep, mount: MountDep
) -> ProjectDocument:
    current = await project_by_id(tracker, project_id)
    attributes = body.data.attributes
    project = await tracker.update_project(
        current.id, name=attributes.name, description=attributes.description, organization=current.organization_id
    )
    return await document_of(tracker, project, mount)


@router.delete(
    "/projects/{project_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a project that holds no tickets",
)
async def delete_project(project_id: str, tracker: TrackerDep) -> None:
    current = await project_by_id(tracker, project_id)
    try:
        await tracker.delete_project(current.id, organization=current.organization_id)
    except TierRefusal:
        raise  # the server's setting, not the caller's role: 403, as on every route
    except PermissionDenied as exc:
        # Seed 004: "Project not found, or user unauthorized to perform project delete" is a 404 (its 403
        # is for force deletes, which are not offered); the detail still says why.
        raise NotFound(exc.message, hint=exc.hint) from exc
