"""The MCP front end: tools over a Tracker, served on stdio (and, later, HTTP)."""

from tickets_mcp.server.app import AppState, TrackerServer, build_server, create_server

__all__ = ["AppState", "TrackerServer", "build_server", "create_server"]
