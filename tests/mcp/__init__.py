"""The MCP front end: tools, arguments, resources, exposure, in memory."""
