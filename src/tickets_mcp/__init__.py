"""tickets-mcp: a ticket tracker for AI agents, served over MCP."""

__version__ = "0.1.0"
