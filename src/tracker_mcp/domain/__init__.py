"""The canonical model: records, vocabularies and pure rules. Imports no transport, store or HTTP client."""

from tracker_mcp.domain.enums import CLOSED_STATUSES, Priority, Role, Status, TicketSort, TicketType
from tracker_mcp.domain.models import (
    Board,
    BoardColumn,
    Comment,
    Label,
    Member,
    Organization,
    OrganizationWorkspace,
    Project,
    ProjectDeletion,
    Ticket,
    TicketDeletion,
    TicketDetail,
    TicketPage,
    User,
    Workspace,
)

__all__ = [
    "CLOSED_STATUSES",
    "Board",
    "BoardColumn",
    "Comment",
    "Label",
    "Member",
    "Organization",
    "OrganizationWorkspace",
    "Priority",
    "Project",
    "ProjectDeletion",
    "Role",
    "Status",
    "Ticket",
    "TicketDeletion",
    "TicketDetail",
    "TicketPage",
    "TicketSort",
    "TicketType",
    "User",
    "Workspace",
]
