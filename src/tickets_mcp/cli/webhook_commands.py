"""`tickets-mcp webhook …`: an organization's webhooks from the command line (docs/webhooks.md).

Like the other admin commands, they act with the full power of whoever can open the database, and the audit
trail records them as done by the command line.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser is built on every start, stdio's too: what the commands use loads when they run
    from tickets_mcp.config import Settings
    from tickets_mcp.stores import Store

COMMANDS = ("webhook", "webhooks")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    hooks = commands.add_parser(
        COMMANDS[0],
        aliases=list(COMMANDS[1:]),
        help="manage webhooks: an organization's ticket events POSTed to a URL, signed",
        description="Webhooks send an organization's ticket events (created, updated, moved, commented, deleted) "
        "to a URL, signed with the hook's secret; `serve` delivers them. See docs/webhooks.md.",
    ).add_subparsers(dest="action", required=True)
    add = hooks.add_parser("add", help="add a webhook; its secret is shown once")
    add.add_argument("organization", help="organization slug, id or name")
    add.add_argument("url", help="where to POST, e.g. https://ci.example.com/hooks/tickets")
    add.add_argument(
        "--events", default="all", help="comma-separated: created, updated, moved, commented, deleted; default all"
    )
    add.add_argument("--description", default="", help="what it is for, shown in listings")
    listing = hooks.add_parser("list", help="list webhooks (never their secrets)")
    listing.add_argument("--organization", help="only this organization's")
    for action, text in (
        ("remove", "remove a webhook"),
        ("enable", "enable a disabled webhook, or try a failing one now"),
    ):
        hooks.add_parser(action, help=text).add_argument("id", type=int)
    log = hooks.add_parser("log", help="a webhook's latest delivery attempts, newest first")
    log.add_argument("id", type=int)
    log.add_argument("--limit", type=int, default=20, help="how many (1-100, default 20)")
    hooks.add_parser(
        "deliver", help="send what is due once (for cron where no serve runs): queue new events, deliver, exit"
    )


async def run(store: Store, settings: Settings, args: argparse.Namespace) -> None:
    from tickets_mcp.core import admin
    from tickets_mcp.domain.webhooks import attempts_shown

    match args.action:
        case "add":
            issued = await admin.add_webhook(
                store, args.organization, args.url, args.events, args.description, settings.webhook_targets
            )
            print(issued.secret)
            print(f"webhook {issued.webhook.id} created; copy its secret now, it is not shown again", file=sys.stderr)
        case "list":
            organizations = (
                [await admin.organization(store, args.organization)]
                if args.organization
                else await store.all_organizations()
            )
            for line in admin.describe_webhooks(await store.list_webhooks([o.id for o in organizations])):
                print(line)
        case "remove":
            await admin.webhook(store, args.id)
            removed = await store.delete_webhook(args.id, admin.CLI)
            print(f"webhook {removed.id} ({removed.url}) removed")
        case "enable":
            await admin.webhook(store, args.id)
            enabled = await store.enable_webhook(args.id, admin.CLI)
            print(f"webhook {enabled.id} is active; its next delivery is tried now")
        case "log":
            await admin.webhook(store, args.id)
            for attempt in await store.webhook_attempts(args.id, attempts_shown(args.limit)):
                answer = attempt.error or f"HTTP {attempt.status}"
                print(
                    f"{attempt.at}\t{attempt.event_id}\t{attempt.event.value}\t{attempt.ticket}\t"
                    f"attempt {attempt.attempt}\t{attempt.outcome}\t{answer}\t{attempt.duration_ms} ms"
                )
        case "deliver":
            from tickets_mcp.dispatch.dispatcher import deliver_due

            done = await deliver_due(store, settings.webhook_targets)
            print(f"queued {done.queued} events; {done.attempted} deliveries attempted, {done.delivered} delivered")
        case _:
            raise AssertionError(args.action)
