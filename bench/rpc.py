"""Raw JSON-RPC clients for MCP: newline-delimited over a child's stdio, and streamable HTTP with httpx2.

No SDK client: it validates every structured result against its schema, which costs more than the
server's own work and would hide it. Both clients use the 2025-11-25 `initialize` handshake.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import httpx2

PROTOCOL = "2025-11-25"
CLIENT_INFO = {"name": "tracker-bench", "version": "1"}
JSON = dict[str, Any]


class RpcError(RuntimeError):
    pass


def _initialize_params() -> JSON:
    return {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": CLIENT_INFO}


# create_ticket's refusal of a look-alike: the check the bench measures, answering as it should (the bench's
# bug-report titles come from the same words as the data's), so a call like any other, not a failure.
LOOK_ALIKE = "Not filed: it looks like"


def _check(reply: JSON, method: str) -> JSON:
    if "error" in reply:
        raise RpcError(f"{method}: {reply['error']}")
    result = cast(JSON, reply.get("result", {}))
    if result.get("isError") and not _look_alike(result):
        raise RpcError(f"{method}: tool error {result.get('content')}")
    return result


def _look_alike(result: JSON) -> bool:
    content = cast(list[JSON], result.get("content") or [])
    return bool(content) and str(content[0].get("text", "")).startswith(LOOK_ALIKE)


class StdioClient:
    """One MCP server child process, driven over its stdin/stdout."""

    def __init__(self, argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
                 stderr_path: Path | None = None) -> None:  # fmt: skip
        self._stderr = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env, cwd=cwd,
        )  # fmt: skip
        self._next_id = 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _send(self, message: JSON) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")
        self.proc.stdin.flush()

    def request(self, method: str, params: JSON | None = None) -> JSON:
        self._next_id += 1
        rid = self._next_id
        message: JSON = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            message["params"] = params
        self._send(message)
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RpcError(f"{method}: the server closed stdout (exit {self.proc.poll()})")
            reply = cast(JSON, json.loads(line))
            if reply.get("id") == rid:
                return _check(reply, method)

    def notify(self, method: str, params: JSON | None = None) -> None:
        message: JSON = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self._send(message)

    def initialize(self) -> JSON:
        result = self.request("initialize", _initialize_params())
        self.notify("notifications/initialized")
        return result

    def call(self, tool: str, arguments: JSON) -> JSON:
        return self.request("tools/call", {"name": tool, "arguments": arguments})

    def close(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        if not isinstance(self._stderr, int):
            self._stderr.close()


class HttpServer:
    """A child process serving HTTP; its URL is read from the first stderr line naming `serving http://…`."""

    URL = re.compile(r"serving (http://[0-9.]+:\d+)")

    def __init__(self, argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
                 timeout: float = 30.0) -> None:  # fmt: skip
        self.proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env, cwd=cwd)  # fmt: skip
        self.url = self._wait_for_url(timeout)
        # Keep draining stderr so a chatty server never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _wait_for_url(self, timeout: float) -> str:
        assert self.proc.stderr is not None
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline().decode(errors="replace")
            if not line:
                break
            seen.append(line)
            found = self.URL.search(line)
            if found:
                return found.group(1)
        self.close()
        raise RpcError("the HTTP server did not say where it listens:\n" + "".join(seen[-20:]))

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for _ in self.proc.stderr:
            pass

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _parse_body(response: httpx2.Response, rid: int) -> JSON:
    kind = response.headers.get("content-type", "")
    if kind.startswith("application/json"):
        return cast(JSON, response.json())
    if kind.startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:"):
                data = line[5:].strip()
                if data:
                    message = cast(JSON, json.loads(data))
                    if message.get("id") == rid:
                        return message
        raise RpcError(f"no reply with id {rid} in the event stream")
    raise RpcError(f"unexpected reply {response.status_code} {kind}: {response.text[:200]}")


class HttpClient:
    """One MCP session over streamable HTTP (POST only; replies as JSON or a short SSE stream)."""

    def __init__(self, client: httpx2.AsyncClient, url: str, token: str | None = None) -> None:
        self._client = client
        self._url = url.rstrip("/") + "/mcp"
        self._headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
        if token:
            self._headers["authorization"] = f"Bearer {token}"
        self._next_id = 0

    async def _post(self, message: JSON) -> httpx2.Response:
        body = json.dumps(message, separators=(",", ":")).encode()
        response = await self._client.post(self._url, content=body, headers=self._headers)
        if response.status_code >= 400:
            raise RpcError(f"HTTP {response.status_code}: {response.text[:300]}")
        return response

    async def request(self, method: str, params: JSON | None = None) -> JSON:
        self._next_id += 1
        message: JSON = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params is not None:
            message["params"] = params
        response = await self._post(message)
        return _check(_parse_body(response, self._next_id), method)

    async def initialize(self) -> JSON:
        self._next_id += 1
        message: JSON = {"jsonrpc": "2.0", "id": self._next_id, "method": "initialize", "params": _initialize_params()}
        response = await self._post(message)
        result = _check(_parse_body(response, self._next_id), "initialize")
        session = response.headers.get("mcp-session-id")
        if session:
            self._headers["mcp-session-id"] = session
        self._headers["mcp-protocol-version"] = PROTOCOL
        await self._post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return result

    async def call(self, tool: str, arguments: JSON) -> JSON:
        return await self.request("tools/call", {"name": tool, "arguments": arguments})


def rss_kib(pid: int) -> int:
    """Resident set size of a process in KiB, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RpcError(f"no VmRSS for {pid}")


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env
