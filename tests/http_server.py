"""A real `tickets-mcp serve` process on a free loopback port, for tests whose subject is the process.

Tests of what the app answers use tests/asgi_server.py's `serving_app` instead: the same interface
(`Served`, below), in this process, in milliseconds rather than about a second.

    with running_server(store_location) as server:            # a SQLite Path or a PostgresUrl
        token = server.create_token("--user", "alice")        # tickets-mcp --db DB token create --user alice
        with server.client(headers=bearer(token)) as http:
            http.get("/api/v1/...")

The server binds port 0 and announces its URL on stderr, so parallel test runs never race for a port.
The database starts with user `alice`, owner of organization `Local` with project `INBOX` (the default
workspace). `server.cli(...)` runs any other admin command against the same store while the server
runs, in this process: `server.cli("user", "add", "bob")`, `server.cli("member", "set", "local", "bob", "reporter")`.

On leaving the block the server gets SIGTERM and must exit within `stop_timeout` seconds; the block
fails with the server's stderr if it does not, or if it never became ready. Starting one takes about
a second, so share one per module where the tests allow it:

    @pytest.fixture(scope="module")
    def server(module_store_location: Location) -> Iterator[ServerProcess]:   # once per store (conftest.py)
        with running_server(module_store_location) as process:
            yield process

Extra arguments go to `serve`: `running_server(db, "--public-url", "https://tracker.example.com")`.
Mark tests that use it `@pytest.mark.slow`. The server speaks plain HTTP, so its clients do not verify:
there is no certificate to check, and a verifying httpx2 client loads the CA bundle when it is made
(about 25 ms each).
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from typing import Any, TypeVar

import anyio
import httpx2

from tests.stores import Location, location_arg
from tickets_mcp.cli.main import administer, one_line, parser
from tickets_mcp.config import Settings
from tickets_mcp.errors import TrackerError
from tickets_mcp.stores import Store
from tickets_mcp.stores.factory import open_store

USERNAME = "alice"
READY_LINE = re.compile(r"serving (http://\S+?:\d+)")
T = TypeVar("T")
READY_PATH = "/healthz"  # answers once the app serves, needing no token and no database
CLI_TIMEOUT = 60.0


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Served(ABC):
    """What a served tracker offers a test, in its own process (ServerProcess) or in this one
    (tests/asgi_server.py's AppServer): its URL, clients pointed at it, and the admin CLI on its store."""

    def __init__(self, db: Location, url: str) -> None:
        self.db = db
        self.url = url
        self.token_ids: dict[str, int] = {}  # secret -> id, for the tokens create_token made

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"

    @abstractmethod
    def client(self, *, timeout: float = 30.0, **options: Any) -> httpx2.Client:
        """A client for the server at `base_url`; `options` go to httpx2."""

    @abstractmethod
    def async_client(self, *, timeout: float = 30.0, **options: Any) -> httpx2.AsyncClient:
        """An async client for the server at `base_url`; `options` go to httpx2."""

    @abstractmethod
    def seed(self, seed: Callable[[Store], Awaitable[T]]) -> T:
        """`await seed(store)` on the server's store, e.g. to add a test's users; returns what it returns."""

    def run_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`tickets-mcp --db DB ARGS...` for an admin command on the server's store; fails with its message
        unless it succeeds.

        It runs in this process, as the CLI's own `administer` on a worker thread (it calls `anyio.run`,
        which a thread already running a loop may not), where a process would cost half a second of
        interpreter start-up; `main` is not called, since it configures the root logger of the process.
        """
        command = parser().parse_args(["--db", location_arg(self.db), *args])
        out, err = io.StringIO(), io.StringIO()

        def run() -> int:
            with redirect_stdout(out), redirect_stderr(err):
                try:
                    return administer(Settings(db=self.db, username=USERNAME), command)
                except TrackerError as exc:  # as main() says it: one line, exit status 2
                    print(f"tickets-mcp: {one_line(exc)}", file=err)
                    return 2

        with ThreadPoolExecutor(1, thread_name_prefix="tickets-mcp-cli") as worker:
            code = worker.submit(run).result(CLI_TIMEOUT)
        if code != 0:
            raise AssertionError(f"tickets-mcp {' '.join(args)} failed ({code}):\n{err.getvalue()}")
        return subprocess.CompletedProcess(["tickets-mcp", *args], code, out.getvalue(), err.getvalue())

    def cli(self, *args: str) -> str:
        """Run an admin command, e.g. cli("member", "set", "local", "bob", "reporter"); returns its stdout."""
        return self.run_cli(*args).stdout

    def create_token(self, *args: str) -> str:
        """`tickets-mcp token create ARGS...`; returns the secret, e.g. create_token("--user", "alice")."""
        done = self.run_cli("token", "create", *args)
        secret = done.stdout.strip()
        found = re.search(r"token (\d+) created", done.stderr)
        assert found is not None, done.stderr
        self.token_ids[secret] = int(found.group(1))
        return secret

    def revoke_token(self, secret: str) -> None:
        """`tickets-mcp token revoke ID` for a token create_token made."""
        self.cli("token", "revoke", str(self.token_ids[secret]))


class ServerProcess(Served):
    """One running `tickets-mcp serve`; `url` is its base URL, e.g. http://127.0.0.1:41234."""

    def __init__(self, db: Location, args: Sequence[str], env: Mapping[str, str]) -> None:
        super().__init__(db, "")
        self.env = dict(env)
        self._stderr = bytearray()
        self._lock = threading.Lock()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tickets_mcp", "--db", location_arg(db), "serve", "--port", "0", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=self.env,
        )
        self._reader = threading.Thread(target=self._read_stderr, name="serve-stderr", daemon=True)
        self._reader.start()

    def _read_stderr(self) -> None:
        stderr = self.process.stderr
        assert stderr is not None
        while chunk := os.read(stderr.fileno(), 65536):
            with self._lock:
                self._stderr += chunk

    @property
    def stderr(self) -> str:
        with self._lock:
            return self._stderr.decode(errors="replace")

    def wait_ready(self, timeout: float) -> None:
        """Wait for the announced URL, then until the server answers HTTP; fail with its stderr otherwise."""
        deadline = time.monotonic() + timeout
        while not self.url:
            if (found := READY_LINE.search(self.stderr)) is not None:
                self.url = found.group(1)
            elif self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"tickets-mcp serve did not start (exit {self.process.poll()}):\n{self.stderr}")
            else:
                time.sleep(0.02)  # polling for readiness, not synchronising work
        with httpx2.Client(timeout=2.0, verify=False) as client:
            while True:
                try:
                    if client.get(self.url + READY_PATH).status_code == 200:
                        return
                except httpx2.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"tickets-mcp serve at {self.url} does not answer:\n{self.stderr}")
                time.sleep(0.02)

    def client(self, *, timeout: float = 30.0, **options: Any) -> httpx2.Client:
        # Plain HTTP: nothing to verify, and a verifying client loads the CA bundle when made (25 ms).
        return httpx2.Client(base_url=self.url, verify=False, timeout=timeout, **options)

    def async_client(self, *, timeout: float = 30.0, **options: Any) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(base_url=self.url, verify=False, timeout=timeout, **options)

    def seed(self, seed: Callable[[Store], Awaitable[T]]) -> T:
        async def opened() -> T:  # beside the server, as an admin command would be
            store = await open_store(self.db)
            try:
                return await seed(store)
            finally:
                await store.close()

        return anyio.run(opened)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Send `sig` and wait for the exit; kills and fails if the server outlives `timeout`."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"tickets-mcp serve ignored {sig.name} for {timeout} s:\n{self.stderr}") from None
        finally:
            self._reader.join(5.0)
            if self.process.stderr is not None:
                self.process.stderr.close()
        return code


def server_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS_")}
    env.update({"TICKETS_USER": USERNAME, "PYTHONUNBUFFERED": "1", **(extra or {})})
    return env


@contextmanager
def running_server(
    db: Location,
    *args: str,
    env: Mapping[str, str] | None = None,
    start_timeout: float = 30.0,
    stop_timeout: float = 15.0,
) -> Generator[ServerProcess]:
    """`tickets-mcp --db DB serve --port 0 ARGS...`, ready to answer; stopped with SIGTERM afterwards."""
    server = ServerProcess(db, args, server_env(env))
    try:
        server.wait_ready(start_timeout)
        yield server
    finally:
        server.stop(timeout=stop_timeout)
