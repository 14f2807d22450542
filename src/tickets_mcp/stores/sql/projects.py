"""Projects: the scripts every engine runs alike."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from tickets_mcp.domain import EstimateUnit, LabelUse, Project, ProjectDeletion, audit
from tickets_mcp.domain.clock import utc_now
from tickets_mcp.domain.rules import plural
from tickets_mcp.errors import Conflict, NotFound
from tickets_mcp.stores.port import Actor, NewProject
from tickets_mcp.stores.sql.connection import Connection
from tickets_mcp.stores.sql.events import record
from tickets_mcp.stores.sql.records import (
    FILL_DEFAULT_PROJECT,
    PROJECT_SELECT,
    PROJECT_SELECT_NO_COUNTS,
    row_to_project,
)


def load_project(conn: Connection, project_id: str, *, counts: bool = True) -> Project:
    row = conn.optional((PROJECT_SELECT if counts else PROJECT_SELECT_NO_COUNTS) + " WHERE p.id = ?", (project_id,))
    if row is None:
        raise NotFound("The project no longer exists.", hint="List projects again.")
    return row_to_project(row)


def list_projects(
    conn: Connection, organization_ids: Sequence[str], *, counts: bool, labels: bool = False
) -> list[Project]:
    where, params = conn.dialect.any_of("p.organization_id", organization_ids)
    select = PROJECT_SELECT if counts else PROJECT_SELECT_NO_COUNTS
    rows = conn.all(f"{select} WHERE {where} ORDER BY {conn.dialect.by_name('p.name')}", params)
    found = [row_to_project(row) for row in rows]
    if not labels:
        return found
    uses = label_uses(conn, [p.id for p in found])
    return [p.model_copy(update={"labels": tuple(uses.get(p.id, ()))}) for p in found]


def label_uses(conn: Connection, project_ids: Sequence[str]) -> dict[str, list[LabelUse]]:
    """The labels that tickets of these projects carry, the most used first, by project id.

    One query for them all: each label's tickets are counted in the (label_id, ticket_id) index alone. With
    100,000 tickets carrying 80,000 labels that took 3 ms on SQLite and 15 on PostgreSQL, less than counting the
    projects' tickets; counting open tickets only would read every labelled ticket's row (170 ms on SQLite).
    """
    where, params = conn.dialect.any_of("l.project_id", project_ids)
    rows = conn.all(
        f"""SELECT l.project_id, l.name, (SELECT COUNT(*) FROM ticket_labels tl WHERE tl.label_id = l.id)
            FROM labels l WHERE {where}""",
        params,
    )
    uses: dict[str, list[LabelUse]] = {}
    for project_id, name, tickets in sorted(rows, key=lambda row: (-row[2], row[1].casefold())):
        if tickets:  # a label no ticket carries any more is not in use
            uses.setdefault(str(project_id), []).append(LabelUse(name=name, tickets=int(tickets)))
    return uses


def lock_project(conn: Connection, project_id: str) -> None:
    """Where the engine locks rows: ticket writes in the project wait (they lock its row too) until the commit."""
    conn.execute("SELECT 1 FROM projects WHERE id = ?" + conn.dialect.locking("FOR UPDATE"), (project_id,))


def _check_project_unique(
    conn: Connection, organization_id: str, name: str, code: str | None, exclude_id: str | None
) -> None:
    row = conn.optional(
        f"""SELECT name FROM projects
            WHERE organization_id = ? AND {conn.dialect.same_name("name")} AND id IS DISTINCT FROM ?""",
        (organization_id, name, exclude_id),
    )
    if row:
        raise Conflict(f"A project named {row[0]!r} already exists.", hint="Choose another name.")
    taken = "SELECT 1 FROM projects WHERE organization_id = ? AND code = ?"
    if code is not None and conn.optional(taken, (organization_id, code)):
        raise Conflict(f"This organization has a project with the code {code!r}.", hint="Choose another code.")


def create_project(conn: Connection, project: NewProject, actor: Actor) -> Project:
    _check_project_unique(conn, project.organization_id, project.name, project.code, None)
    project_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO projects (id, organization_id, name, code, description, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (project_id, project.organization_id, project.name, project.code, project.description, utc_now()),
    )
    conn.execute(FILL_DEFAULT_PROJECT + " AND id = ?", (project.organization_id,))
    record(conn, audit.project_created(project.organization_id, project_id, project.code, project.name), actor)
    return load_project(conn, project_id)


def update_project(
    conn: Connection, project_id: str, name: str | None, description: str | None, actor: Actor
) -> Project:
    lock_project(conn, project_id)
    current = load_project(conn, project_id)
    event = audit.project_updated(current, name=name, description=description)
    if event is None:
        return current
    if "name" in event.changes:
        _check_project_unique(conn, current.organization_id, name or current.name, None, project_id)
    conn.execute(
        "UPDATE projects SET name = ?, description = ? WHERE id = ?",
        (name or current.name, current.description if description is None else description, project_id),
    )
    record(conn, event, actor)
    return load_project(conn, project_id)


def set_estimate_unit(conn: Connection, project_id: str, unit: EstimateUnit, actor: Actor) -> Project:
    lock_project(conn, project_id)
    current = load_project(conn, project_id)
    if current.estimate_unit is unit:
        return current
    conn.execute("UPDATE projects SET estimate_unit = ? WHERE id = ?", (unit.value, project_id))
    record(conn, audit.estimate_unit_set(current, unit), actor)
    return load_project(conn, project_id)


def project_deletion(conn: Connection, project_id: str) -> ProjectDeletion:
    project = load_project(conn, project_id)
    labels = conn.one("SELECT COUNT(*) FROM labels WHERE project_id = ?", (project_id,))
    return ProjectDeletion(project=project, tickets=project.tickets_count or 0, labels=int(labels[0]))


def delete_project(conn: Connection, project_id: str, actor: Actor) -> ProjectDeletion:
    lock_project(conn, project_id)  # no ticket can be filed in it while we count and delete
    impact = project_deletion(conn, project_id)
    if impact.tickets:
        raise Conflict(
            f"Project {impact.project.code} still holds {plural(impact.tickets, 'ticket')} and was not deleted.",
            hint="Delete its tickets first, or keep the project.",
        )
    conn.execute("DELETE FROM projects WHERE id = ?", (project_id,))
    conn.execute(FILL_DEFAULT_PROJECT + " AND id = ?", (impact.project.organization_id,))
    record(conn, audit.project_deleted(impact.project), actor)
    return impact
