"""Stores behind LocalTracker. Import a concrete store from its own module: each loads its driver."""

from tickets_mcp.stores.port import (
    PATCHABLE,
    Actor,
    BoardSession,
    MilestoneFields,
    Move,
    NewProject,
    NewTicket,
    NewTimeEntry,
    NewToken,
    OpenTickets,
    Placement,
    PoolUsage,
    Reach,
    Store,
    TicketPatch,
    TicketQuery,
)

__all__ = [
    "PATCHABLE",
    "Actor",
    "BoardSession",
    "MilestoneFields",
    "Move",
    "NewProject",
    "NewTicket",
    "NewTimeEntry",
    "NewToken",
    "OpenTickets",
    "Placement",
    "PoolUsage",
    "Reach",
    "Store",
    "TicketPatch",
    "TicketQuery",
]
