"""The tools about the workspace, organizations and projects."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp.types import CallToolResult
from pydantic import Field

from tickets_mcp.domain import EstimateUnit
from tickets_mcp.domain.rules import plural
from tickets_mcp.mcp import arguments as a
from tickets_mcp.mcp import render
from tickets_mcp.mcp.consent import Consent, DeletionConfirmation, ask_user, confirmed, not_deleted
from tickets_mcp.mcp.context import Ctx, tracker_for
from tickets_mcp.mcp.tools.results import text


async def get_workspace_context(ctx: Ctx) -> CallToolResult:
    """Start here: your organizations, their projects (codes for slugs), members, and valid statuses, priorities and types."""  # noqa: E501
    return text(render.workspace(await tracker_for(ctx).workspace()))


async def list_organizations(ctx: Ctx) -> CallToolResult:
    """List the organizations you belong to."""
    return text(render.organizations(await tracker_for(ctx).list_organizations()))


async def list_projects(ctx: Ctx, organization: a.OrganizationRef = None) -> CallToolResult:
    """List projects with their codes and open/total ticket counts."""
    return text(render.projects(await tracker_for(ctx).list_projects(organization)))


async def create_project(
    ctx: Ctx,
    name: a.ProjectName,
    code: Annotated[str | None, Field(max_length=10, description="2-10 letters/digits, e.g. WEB")] = None,
    description: a.Description = "",
    organization: a.OrganizationRef = None,
) -> CallToolResult:
    """Create a project. Its code prefixes ticket slugs; derived from the name if omitted."""
    project = await tracker_for(ctx).create_project(name, code=code, description=description, organization=organization)
    return text(render.project_saved("Created", project), {"code": project.code, "id": project.id})


async def update_project(
    ctx: Ctx,
    project: Annotated[str, Field(max_length=100), a.lean("Project code, name or id")],
    name: Annotated[str | None, Field(max_length=36)] = None,
    description: Annotated[str | None, Field(max_length=65_536)] = None,
    organization: a.OrganizationRef = None,
    default: bool | None = None,
    estimate_unit: Literal["hours", "points"] | None = None,
) -> CallToolResult:
    """Rename a project, change its description, its estimate unit, or (default=true, owners only) make it the
    default project, where REST clients naming only the organization file tickets. The code never changes."""
    tracker = tracker_for(ctx)
    saved_project = None
    if estimate_unit is not None:
        saved_project = await tracker.set_estimate_unit(project, EstimateUnit(estimate_unit), organization=organization)
    if saved_project is None or any(value is not None for value in (name, description, default)):
        saved_project = await tracker.update_project(
            project, name=name, description=description, organization=organization, default=default
        )
    return text(render.project_saved("Updated", saved_project), {"code": saved_project.code})


async def confirm_project_deletion(
    project: str, confirm: bool, organization: str | None, ctx: Ctx
) -> DeletionConfirmation | Elicit[DeletionConfirmation]:
    """delete_project's resolver (see consent.py): what to ask the user, unless the deletion is refused anyway."""

    async def question() -> str | None:
        impact = await tracker_for(ctx).project_deletion(project, organization=organization)
        if impact.tickets:
            return None  # refused anyway: no point asking the user
        return f"Delete {render.project_deletion_impact(impact)}?"

    return await ask_user(ctx, confirm, question)


async def delete_project(
    ctx: Ctx,
    project: Annotated[str, Field(max_length=100), a.lean("Project code, name or id")],
    confirmation: Annotated[Consent, Resolve(confirm_project_deletion)],
    confirm: a.Confirm = False,
    organization: a.OrganizationRef = None,
) -> CallToolResult:
    """Delete an empty project; refused while it holds tickets. The user is asked to confirm."""
    tracker = tracker_for(ctx)
    if not confirmed(confirmation):
        impact = await tracker.project_deletion(project, organization=organization)
        if impact.tickets:
            return text(
                f"Not deleted: project {impact.project.code} holds {plural(impact.tickets, 'ticket')}. "
                "Delete them first (delete_ticket), or keep the project."
            )
        return text(not_deleted(ctx, render.project_deletion_impact(impact)))
    impact = await tracker.delete_project(project, organization=organization)
    return text(f"Deleted {render.project_deletion_impact(impact)}.", {"deleted": impact.project.code})
