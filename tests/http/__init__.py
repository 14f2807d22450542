"""The HTTP front end: the REST dialects, auth, the board, MCP over HTTP, mostly in process."""
