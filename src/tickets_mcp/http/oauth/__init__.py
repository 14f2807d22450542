"""`serve` as an OAuth 2.1 authorization server for its own /mcp (routes.py), on the MCP SDK's auth handlers."""
