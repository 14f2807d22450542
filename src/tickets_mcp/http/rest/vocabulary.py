"""The dialects' vocabularies now live in the domain (tickets_mcp.domain.vocabulary), shared with the
remote adapters; this name stays for code that imported them from here."""

from tickets_mcp.domain.vocabulary import (
    ABF_STATUS,
    AGENTSMESH_STATUS,
    BUGTOME_PRIORITY,
    BUGTOME_STATUS,
    AbfStatus,
    AgentsMeshStatus,
    BugToMePriority,
    BugToMeStatus,
    Vocabulary,
)

__all__ = [
    "ABF_STATUS",
    "AGENTSMESH_STATUS",
    "BUGTOME_PRIORITY",
    "BUGTOME_STATUS",
    "AbfStatus",
    "AgentsMeshStatus",
    "BugToMePriority",
    "BugToMeStatus",
    "Vocabulary",
]
