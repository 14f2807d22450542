"""The `tickets-mcp` command. With no arguments it serves MCP over stdio on the embedded store."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from anyio import CancelScope

from tickets_mcp import __version__, logs
from tickets_mcp.cli import webhook_commands
from tickets_mcp.config import (
    DB_FILE_NAME,
    ENV_BACKEND,
    ENV_DB,
    ENV_LOG_LEVEL,
    ENV_POOL_SIZE,
    ENV_SYNCHRONOUS,
    ENV_TOKEN,
    ENV_TOKEN_FILE,
    ENV_URL,
    ENV_USER,
    REMOTE_BACKENDS,
    Settings,
    default_data_dir,
)
from tickets_mcp.core.access import ENV_TIER, Tier
from tickets_mcp.domain import Role
from tickets_mcp.domain.webhooks import ENV_WEBHOOK_NETWORKS
from tickets_mcp.errors import Invalid, NotFound, TrackerError
from tickets_mcp.http.settings import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    ENV_ALLOWED_HOSTS,
    ENV_HOST,
    ENV_PORT,
    ENV_PUBLIC_URL,
    ENV_RATE_LIMIT,
    ServeSettings,
)
from tickets_mcp.mcp.exposure import ENV_TOOLS, TOOLSET_NAMES

BANNER = """\
tickets-mcp {version}: a ticket tracker for AI agents, speaking MCP (JSON-RPC) on stdin/stdout.
Database: {db}

This process is meant to be started by an MCP client, not typed at. Add it to yours, e.g.:
  Claude Code:    claude mcp add tracker -- tickets-mcp
  Claude Desktop: {{"mcpServers": {{"tracker": {{"command": "tickets-mcp"}}}}}}
More: tickets-mcp --help. Press Ctrl+C (or Ctrl+D) to quit.
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tickets-mcp",
        description="A ticket tracker for AI agents. With no command, serves MCP over stdio.",
        epilog=f"Environment: {ENV_DB} (database path or postgresql:// URL), {ENV_SYNCHRONOUS} (full|normal), "
        f"{ENV_USER} (local username), {ENV_LOG_LEVEL} (stderr log level), {ENV_POOL_SIZE} (PostgreSQL connections); "
        "the flags above name their own.",
    )
    p.add_argument("--version", action="version", version=f"tickets-mcp {__version__}")
    p.add_argument(
        "--db",
        help=f"SQLite database file (default: {default_data_dir() / DB_FILE_NAME}), or a postgresql:// URL for a "
        'PostgreSQL database (needs pip install "tickets-mcp[postgres]")',
    )
    p.add_argument(
        "--sqlite-synchronous",
        choices=["full", "normal"],
        help="full (default): every acknowledged write is on disk; normal: faster, may lose the last "
        "writes on power loss",
    )
    p.add_argument(
        "--backend",
        choices=["local", *REMOTE_BACKENDS],
        help=f"local (default): the store named by --db; or serve the tools in front of a remote tracker's "
        f"REST API at --url (env {ENV_BACKEND})",
    )
    p.add_argument("--url", help=f"the remote tracker's base URL, e.g. https://tracker.example.com (env {ENV_URL})")
    p.add_argument(
        "--token-file",
        metavar="PATH",
        help=f"a file holding the remote tracker's API token (else env {ENV_TOKEN}, or {ENV_TOKEN_FILE} naming a file)",
    )
    # A token on the command line is readable by every user of the machine (ps): refused, never used.
    p.add_argument("--token", help=argparse.SUPPRESS)
    p.add_argument(
        "--tier",
        choices=[tier.label for tier in Tier],
        help=f"read-only: no tool that changes anything; no-delete: no delete tools; full (default) (env {ENV_TIER})",
    )
    p.add_argument(
        "--tools",
        metavar="SETS",
        help=f"the tool sets to show, comma-separated: {', '.join(TOOLSET_NAMES)}, or all; default: every one but "
        f"bulk; get_workspace_context is always there (env {ENV_TOOLS})",
    )
    p.add_argument(
        "--webhook-allow-network",
        action="append",
        metavar="CIDR",
        help=f"also let webhooks reach this network (repeatable), e.g. 10.1.2.0/24; loopback and private addresses "
        f"are refused otherwise (env {ENV_WEBHOOK_NETWORKS}, comma-separated)",
    )
    p.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], help="stderr log level")
    p.add_argument(
        "--log-format",
        choices=["text", "json"],
        help=f"stderr log lines as text (default) or one JSON object per line (env {logs.ENV_LOG_FORMAT})",
    )
    commands = p.add_subparsers(dest="command")
    commands.add_parser("stdio", help="serve MCP over stdio (the default)")
    serve = commands.add_parser(
        "serve",
        help="serve MCP over HTTP (/mcp, legacy SSE at /sse) and the REST API; every request needs a token "
        "(or an OAuth sign-in)",
        description="Serve MCP over streamable HTTP at /mcp (legacy SSE at /sse) and the REST API at /api/v1. "
        "Every request needs a token: tickets-mcp token create --user NAME, or one a client gets by signing in "
        "through OAuth (with an https:// --public-url, or on loopback). Needs the serve extra: "
        'pip install "tickets-mcp[serve]".',
    )
    serve.add_argument("--host", help=f"address to listen on (default {DEFAULT_HOST}; env {ENV_HOST})")
    serve.add_argument("--port", type=int, help=f"port (default {DEFAULT_PORT}, 0 picks a free one; env {ENV_PORT})")
    serve.add_argument(
        "--public-url",
        help=f"the URL clients use, e.g. https://tracker.example.com behind a proxy; its host is accepted, the "
        f"board takes forms posted from it, and tokenless board access from this machine is off (env {ENV_PUBLIC_URL})",
    )
    serve.add_argument(
        "--allow-host",
        action="append",
        metavar="NAME",
        help=f"another host name clients may use, e.g. a LAN name (repeatable; env {ENV_ALLOWED_HOSTS}, "
        "comma-separated)",
    )
    serve.add_argument(
        "--allow-query-token",
        action="store_true",
        help="also accept ?private_token= on REST routes (off by default: URLs end up in logs)",
    )
    serve.add_argument(
        "--rate-limit",
        metavar="N/PERIOD",
        help=f"requests each token may make, e.g. 120/min, 5/s or 1000/h; over it a tool call gets an error with "
        f"the wait and REST a 429 (default off; env {ENV_RATE_LIMIT})",
    )
    serve.add_argument(
        "--metrics-public",
        action="store_true",
        help="let anyone read /metrics (by default only loopback clients and callers with a valid token)",
    )
    tickets = commands.add_parser("tickets", help="read tickets in the terminal: list, show, board", add_help=False)
    tickets.add_argument("-h", "--help", action="store_true", dest="tickets_help")  # answered by cli_tickets
    tickets.add_argument("rest", nargs=argparse.REMAINDER, help="list, show or board; --help tells more")
    commands.add_parser("migrate", help="create or upgrade the database schema, then exit")
    commands.add_parser("info", help="print the database path and schema version")
    doctor = commands.add_parser(
        "doctor", help="check that --backend/--url and the token work: who it acts as, its projects, what it cannot do"
    )
    # Also after the command (`tickets-mcp doctor --backend redmine --url …`), as people type it.
    doctor.add_argument(
        "--backend", choices=["local", *REMOTE_BACKENDS], default=argparse.SUPPRESS, help="the tracker to check"
    )
    doctor.add_argument("--url", default=argparse.SUPPRESS, help="its address")
    doctor.add_argument(
        "--token-file", metavar="PATH", default=argparse.SUPPRESS, help=f"a file holding its token (else {ENV_TOKEN})"
    )
    doctor.add_argument("--token", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    backup = commands.add_parser(
        "backup", help="write a consistent backup of the live tracker to a new file (SQLite copy or pg_dump)"
    )
    backup.add_argument("dest", type=Path, help="the backup file to write; never overwritten")
    restore = commands.add_parser("restore", help="restore a backup into --db, which must hold no tracker yet")
    restore.add_argument("source", type=Path, help="a file written by `tickets-mcp backup`")

    users = commands.add_parser("user", help="manage users").add_subparsers(dest="action", required=True)
    user_add = users.add_parser("add", help="add a user")
    user_add.add_argument("username")
    user_add.add_argument("--name", help="display name")

    orgs = commands.add_parser("org", help="manage organizations").add_subparsers(dest="action", required=True)
    org_add = orgs.add_parser("add", help="add an organization")
    org_add.add_argument("name")
    org_add.add_argument("--owner", required=True, help="username of its first owner")
    orgs.add_parser("list", help="list organizations and their default projects")
    org_default = orgs.add_parser(
        "default-project", help="choose the project that tickets filed without naming one go to"
    )
    org_default.add_argument("organization")
    org_default.add_argument("project", help="project code, number, name or id")

    members = commands.add_parser("member", help="manage memberships").add_subparsers(dest="action", required=True)
    member_set = members.add_parser("set", help="add a member or change a member's role")
    member_set.add_argument("organization")
    member_set.add_argument("username")
    member_set.add_argument("role", choices=[r.value for r in Role])
    member_remove = members.add_parser("remove", help="remove a member")
    member_remove.add_argument("organization")
    member_remove.add_argument("username")
    member_list = members.add_parser("list", help="list an organization's members")
    member_list.add_argument("organization")

    tokens = commands.add_parser("token", help="manage API tokens").add_subparsers(dest="action", required=True)
    token_create = tokens.add_parser("create", help="create a token; it is shown once")
    token_create.add_argument("--kind", choices=["personal", "project", "organization"], default="personal")
    token_create.add_argument("--user", required=True, help="the user it acts as (personal) or who creates it")
    token_create.add_argument("--name", default="token", help="a label to recognise it by")
    token_create.add_argument("--organization", help="for an organization key")
    token_create.add_argument("--project", help="for a project token: project code")
    token_create.add_argument("--scopes", default="", help="for an organization key, e.g. tickets:read,tickets:write")
    tokens.add_parser("list", help="list tokens (never their secrets)")
    token_revoke = tokens.add_parser("revoke", help="revoke a token; effective on its next request")
    token_revoke.add_argument("id", type=int)
    grants = commands.add_parser(
        "grant", help="OAuth grants: what each person let a client do (serve's authorization server)"
    ).add_subparsers(dest="action", required=True)
    grant_list = grants.add_parser("list", help="list grants, newest first")
    grant_list.add_argument("--user", help="only this user's")
    grant_revoke = grants.add_parser("revoke", help="revoke a grant and its tokens; effective on their next request")
    grant_revoke.add_argument("id", type=int)
    webhook_commands.add_parser(commands)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.token is not None:
            raise Invalid(
                "token",
                "A token on the command line is readable by every user of this machine (ps), so it is not used.",
                hint=f"Set {ENV_TOKEN}, or write it to a file and pass --token-file.",
            )
        settings = Settings.from_env(
            db=args.db,
            synchronous=args.sqlite_synchronous,
            log_level=args.log_level,
            backend=args.backend,
            url=args.url,
            token_file=args.token_file,
            tier=args.tier,
            tools=args.tools,
            webhook_networks=args.webhook_allow_network,
        )
        logs.configure(settings.log_level, logs.log_format_from(args.log_format))
        if args.command in (None, "stdio"):
            return serve_stdio(settings)
        if args.command == "serve":
            return serve_http(settings, args)
        if args.command == "tickets":
            from tickets_mcp.cli.tickets import run

            return run(settings, ["--help"] if args.tickets_help else args.rest)
        if args.command == "migrate":
            return migrate(settings)
        if args.command == "info":
            return info(settings)
        if args.command == "doctor":
            from tickets_mcp.cli.doctor import doctor

            return doctor(settings)
        if args.command in ("backup", "restore"):
            return backup_or_restore(settings, args)
        return administer(settings, args)
    except TrackerError as exc:
        logs.announce(f"tickets-mcp: {one_line(exc)}", logging.ERROR)
        return 2
    except BaseExceptionGroup as group:
        # A failure at start inside the stdio server (a remote tracker refusing the token, say)
        # arrives wrapped in the SDK's task group: shown as the one line it is, not as a traceback.
        failure = _single_failure(group)
        if not isinstance(failure, TrackerError):
            raise
        logs.announce(f"tickets-mcp: {one_line(failure)}", logging.ERROR)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `tickets-mcp … | head -1`: the reader has what it wanted. Output that cannot be flushed goes nowhere,
        # not into a traceback, and the exit status is a shell's for SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def one_line(exc: BaseException) -> str:
    """An error as one line: a driver's message may hold several (psycopg's "\n\tIs the server running…")."""
    return " ".join(str(exc).split())


def _single_failure(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one exception a group wraps (through nested groups of one), else the group itself."""
    inner: tuple[BaseException, ...] = group.exceptions
    while len(inner) == 1:
        only = inner[0]
        if not isinstance(only, BaseExceptionGroup):
            return only
        inner = cast(BaseExceptionGroup[BaseException], only).exceptions
    return group


def serve_stdio(settings: Settings) -> int:
    if sys.stdin.isatty():
        print(BANNER.format(version=__version__, db=settings.db), file=sys.stderr, flush=True)
    from contextlib import nullcontext

    import anyio

    from tickets_mcp.cli.workspace import open_backend
    from tickets_mcp.mcp.server import build_server

    interrupted = threading.Event()

    async def run() -> None:
        # Opened before stdin is read: the SDK reads stdin on a worker thread that nothing interrupts,
        # so a failure at start inside the server would wait for the client's next line or EOF.
        async with open_backend(settings) as backend, anyio.create_task_group() as tasks:
            tasks.start_soon(_stop_on_interrupt, tasks.cancel_scope, interrupted)
            await build_server(settings, lambda: nullcontext(backend)).run_stdio_async()
            tasks.cancel_scope.cancel()

    try:
        anyio.run(run)
    except BaseExceptionGroup:
        if not interrupted.is_set():
            raise
        # Ctrl-C with calls in flight: the SDK's stream readers and writers break as the server stops,
        # and their errors are the interrupt's echo, not a failure to show as a traceback.
    return 130 if interrupted.is_set() else 0


async def _stop_on_interrupt(scope: CancelScope, interrupted: threading.Event) -> None:
    """Ctrl-C (SIGINT) stops the server by cancelling it, as asyncio would, and is noted for the exit code."""
    import anyio

    with anyio.open_signal_receiver(signal.SIGINT) as signals:
        async for _ in signals:
            interrupted.set()
            scope.cancel()
            return


def serve_http(settings: Settings, args: argparse.Namespace) -> int:
    serve_settings = ServeSettings.from_env(
        settings,
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        allowed_hosts=args.allow_host,
        allow_query_token=args.allow_query_token,
        metrics_public=args.metrics_public,
        rate_limit=args.rate_limit,
    )
    try:
        from tickets_mcp.http.app import serve
    except ModuleNotFoundError as exc:
        if exc.name not in ("fastapi", "uvicorn", "starlette", "prometheus_client"):
            raise
        logs.announce(f'tickets-mcp serve needs {exc.name}: pip install "tickets-mcp[serve]"', logging.ERROR)
        return 2
    import anyio

    from tickets_mcp.cli.servers import http_app, prepare_store

    anyio.run(prepare_store, serve_settings)  # a database we refuse fails here, as a message rather than a traceback
    serve(serve_settings, http_app)
    return 0


def administer(settings: Settings, args: argparse.Namespace) -> int:
    import anyio

    from tickets_mcp.cli.workspace import open_local_store
    from tickets_mcp.core import admin
    from tickets_mcp.core.oauth import LocalOAuth
    from tickets_mcp.domain import TokenKind
    from tickets_mcp.domain.text import clean_name

    kinds = {"personal": TokenKind.PERSONAL, "project": TokenKind.PROJECT, "organization": TokenKind.ORGANIZATION}

    async def run() -> None:
        store, _ = await open_local_store(settings)
        try:
            match (args.command, args.action):
                case ("user", "add"):
                    added = await admin.add_user(store, args.username, args.name)
                    print(f"user {added.username} (id {added.id})")
                case ("org", "add"):
                    org = await admin.add_organization(store, args.name, args.owner)
                    print(f"organization {org.slug} {org.name!r} id={org.id}")
                case ("org", "list"):
                    organizations = await store.all_organizations()
                    projects = await store.list_projects([o.id for o in organizations], counts=False)
                    defaults = {p.organization_id: p.code for p in projects if p.default}
                    for org in organizations:
                        print(f"{org.slug}\t{org.name}\t{org.id}\tdefault={defaults.get(org.id, '')}")
                case ("org", "default-project"):
                    chosen = await admin.set_default_project(store, args.organization, args.project)
                    print(f"{chosen.code} is the default project of {args.organization}")
                case ("member", "set"):
                    await admin.set_member(store, args.organization, args.username, Role(args.role))
                    print(f"{args.username} is {args.role} of {args.organization}")
                case ("member", "remove"):
                    await admin.remove_member(store, args.organization, args.username)
                    print(f"{args.username} removed from {args.organization}")
                case ("member", "list"):
                    org = await admin.organization(store, args.organization)
                    for member in await store.members(org.id):
                        print(f"{member.user.username}\t{member.role.value}")
                case ("token", "create"):
                    issued = await admin.create_token(
                        store, kind=kinds[args.kind], username=args.user, name=args.name,
                        organization_ref=args.organization, project_ref=args.project, scopes=args.scopes,
                    )  # fmt: skip
                    print(issued.secret)
                    print(f"token {issued.token.id} created; copy it now, it is not shown again", file=sys.stderr)
                case ("token", "list"):
                    for line in admin.describe_tokens(await store.list_tokens()):
                        print(line)
                case (command, _) if command in webhook_commands.COMMANDS:
                    await webhook_commands.run(store, settings, args)
                case ("grant", "list"):
                    for line in admin.describe_tokens(await LocalOAuth(store).grants(args.user)):
                        print(line)
                case ("grant", "revoke"):
                    if not 0 < args.id < 2**63:
                        raise NotFound(f"No grant with id {args.id}.", hint="List grants with: tickets-mcp grant list")
                    revoked = await LocalOAuth(store).revoke_grant(args.id, admin.CLI)
                    print(f"grant {revoked.id} ({clean_name(revoked.name)}) revoked")
                case ("token", "revoke"):
                    if not 0 < args.id < 2**63:  # past any id a store holds, or can even compare
                        raise NotFound(f"No token with id {args.id}.", hint="List tokens with: tickets-mcp token list")
                    revoked = await store.revoke_token(args.id, admin.CLI)
                    print(f"token {revoked.id} ({revoked.prefix}…) revoked")
                case _:
                    raise AssertionError(args)
        finally:
            await store.close()

    anyio.run(run)
    return 0


def migrate(settings: Settings) -> int:
    import anyio

    from tickets_mcp.stores.factory import open_store

    async def run() -> None:
        store = await open_store(settings.db, synchronous=settings.synchronous, pool_size=settings.pool_size)
        await store.close()

    anyio.run(run)
    print(f"Database ready: {settings.db}", file=sys.stderr)
    return 0


def backup_or_restore(settings: Settings, args: argparse.Namespace) -> int:
    from tickets_mcp.stores import backup

    if args.command == "backup":
        print(backup.backup(settings.db, args.dest).describe("Backed up to"))
    else:
        print(backup.restore(args.source, settings.db).describe("Restored"))
    return 0


def info(settings: Settings) -> int:
    import anyio

    from tickets_mcp.stores.factory import schema_versions

    version, latest = anyio.run(schema_versions, settings.db)
    print(f"tickets-mcp {__version__}")
    if isinstance(settings.db, Path):
        print(f"database: {settings.db} ({'exists' if settings.db.exists() else 'not created yet'})")
    else:
        print(f"database: {settings.db}")
    print(f"schema version: {version} (this build: {latest})")
    return 0
