"""A raw JSON-RPC peer for a real tickets-mcp process over stdio: exact bytes in, every stdout line kept.

The SDK client hides framing and drops what it cannot parse; tests about the wire itself need to see it all.
Two threads drain stdout and stderr so the pipes never fill, and a watchdog kills a server that outlives its
deadline, so a hang fails the test instead of blocking it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from types import TracebackType
from typing import IO, Any, Self, cast

LEGACY_PROTOCOL = "2025-11-25"
JSON = dict[str, Any]


def id_key(request_id: object) -> str:
    """One key per JSON-RPC id as the wire spells it: 5 and "5" are different ids."""
    return json.dumps(request_id, sort_keys=True)


class RawServer:
    """`python -m tickets_mcp` (or another command) with its three pipes, driven line by line."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        deadline: float = 60.0,
        stdin: int | None = subprocess.PIPE,
        command: Sequence[str] = (sys.executable, "-m", "tickets_mcp"),
    ) -> None:
        self.stdout_lines: list[bytes] = []
        self.messages: list[JSON] = []
        self.sent_ids: list[object] = []  # ids of the requests sent through request()
        self.killed_by_watchdog = False
        self._stderr = bytearray()
        self._responses: dict[str, list[JSON]] = {}
        self._changed = threading.Condition()
        self._stdout_closed = False
        self._closed = False
        self._next_id = 0
        self._process = subprocess.Popen(
            list(command),
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
        )
        assert self._process.stdout is not None
        assert self._process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read_stdout, args=(self._process.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(self._process.stderr,), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        self._watchdog = threading.Timer(deadline, self._kill_on_deadline)
        self._watchdog.daemon = True
        self._watchdog.start()

    # Reading

    def _read_stdout(self, pipe: IO[bytes]) -> None:
        for line in pipe:
            try:
                parsed: object = json.loads(line)
            except ValueError:
                parsed = None
            with self._changed:
                self.stdout_lines.append(line)
                if isinstance(parsed, dict):
                    message = cast(JSON, parsed)
                    self.messages.append(message)
                    if "id" in message and ("result" in message or "error" in message):
                        self._responses.setdefault(id_key(message["id"]), []).append(message)
                self._changed.notify_all()
        with self._changed:
            self._stdout_closed = True
            self._changed.notify_all()

    def _read_stderr(self, pipe: IO[bytes]) -> None:
        while chunk := os.read(pipe.fileno(), 65536):
            with self._changed:
                self._stderr += chunk

    def _kill_on_deadline(self) -> None:
        self.killed_by_watchdog = True
        self._process.kill()

    @property
    def stderr(self) -> str:
        with self._changed:
            return self._stderr.decode("utf-8", errors="replace")

    def responses(self, request_id: object) -> list[JSON]:
        with self._changed:
            return list(self._responses.get(id_key(request_id), []))

    def all_responses(self) -> dict[str, list[JSON]]:
        with self._changed:
            return {key: list(value) for key, value in self._responses.items()}

    def wait_for(self, request_ids: list[object], timeout: float = 20.0) -> None:
        """Block until every id has a response; fail with the server's stderr if that takes too long."""
        keys = [id_key(request_id) for request_id in request_ids]

        def ready() -> bool:
            return self._stdout_closed or all(key in self._responses for key in keys)

        with self._changed:
            self._changed.wait_for(ready, timeout)
            missing = [key for key in keys if key not in self._responses]
        if missing:
            raise AssertionError(
                f"no response to {len(missing)} requests (first: {missing[:5]}); "
                f"alive={self.alive} watchdog={self.killed_by_watchdog}\nstderr tail:\n{self.stderr[-3000:]}"
            )

    def response(self, request_id: object, timeout: float = 20.0) -> JSON:
        self.wait_for([request_id], timeout)
        return self.responses(request_id)[0]

    # Writing

    def send_line(self, line: bytes) -> None:
        """Write one line as is (a newline is appended)."""
        stdin = self._process.stdin
        assert stdin is not None, "stdin is not a pipe"
        stdin.write(line + b"\n")
        stdin.flush()

    def send(self, message: JSON) -> None:
        self.send_line(json.dumps(message).encode())

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def request(self, method: str, params: JSON | None = None, *, request_id: object = None) -> object:
        """Send a request and return its id without waiting."""
        rid = self.new_id() if request_id is None else request_id
        self.sent_ids.append(rid)
        message: JSON = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return rid

    def call(self, method: str, params: JSON | None = None, timeout: float = 20.0) -> JSON:
        return self.response(self.request(method, params), timeout)

    def notify(self, method: str, params: JSON | None = None) -> None:
        message: JSON = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def initialize(self, client_name: str = "raw-test") -> JSON:
        """The handshake of 2025-11-25 and earlier clients; returns the initialize result."""
        reply = self.call(
            "initialize",
            {
                "protocolVersion": LEGACY_PROTOCOL,
                "capabilities": {},
                "clientInfo": {"name": client_name, "version": "1"},
            },
        )
        assert "result" in reply, reply
        self.notify("notifications/initialized")
        return cast(JSON, reply["result"])

    def call_tool(self, name: str, arguments: JSON, timeout: float = 20.0) -> JSON:
        reply = self.call("tools/call", {"name": name, "arguments": arguments}, timeout)
        assert "result" in reply, reply
        return cast(JSON, reply["result"])

    # Lifetime

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    def close(self, timeout: float = 10.0) -> int:
        """Close stdin (EOF asks the server to stop), wait for it, join the readers, close every pipe."""
        self._closed = True
        try:
            if self._process.stdin is not None and not self._process.stdin.closed:
                with suppress(BrokenPipeError):
                    self._process.stdin.close()
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
                raise AssertionError(f"tickets-mcp did not exit within {timeout}s of EOF on stdin") from None
        finally:
            self._watchdog.cancel()
            if self._process.poll() is None:
                self._process.kill()
                self._process.wait()
            end = time.monotonic() + timeout
            for reader in self._readers:
                reader.join(max(0.0, end - time.monotonic()))
            for pipe in (self._process.stdout, self._process.stderr):
                if pipe is not None:
                    pipe.close()
        assert self._process.returncode is not None
        return self._process.returncode

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._closed:
            try:
                self.close()
            except AssertionError:
                if exc is None:
                    raise


def is_jsonrpc_message(message: object) -> bool:
    """A JSON-RPC 2.0 response (result or error, with an id) or a request/notification (a method)."""
    if not isinstance(message, dict):
        return False
    m = cast(JSON, message)
    if m.get("jsonrpc") != "2.0":
        return False
    if "method" in m:
        return isinstance(m["method"], str) and "result" not in m and "error" not in m
    if "id" not in m:
        return False
    if "result" in m:
        return "error" not in m
    error = m.get("error")
    if not isinstance(error, dict):
        return False
    err = cast(JSON, error)
    return isinstance(err.get("code"), int) and isinstance(err.get("message"), str)
