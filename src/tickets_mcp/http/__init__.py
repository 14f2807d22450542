"""The network front end: one ASGI app with MCP over HTTP/SSE and the REST dialects of the seeds.

Imported only by `tickets-mcp serve`; it needs the `serve` extra (FastAPI).
"""
