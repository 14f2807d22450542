"""The MCP front end: tools, resources and prompts over a Tracker, served on stdio or over HTTP."""
