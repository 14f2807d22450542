"""The SDK floor: a bare MCPServer with one no-op tool, over stdio or streamable HTTP.

`python -m bench.floor` serves stdio; `python -m bench.floor http` serves HTTP on a free port and
prints `serving http://127.0.0.1:PORT:` on stderr, as `tickets-mcp serve` does.
"""

from __future__ import annotations

import socket
import sys

from mcp.server import MCPServer

server = MCPServer("floor")


@server.tool()
async def noop() -> str:
    """Do nothing."""
    return "ok"


def serve_http() -> None:
    import uvicorn

    # IPPROTO_TCP so that asyncio disables Nagle's algorithm on accepted sockets, as for ours.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)  # before announcing the port: a client may connect before uvicorn has started
    port = int(sock.getsockname()[1])
    app = server.streamable_http_app()
    config = uvicorn.Config(app, log_level="warning")
    print(f"floor serving http://127.0.0.1:{port}: MCP at /mcp", file=sys.stderr, flush=True)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    if sys.argv[1:] == ["http"]:
        serve_http()
    else:
        server.run()
