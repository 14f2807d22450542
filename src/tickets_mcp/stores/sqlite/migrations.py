"""Versioned schema migrations, applied at start inside write transactions and recorded in the database.

A database whose recorded version is newer than this code knows is refused before anything is written.
Add a migration by appending to MIGRATIONS; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from tickets_mcp.domain.clock import utc_now
from tickets_mcp.errors import BackendUnavailable
from tickets_mcp.stores.search import COMMENTS_INDEXED, PROJECT_SHIFT
from tickets_mcp.stores.sql.identity_version import WATCHED, watched_events
from tickets_mcp.stores.sql.records import FILL_DEFAULT_PROJECT
from tickets_mcp.stores.sqlite.db import check_location, connect_read_only, run_in_transaction

SQLITE_CORRUPT = 11  # "database disk image is malformed"
SQLITE_NOTADB = 26  # "file is not a database"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


INITIAL = Migration(
    1,
    "initial schema",
    (
        """CREATE TABLE organizations (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            slug TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE COLLATE NOCASE,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE memberships (
            organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'reporter')),
            PRIMARY KEY (organization_id, user_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX memberships_user ON memberships(user_id)",
        """CREATE TABLE projects (
            id TEXT PRIMARY KEY,
            organization_id TEXT NOT NULL REFERENCES organizations(id),
            name TEXT NOT NULL COLLATE NOCASE,
            code TEXT NOT NULL UNIQUE,
            description TEXT NOT NULL DEFAULT '',
            ticket_counter INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            UNIQUE (organization_id, name)
        )""",
        """CREATE TABLE tickets (
            id INTEGER PRIMARY KEY,
            project_id TEXT NOT NULL REFERENCES projects(id),
            number INTEGER NOT NULL,
            type TEXT NOT NULL CHECK (type IN ('bug', 'feature', 'task', 'improvement')),
            title TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL
                CHECK (status IN ('backlog', 'todo', 'in_progress', 'in_review', 'done', 'canceled')),
            priority INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
            assignee_id INTEGER REFERENCES users(id),
            reporter_id INTEGER REFERENCES users(id),
            parent_id INTEGER REFERENCES tickets(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            version INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            closed_at TEXT,
            closed_by_id INTEGER REFERENCES users(id),
            UNIQUE (project_id, number)
        )""",
        "CREATE INDEX tickets_project ON tickets(project_id)",
        "CREATE INDEX tickets_board ON tickets(project_id, status, position)",
        "CREATE INDEX tickets_updated ON tickets(project_id, updated_at)",
        "CREATE INDEX tickets_priority ON tickets(project_id, priority)",
        "CREATE INDEX tickets_assignee ON tickets(assignee_id)",
        "CREATE INDEX tickets_parent ON tickets(parent_id)",
        """CREATE TABLE labels (
            id INTEGER PRIMARY KEY,
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            name TEXT NOT NULL COLLATE NOCASE,
            color TEXT NOT NULL,
            UNIQUE (project_id, name)
        )""",
        """CREATE TABLE ticket_labels (
            ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
            label_id INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
            PRIMARY KEY (ticket_id, label_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX ticket_labels_label ON ticket_labels(label_id, ticket_id)",
        """CREATE TABLE comments (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
            author_id INTEGER REFERENCES users(id),
            body TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX comments_ticket ON comments(ticket_id)",
        # The audit trail outlives what it describes, so it holds ids and the slug, not foreign keys.
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            organization_id TEXT,
            project_id TEXT,
            ticket_id INTEGER,
            subject TEXT NOT NULL,
            action TEXT NOT NULL,
            actor_id INTEGER,
            token_id INTEGER,
            client TEXT,
            changes TEXT NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX events_ticket ON events(ticket_id)",
        "CREATE INDEX events_project ON events(project_id)",
    ),
)

TOKENS = Migration(
    2,
    "tokens",
    (
        # Only a SHA-256 of each token is kept: tokens are 256-bit random strings, so a fast hash is
        # enough (no password stretching needed) and lookups stay one indexed read.
        """CREATE TABLE tokens (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('pk', 'proj', 'amk')),
            name TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            user_id INTEGER NOT NULL REFERENCES users(id),
            organization_id TEXT REFERENCES organizations(id) ON DELETE CASCADE,
            project_id TEXT REFERENCES projects(id) ON DELETE CASCADE,
            scopes TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at TEXT
        )""",
    ),
)

SEARCH = Migration(
    3,
    "indexes for every list filter and sort, trigram full-text search",
    (
        "CREATE INDEX tickets_updated_all ON tickets(updated_at)",
        "CREATE INDEX tickets_priority_all ON tickets(priority)",
        "CREATE INDEX tickets_type ON tickets(project_id, type)",
        "CREATE INDEX tickets_reporter ON tickets(reporter_id)",
        # Most tickets have no parent: counted with the NULLs, statistics would call parent_id useless
        # and a sub-task lookup would scan every ticket. A partial index counts only real parents.
        "DROP INDEX tickets_parent",
        "CREATE INDEX tickets_parent ON tickets(parent_id) WHERE parent_id IS NOT NULL",
        # Substring search over titles and descriptions: a trigram index answers LIKE '%word%'-style
        # queries without reading every ticket. External content: the text lives once, in tickets.
        """CREATE VIRTUAL TABLE tickets_fts USING fts5(
            title, description, content='tickets', content_rowid='id', tokenize='trigram'
        )""",
        "INSERT INTO tickets_fts(tickets_fts) VALUES ('rebuild')",
        """CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
            INSERT INTO tickets_fts(rowid, title, description) VALUES (new.id, new.title, new.description);
        END""",
        """CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN
            INSERT INTO tickets_fts(tickets_fts, rowid, title, description)
            VALUES ('delete', old.id, old.title, old.description);
        END""",
        """CREATE TRIGGER tickets_fts_update AFTER UPDATE OF title, description ON tickets BEGIN
            INSERT INTO tickets_fts(tickets_fts, rowid, title, description)
            VALUES ('delete', old.id, old.title, old.description);
            INSERT INTO tickets_fts(rowid, title, description) VALUES (new.id, new.title, new.description);
        END""",
    ),
)

# What SQLite's planner assumes of the big tables, as ANALYZE would measure them on a tracker of 100k
# tickets in 10 projects. Without statistics it guesses that every index is as selective as any other,
# and over all projects it sorted every ticket instead of walking an index in the asked order. Figures
# of a large tracker keep a small one on the plans that scale; ANALYZE, if a user runs it, replaces
# them with measured ones (a database that already has its own is left alone). Each row: index, rows,
# then the average rows per distinct value of each leading column (https://sqlite.org/fileformat2.html).
PLANNER_STATISTICS = (
    ("tickets", "sqlite_autoindex_tickets_1", "100000 10000 1"),  # (project_id, number)
    ("tickets", "tickets_project", "100000 10000"),
    ("tickets", "tickets_board", "100000 10000 1500 1"),  # (project_id, status, position)
    ("tickets", "tickets_updated", "100000 10000 1"),
    ("tickets", "tickets_priority", "100000 10000 2000"),
    ("tickets", "tickets_type", "100000 10000 2500"),
    ("tickets", "tickets_assignee", "100000 200"),
    ("tickets", "tickets_reporter", "100000 200"),
    ("tickets", "tickets_parent", "10000 5"),  # partial: sub-tasks only
    ("tickets", "tickets_updated_all", "100000 1"),
    ("tickets", "tickets_priority_all", "100000 20000"),
    ("ticket_labels", "ticket_labels", "150000 2 1"),  # (ticket_id, label_id)
    ("ticket_labels", "ticket_labels_label", "150000 3000 1"),
)

STATISTICS = Migration(
    4,
    "planner statistics of a large tracker, until ANALYZE measures the real ones",
    (
        "ANALYZE sqlite_schema",  # creates sqlite_stat1 if need be; reads no table
        "INSERT INTO sqlite_stat1 (tbl, idx, stat) SELECT column1, column2, column3 FROM (VALUES "
        + ", ".join(f"('{table}', '{index}', '{stat}')" for table, index, stat in PLANNER_STATISTICS)
        + ") WHERE NOT EXISTS (SELECT 1 FROM sqlite_stat1 WHERE tbl IN ('tickets', 'ticket_labels'))",
        "ANALYZE sqlite_schema",  # loads them into this connection's planner
    ),
)

IDEMPOTENCY = Migration(
    5,
    "idempotency keys of create_ticket",
    (
        # owner: token:<id> or user:<id>; request: a digest of the fields; ticket: the reply, as JSON.
        """CREATE TABLE idempotency_keys (
            owner TEXT NOT NULL,
            key TEXT NOT NULL,
            request TEXT NOT NULL,
            ticket TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (owner, key)
        ) WITHOUT ROWID""",
        # Forgetting expired keys is one range read of this index, however many keys a token has.
        "CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at)",
    ),
)

# A ticket's comments as one text, cut at COMMENTS_INDEXED; {} is the ticket's id.
_COMMENTS_TEXT = (
    f"coalesce((SELECT substr(group_concat(body, ' '), 1, {COMMENTS_INDEXED})"
    " FROM comments WHERE ticket_id = {}), '')"
)

WORDS = Migration(
    6,
    "ranked full-text search over titles, descriptions and comments",
    (
        # Words, not trigrams: ranked by bm25, and a comment's words find its ticket. One row per ticket,
        # its comments in one column, so every word of a query may come from any of the three.
        "DROP TRIGGER tickets_fts_insert",
        "DROP TRIGGER tickets_fts_delete",
        "DROP TRIGGER tickets_fts_update",
        "DROP TABLE tickets_fts",
        """CREATE VIRTUAL TABLE ticket_search USING fts5(
            title, description, comments, tokenize='unicode61 remove_diacritics 0'
        )""",
        "INSERT INTO ticket_search (rowid, title, description, comments) "
        f"SELECT t.id, t.title, t.description, {_COMMENTS_TEXT.format('t.id')} FROM tickets t",
        """CREATE TRIGGER ticket_search_insert AFTER INSERT ON tickets BEGIN
            INSERT INTO ticket_search (rowid, title, description, comments)
            VALUES (new.id, new.title, new.description, '');
        END""",
        """CREATE TRIGGER ticket_search_update AFTER UPDATE OF title, description ON tickets BEGIN
            UPDATE ticket_search SET title = new.title, description = new.description WHERE rowid = new.id;
        END""",
        """CREATE TRIGGER ticket_search_delete AFTER DELETE ON tickets BEGIN
            DELETE FROM ticket_search WHERE rowid = old.id;
        END""",
        f"""CREATE TRIGGER ticket_search_comment_added AFTER INSERT ON comments BEGIN
            UPDATE ticket_search SET comments = {_COMMENTS_TEXT.format("new.ticket_id")} WHERE rowid = new.ticket_id;
        END""",
        f"""CREATE TRIGGER ticket_search_comment_edited AFTER UPDATE OF body ON comments BEGIN
            UPDATE ticket_search SET comments = {_COMMENTS_TEXT.format("new.ticket_id")} WHERE rowid = new.ticket_id;
        END""",
        f"""CREATE TRIGGER ticket_search_comment_deleted AFTER DELETE ON comments BEGIN
            UPDATE ticket_search SET comments = {_COMMENTS_TEXT.format("old.ticket_id")} WHERE rowid = old.ticket_id;
        END""",
    ),
)

SCOPED_WORDS = Migration(
    7,
    "full-text search scoped to projects inside the index, with a three-letter prefix index",
    (
        # A fourth column holds the ticket's project id without dashes (one word), so a query names the
        # caller's projects inside the MATCH: the index reads only their matches, not every
        # organization's. prefix='3' makes a three-letter prefix one index read (PREFIX_MIN in search.py).
        *(f"DROP TRIGGER ticket_search_{name}" for name in ("insert", "update", "delete")),
        *(f"DROP TRIGGER ticket_search_comment_{name}" for name in ("added", "edited", "deleted")),
        "DROP TABLE ticket_search",
        """CREATE VIRTUAL TABLE ticket_search USING fts5(
            title, description, comments, project, tokenize='unicode61 remove_diacritics 0', prefix='3'
        )""",
        "INSERT INTO ticket_search (rowid, title, description, comments, project) "
        f"SELECT t.id, t.title, t.description, {_COMMENTS_TEXT.format('t.id')}, replace(t.project_id, '-', '') "
        "FROM tickets t",
        """CREATE TRIGGER ticket_search_insert AFTER INSERT ON tickets BEGIN
            INSERT INTO ticket_search (rowid, title, description, comments, project)
            VALUES (new.id, new.title, new.description, '', replace(new.project_id, '-', ''));
        END""",
        """CREATE TRIGGER ticket_search_update AFTER UPDATE OF title, description, project_id ON tickets BEGIN
            UPDATE ticket_search SET title = new.title, description = new.description,
                                     project = replace(new.project_id, '-', '')
            WHERE rowid = new.id;
        END""",
        *WORDS.statements[-4:],  # deleting a ticket and its comments' triggers, unchanged
    ),
)

BOARD_SESSIONS = Migration(
    8,
    "board sessions, so that logging out ends a session on every replica",
    (
        # hash: SHA-256 of the cookie's random value, which alone opens the session, as a token does.
        """CREATE TABLE board_sessions (
            hash TEXT PRIMARY KEY,
            token_id INTEGER NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        ) WITHOUT ROWID""",
        # Forgetting expired sessions is one range read of this index.
        "CREATE INDEX board_sessions_expires ON board_sessions(expires_at)",
    ),
)

# Project codes were one namespace across organizations, so creating one told whether another
# organization used it. SQLite cannot drop a column's UNIQUE, so the table is rebuilt (migrate turns
# foreign keys off around it and checks them before committing); its rows and ids stay as they were.
PROJECT_CODES = Migration(
    9,
    "project codes unique per organization, not across organizations",
    (
        """CREATE TABLE projects_scoped (
            id TEXT PRIMARY KEY,
            organization_id TEXT NOT NULL REFERENCES organizations(id),
            name TEXT NOT NULL COLLATE NOCASE,
            code TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            ticket_counter INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            UNIQUE (organization_id, name),
            UNIQUE (organization_id, code)
        )""",
        "INSERT INTO projects_scoped (id, organization_id, name, code, description, ticket_counter, created_at) "
        "SELECT id, organization_id, name, code, description, ticket_counter, created_at FROM projects",
        "DROP TABLE projects",
        "ALTER TABLE projects_scoped RENAME TO projects",
    ),
)

# Seeds 001 and 002 name a project by an integer (`repository_id`, `project_id`), so each project gets
# one besides its UUID: existing projects numbered in creation order, later ones from a counter that
# only goes up, so a deleted project's number never names another. The trigger numbers every insert
# (a rebuild of the projects table must create it again).
PROJECT_NUMBERS = Migration(
    10,
    "a stable integer per project, for the seed dialects' integer ids",
    (
        "ALTER TABLE projects ADD COLUMN number INTEGER",
        """UPDATE projects SET number = ordered.n
        FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS n FROM projects) AS ordered
        WHERE ordered.id = projects.id""",
        "CREATE UNIQUE INDEX projects_number ON projects(number)",
        "CREATE TABLE project_numbers (last INTEGER NOT NULL)",
        "INSERT INTO project_numbers (last) SELECT COALESCE(MAX(number), 0) FROM projects",
        """CREATE TRIGGER projects_numbered AFTER INSERT ON projects WHEN new.number IS NULL BEGIN
            UPDATE project_numbers SET last = last + 1;
            UPDATE projects SET number = (SELECT last FROM project_numbers) WHERE id = new.id;
        END""",
    ),
)

# A client that names no project (seed 001 files without repository_id) is filed in its organization's
# default project, which an owner may change; existing organizations start with their oldest project.
DEFAULT_PROJECT = Migration(
    11,
    "each organization's default project, for tickets filed without naming one",
    (
        "ALTER TABLE organizations ADD COLUMN default_project_id TEXT REFERENCES projects(id) ON DELETE SET NULL",
        FILL_DEFAULT_PROJECT,
    ),
)

# Seeds 000 and 001 show a ticket's integer id, and a rowid table hands a deleted newest row's id to the
# next insert. The insert takes the id after this mark (one row, read and written by index), and the
# trigger raises the mark on every insert, so an id once used is never used again. The mark starts at
# the largest id there is; an id reused before this migration stays as it was. A rebuild of the tickets
# table must create the trigger again.
TICKET_IDS = Migration(
    12,
    "ticket ids never reused after a delete",
    (
        "CREATE TABLE ticket_ids (last INTEGER NOT NULL)",
        "INSERT INTO ticket_ids (last) SELECT COALESCE(MAX(id), 0) FROM tickets",
        """CREATE TRIGGER tickets_id_mark AFTER INSERT ON tickets WHEN new.id > (SELECT last FROM ticket_ids) BEGIN
            UPDATE ticket_ids SET last = new.id;
        END""",
    ),
)

# delete_ticket on a ticket deleted before answers who deleted it: its entry found by slug in one index
# step, whatever the size of the project's trail.
DELETIONS = Migration(
    13,
    "deletions of tickets found by slug",
    ("CREATE INDEX events_ticket_deleted ON events(project_id, subject) WHERE action = 'ticket.deleted'",),
)

# The indexes PLANNING adds and what SQLite's planner is told of them on a database that still plans
# with migration 4's figures of a large tracker (10 projects of 10k tickets, a few hundred milestones,
# 20k links, 50k time entries). A database whose statistics were measured keeps measured ones.
PLANNING_STATISTICS = (
    ("tickets", "tickets_due", "100000 10000 20"),  # (project_id, due key): most tickets undated
    ("tickets", "tickets_due_all", "100000 20"),
    ("tickets", "tickets_milestone", "20000 70"),  # partial: the tickets in a milestone
    ("ticket_links", "ticket_links", "20000 2 2 1"),  # (from_id, kind, to_id)
    ("ticket_links", "ticket_links_to", "20000 2 2 1"),  # (to_id, kind, from_id)
    ("milestones", "sqlite_autoindex_milestones_1", "300 30 1"),  # (project_id, name)
    ("time_entries", "time_entries_ticket", "50000 3"),
)
_SHIPPED_FIGURES = "EXISTS (SELECT 1 FROM sqlite_stat1 WHERE idx = 'tickets_project' AND stat = '100000 10000')"

# Links, milestones, due dates, estimates and time. A link is kept once, in its stored direction
# (LinkKind.stored); relates_to has no direction, so it is kept from the lower id. Dates are YYYY-MM-DD.
PLANNING = Migration(
    14,
    "links, milestones, due dates, estimates and time spent",
    (
        "ALTER TABLE projects ADD COLUMN estimate_unit TEXT NOT NULL DEFAULT 'hours' "
        "CHECK (estimate_unit IN ('hours', 'points'))",
        """CREATE TABLE milestones (
            id INTEGER PRIMARY KEY,
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            name TEXT NOT NULL COLLATE NOCASE,
            start_date TEXT,
            due_date TEXT,
            closed INTEGER NOT NULL DEFAULT 0 CHECK (closed IN (0, 1)),
            created_at TEXT NOT NULL,
            UNIQUE (project_id, name)
        )""",
        "ALTER TABLE tickets ADD COLUMN due_date TEXT",
        "ALTER TABLE tickets ADD COLUMN estimate REAL",
        "ALTER TABLE tickets ADD COLUMN spent REAL NOT NULL DEFAULT 0",
        "ALTER TABLE tickets ADD COLUMN milestone_id INTEGER REFERENCES milestones(id) ON DELETE SET NULL",
        # The due-date sort's key (cursors.DUE_KEY): undated tickets sort as `~`, after every YYYY-MM-DD,
        # so one ascending walk lists the soonest first and the undated last. Queries spell it alike.
        "CREATE INDEX tickets_due ON tickets(project_id, coalesce(due_date, '~'))",
        "CREATE INDEX tickets_due_all ON tickets(coalesce(due_date, '~'))",
        # Partial, as tickets_parent: most tickets are in no milestone, and "in none" is read by project.
        "CREATE INDEX tickets_milestone ON tickets(milestone_id) WHERE milestone_id IS NOT NULL",
        """CREATE TABLE ticket_links (
            from_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
            to_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('blocks', 'duplicates', 'relates_to')),
            created_at TEXT NOT NULL,
            PRIMARY KEY (from_id, kind, to_id),
            CHECK (from_id <> to_id),
            CHECK (kind <> 'relates_to' OR from_id < to_id)
        ) WITHOUT ROWID""",
        # The key answers a ticket's links from its side (from_id, kind); this one from the other side.
        "CREATE INDEX ticket_links_to ON ticket_links(to_id, kind)",
        """CREATE TABLE time_entries (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
            user_id INTEGER REFERENCES users(id),
            hours REAL NOT NULL CHECK (hours > 0),
            spent_on TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX time_entries_ticket ON time_entries(ticket_id)",
        # Without rows for them, SQLite would take each new index for a selective one. A database that
        # plans with migration 4's figures gets figures of the same large tracker for them; one a user
        # analysed gets them measured (each ANALYZE reads one new index, once).
        *(f"ANALYZE {index}" for _, index, _ in PLANNING_STATISTICS),
        "DELETE FROM sqlite_stat1 WHERE idx IN ("
        + ", ".join(f"'{index}'" for _, index, _ in PLANNING_STATISTICS)
        + f") AND {_SHIPPED_FIGURES}",
        "INSERT INTO sqlite_stat1 (tbl, idx, stat) SELECT column1, column2, column3 FROM (VALUES "
        + ", ".join(f"('{table}', '{index}', '{stat}')" for table, index, stat in PLANNING_STATISTICS)
        + f") WHERE {_SHIPPED_FIGURES}",
        "ANALYZE sqlite_schema",  # loads them into this connection's planner
    ),
)

# Files attached to tickets, stored by the SHA-256 of their bytes: the same bytes attached twice are one
# blob, which goes in the transaction that drops its last attachment. attachment_usage keeps what each
# organization's attachments add up to (each counts its size), so the quota is checked without a sum.
# AUTOINCREMENT: an attachment's id (in its resource URI) never names another file after a deletion.
ATTACHMENTS = Migration(
    15,
    "files attached to tickets, stored once by content, with each organization's use",
    (
        """CREATE TABLE blobs (
            digest TEXT PRIMARY KEY,
            size INTEGER NOT NULL CHECK (size >= 0),
            content BLOB NOT NULL
        )""",
        """CREATE TABLE attachments (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
            digest TEXT NOT NULL REFERENCES blobs(digest),
            name TEXT NOT NULL,
            mime TEXT NOT NULL,
            size INTEGER NOT NULL CHECK (size >= 0),
            uploader_id INTEGER REFERENCES users(id),
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX attachments_ticket ON attachments(ticket_id)",
        "CREATE INDEX attachments_digest ON attachments(digest)",
        """CREATE TABLE attachment_usage (
            organization_id TEXT PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
            bytes INTEGER NOT NULL CHECK (bytes >= 0)
        ) WITHOUT ROWID""",
    ),
)

# A ticket moved to another project keeps its old slugs: each (project, number) it had names it still. A
# project never reuses a number, so an old one never names another ticket. Deleting the ticket, or the old
# project, forgets them. The id orders a ticket's moves.
OLD_SLUGS = Migration(
    16,
    "old slugs of tickets moved to another project",
    (
        """CREATE TABLE old_slugs (
            id INTEGER PRIMARY KEY,
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            number INTEGER NOT NULL,
            ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
            UNIQUE (project_id, number)
        )""",
        "CREATE INDEX old_slugs_ticket ON old_slugs(ticket_id)",
    ),
)

# Webhooks (docs/webhooks.md). The audit trail is their outbox: `webhook_outbox` holds how far it has been
# read (and the ids found missing on the way, which a PostgreSQL transaction may still commit), a hook's
# `after_event` the last entry from before it was made or enabled, which it is never sent. A hook's secret
# is kept as it is, unlike a token's: it signs every delivery, so it must be usable, not only checkable.
WEBHOOKS = Migration(
    17,
    "webhooks: hooks, their delivery queue and log, and how far the audit trail has been read",
    (
        """CREATE TABLE webhooks (
            id INTEGER PRIMARY KEY,
            organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            events TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            created_by INTEGER,
            after_event INTEGER NOT NULL,
            failures INTEGER NOT NULL DEFAULT 0,
            retry_at TEXT,
            disabled_at TEXT,
            disabled_reason TEXT
        )""",
        "CREATE INDEX webhooks_organization ON webhooks(organization_id)",
        # One row per event still to deliver to a hook. `due_at` is when it may next be tried; a dispatcher
        # that takes it moves `due_at` to the end of its lease and marks it with its `claim`.
        """CREATE TABLE webhook_deliveries (
            id INTEGER PRIMARY KEY,
            webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
            event_id INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            due_at TEXT NOT NULL,
            claim TEXT,
            UNIQUE (webhook_id, event_id)
        )""",
        # A dispatcher reads each ready hook's due deliveries, oldest first (their number grows while a hook fails).
        "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(webhook_id, due_at, id)",
        """CREATE TABLE webhook_attempts (
            id INTEGER PRIMARY KEY,
            webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
            event_id INTEGER NOT NULL,
            event_type TEXT NOT NULL,
            subject TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            at TEXT NOT NULL,
            status INTEGER,
            error TEXT,
            duration_ms INTEGER NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed', 'gave up'))
        )""",
        "CREATE INDEX webhook_attempts_webhook ON webhook_attempts(webhook_id, id)",
        """CREATE TABLE webhook_outbox (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            last_event INTEGER NOT NULL,
            gaps TEXT NOT NULL DEFAULT '[]'
        )""",
        "INSERT INTO webhook_outbox (id, last_event) SELECT 1, COALESCE(MAX(id), 0) FROM events",
    ),
)

# The open tickets with a due date, by project and day: `overdue` counts its matches in this index alone,
# where the due-date key's index held every dated ticket, closed ones too, each checked for its status.
OPEN_DUE = Migration(
    18,
    "open tickets by due date, for the overdue filter",
    (
        "CREATE INDEX tickets_due_open ON tickets(project_id, due_date)"
        " WHERE due_date IS NOT NULL AND status NOT IN ('canceled', 'done')",
        "ANALYZE tickets_due_open",  # its figures, measured: a partial index of open dated tickets
    ),
)

# OAuth 2.1 (http/oauth): a grant is a token of its own kind ('oat'), so the audit trail, revocation and the
# token listing treat it as they treat any token; the access and refresh tokens it hands out, the codes
# before them and the dynamically registered clients are kept by digest. SQLite cannot change a CHECK, so
# tokens is rebuilt (ids stay as they were; board_sessions' reference follows the rename).
OAUTH = Migration(
    19,
    "OAuth 2.1: grants as tokens, their codes, access and refresh tokens, registered clients",
    (
        """CREATE TABLE tokens_kinds (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('pk', 'proj', 'amk', 'oat')),
            name TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            user_id INTEGER NOT NULL REFERENCES users(id),
            organization_id TEXT REFERENCES organizations(id) ON DELETE CASCADE,
            project_id TEXT REFERENCES projects(id) ON DELETE CASCADE,
            scopes TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at TEXT
        )""",
        "INSERT INTO tokens_kinds (id, kind, name, hash, prefix, user_id, organization_id, project_id, scopes, "
        "created_at, last_used_at, revoked_at) SELECT id, kind, name, hash, prefix, user_id, organization_id, "
        "project_id, scopes, created_at, last_used_at, revoked_at FROM tokens",
        "DROP TABLE tokens",
        "ALTER TABLE tokens_kinds RENAME TO tokens",
        # used_at: when a person last consented to it; registrations nobody used are pruned after a day.
        """CREATE TABLE oauth_clients (
            client_id TEXT PRIMARY KEY,
            document TEXT NOT NULL,
            created_at TEXT NOT NULL,
            used_at TEXT
        ) WITHOUT ROWID""",
        "CREATE INDEX oauth_clients_unused ON oauth_clients(created_at) WHERE used_at IS NULL",
        # A code is kept until it expires, used or not: a second use revokes what the first one got.
        """CREATE TABLE oauth_codes (
            hash TEXT PRIMARY KEY,
            client_id TEXT NOT NULL,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            request TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            grant_id INTEGER REFERENCES tokens(id) ON DELETE CASCADE
        ) WITHOUT ROWID""",
        "CREATE INDEX oauth_codes_expires ON oauth_codes(expires_at)",
        # A spent refresh token is kept until it expires too: presenting it again revokes its grant.
        """CREATE TABLE oauth_tokens (
            hash TEXT PRIMARY KEY,
            grant_id INTEGER NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
            client_id TEXT NOT NULL,
            scopes TEXT NOT NULL,
            resource TEXT,
            expires_at TEXT NOT NULL,
            spent_at TEXT
        ) WITHOUT ROWID""",
        "CREATE INDEX oauth_tokens_grant ON oauth_tokens(grant_id)",
        "CREATE INDEX oauth_tokens_expires ON oauth_tokens(expires_at)",
    ),
)

# The tool sets a token's callers switched on with enable_tools, in the store so that every replica lists
# them (they were in one process's memory). One row per token at most, gone with its token (and deleted when
# it is revoked); `toolsets` is a bit per set (records.TOOLSET_BITS), so the CHECK admits only known sets and
# switching on more is one atomic upsert (`toolsets | excluded.toolsets`), whichever replica runs it.
TOKEN_TOOLSETS = Migration(
    20,
    "tool sets each token switched on, so that every replica lists them",
    (
        """CREATE TABLE token_toolsets (
            token_id INTEGER PRIMARY KEY REFERENCES tokens(id) ON DELETE CASCADE,
            toolsets INTEGER NOT NULL CHECK (toolsets BETWEEN 1 AND 15)
        )""",
    ),
)

# One number bumped by every change to who may do what (stores/sql/identity_version.py), so a replica keeps
# tokens and reaches cached while it stays the same, and reads them again on the next request once it moves.
IDENTITY_VERSION = Migration(
    21,
    "an identity version that every change to tokens, users, memberships, organizations and projects bumps",
    (
        "CREATE TABLE identity_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)",
        "INSERT INTO identity_version (id, version) VALUES (1, 1)",
        *(
            f"""CREATE TRIGGER identity_{table}_{name} AFTER {event} ON {table} BEGIN
                UPDATE identity_version SET version = version + 1 WHERE id = 1;
            END"""
            for table, columns in WATCHED
            for name, event in watched_events(columns)
        ),
    ),
)

# How many tickets each project holds in each status, kept by triggers on every write to tickets (filings,
# moves between columns and projects, deletions and the sub-tasks a deletion cascades to), where listing
# projects counted them at every read (170 ms with 1M tickets), as did each board and every total of a list
# filtered by project and status alone. Triggers, not the write scripts, so that no write (a bulk load, a
# later script) leaves them behind. A row stays at 0 once its last ticket is gone.
_COUNTED = """INSERT INTO ticket_counts (project_id, status, tickets) VALUES (new.project_id, new.status, 1)
            ON CONFLICT (project_id, status) DO UPDATE SET tickets = tickets + 1"""
_UNCOUNTED = "UPDATE ticket_counts SET tickets = tickets - 1 WHERE project_id = old.project_id AND status = old.status"
TICKET_COUNTS = Migration(
    22,
    "each project's tickets by status, kept by triggers instead of counted at every read",
    (
        """CREATE TABLE ticket_counts (
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            status TEXT NOT NULL,
            tickets INTEGER NOT NULL,
            PRIMARY KEY (project_id, status)
        ) WITHOUT ROWID""",
        "INSERT INTO ticket_counts (project_id, status, tickets)"
        " SELECT project_id, status, COUNT(*) FROM tickets GROUP BY project_id, status",
        f"CREATE TRIGGER ticket_counts_insert AFTER INSERT ON tickets BEGIN {_COUNTED}; END",
        f"CREATE TRIGGER ticket_counts_delete AFTER DELETE ON tickets BEGIN {_UNCOUNTED}; END",
        f"""CREATE TRIGGER ticket_counts_update AFTER UPDATE OF status, project_id ON tickets
        WHEN old.status IS NOT new.status OR old.project_id IS NOT new.project_id BEGIN
            {_UNCOUNTED};
            {_COUNTED};
        END""",
    ),
)

# The open tickets' titles, each project's in a rowid range of its own (its number << PROJECT_SHIFT | the
# ticket's id), for the look-alike check alone (stores/search.py). In ticket_search a title word's matches
# are mostly closed tickets, descriptions and other projects, read and skipped on every create (250 ms at
# 1M tickets). detail=none keeps only which rows hold a word, content='' no text: a 'delete' names the
# words the row was indexed with, which the triggers have (old.title). automerge 2 keeps fewer segments
# for each word's matches to be sought in.
_OPEN = "NOT IN ('canceled', 'done')"


def _title_key(row: str) -> str:
    """A ticket's rowid in open_titles, with its project's row as `p`."""
    return f"(p.number << {PROJECT_SHIFT}) | {row}.id"


# And every word ever indexed, for a query's word to name the words it starts (SqliteDialect.complete): FTS5
# merges all the matches of a prefix before it reads one (60 ms for a word in a third of 1M tickets, at each
# of a page's three reads), but reads named words newest first and stops. Every text goes in as row 1 of a
# contentless table, so its vocabulary (fts5vocab) holds each word once, with one match to read; words of
# text since changed stay, naming words that match nothing.
_WORDS_OF = "INSERT INTO search_words (rowid, words) VALUES (1, {})"
OPEN_TITLES = Migration(
    23,
    "an index of the open tickets' titles by project, for the look-alike check, and of every word indexed",
    (
        """CREATE VIRTUAL TABLE open_titles USING fts5(
            title, tokenize='unicode61 remove_diacritics 0', detail=none, content=''
        )""",
        "INSERT INTO open_titles (open_titles, rank) VALUES ('automerge', 2)",
        f"""INSERT INTO open_titles (rowid, title)
            SELECT {_title_key("t")}, t.title FROM tickets t JOIN projects p ON p.id = t.project_id
            WHERE t.status {_OPEN}""",
        f"""CREATE TRIGGER open_titles_insert AFTER INSERT ON tickets WHEN new.status {_OPEN} BEGIN
            INSERT INTO open_titles (rowid, title)
            SELECT {_title_key("new")}, new.title FROM projects p WHERE p.id = new.project_id;
        END""",
        f"""CREATE TRIGGER open_titles_delete AFTER DELETE ON tickets WHEN old.status {_OPEN} BEGIN
            INSERT INTO open_titles (open_titles, rowid, title)
            SELECT 'delete', {_title_key("old")}, old.title FROM projects p WHERE p.id = old.project_id;
        END""",
        # A move between open columns changes nothing here.
        f"""CREATE TRIGGER open_titles_update AFTER UPDATE OF title, status, project_id ON tickets
            WHEN old.title IS NOT new.title OR old.project_id IS NOT new.project_id
                 OR (old.status {_OPEN}) IS NOT (new.status {_OPEN}) BEGIN
            INSERT INTO open_titles (open_titles, rowid, title)
            SELECT 'delete', {_title_key("old")}, old.title FROM projects p
            WHERE p.id = old.project_id AND old.status {_OPEN};
            INSERT INTO open_titles (rowid, title)
            SELECT {_title_key("new")}, new.title FROM projects p
            WHERE p.id = new.project_id AND new.status {_OPEN};
        END""",
        """CREATE VIRTUAL TABLE search_words USING fts5(
            words, tokenize='unicode61 remove_diacritics 0', detail=none, content=''
        )""",
        "CREATE VIRTUAL TABLE search_words_vocab USING fts5vocab(search_words, 'row')",
        "INSERT INTO search_words (rowid, words) SELECT 1, title || ' ' || description FROM tickets",
        "INSERT INTO search_words (rowid, words) SELECT 1, body FROM comments",
        f"""CREATE TRIGGER search_words_ticket AFTER INSERT ON tickets BEGIN
            {_WORDS_OF.format("new.title || ' ' || new.description")};
        END""",
        f"""CREATE TRIGGER search_words_ticket_edited AFTER UPDATE OF title, description ON tickets
            WHEN old.title IS NOT new.title OR old.description IS NOT new.description BEGIN
            {_WORDS_OF.format("new.title || ' ' || new.description")};
        END""",
        f"""CREATE TRIGGER search_words_comment AFTER INSERT ON comments BEGIN
            {_WORDS_OF.format("new.body")};
        END""",
        f"""CREATE TRIGGER search_words_comment_edited AFTER UPDATE OF body ON comments BEGIN
            {_WORDS_OF.format("new.body")};
        END""",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (
    INITIAL,
    TOKENS,
    SEARCH,
    STATISTICS,
    IDEMPOTENCY,
    WORDS,
    SCOPED_WORDS,
    BOARD_SESSIONS,
    PROJECT_CODES,
    PROJECT_NUMBERS,
    DEFAULT_PROJECT,
    TICKET_IDS,
    DELETIONS,
    PLANNING,
    ATTACHMENTS,
    OLD_SLUGS,
    WEBHOOKS,
    OPEN_DUE,
    OAUTH,
    TOKEN_TOOLSETS,
    IDENTITY_VERSION,
    TICKET_COUNTS,
    OPEN_TITLES,
)
LATEST = MIGRATIONS[-1].version


def applied_version(conn: sqlite3.Connection, path: str) -> int:
    """The schema version recorded in the database; 0 for an empty one. Another application's
    database (tables, but none of ours) is refused, so that a mistyped --db never gets our tables."""
    tables = {
        name
        for (name,) in conn.execute(
            r"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'"
        )
    }
    if "schema_migrations" not in tables:
        if tables:
            shown = ", ".join(sorted(tables)[:5]) + (", …" if len(tables) > 5 else "")
            raise BackendUnavailable(
                f"{path} holds another application's database (tables: {shown}), not a tickets-mcp tracker. "
                "It was left untouched.",
                hint="Point --db or TICKETS_DB at a tickets-mcp database or at a new file.",
            )
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def read_version(path: Path) -> int:
    """The schema version of the database at `path` (0 when there is no file yet), read without writing.

    A path that cannot hold a database, a file that is not one and a file that cannot be read are
    refused with a BackendUnavailable that says so.
    """
    check_location(path)
    if not path.exists():
        return 0
    try:
        conn = connect_read_only(path)
        try:
            return applied_version(conn, str(path))
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if exc.sqlite_errorcode & 0xFF in (SQLITE_NOTADB, SQLITE_CORRUPT):
            raise BackendUnavailable(
                f"{path} is not a tickets-mcp database ({exc}). It was left untouched.",
                hint="Point --db or TICKETS_DB at another file.",
            ) from exc
        raise BackendUnavailable(
            f"Cannot read the database at {path}: {exc}.",
            hint="Check the path given by --db or TICKETS_DB and its permissions.",
        ) from exc


def refuse_newer(path: Path) -> int:
    """Check an existing file read-only first, so a newer database is not even switched to WAL mode.

    Returns the schema version found (0 for a new file).
    """
    found = read_version(path)
    _refuse_if_newer(found, str(path))
    return found


def _refuse_if_newer(found: int, path: str) -> None:
    if found > LATEST:
        raise BackendUnavailable(
            f"The database at {path} has schema version {found}, newer than this tickets-mcp "
            f"understands (up to {LATEST}). It was left untouched.",
            hint="Upgrade tickets-mcp (pip install -U tickets-mcp), or point --db at another file.",
        )


def migrate(conn: sqlite3.Connection, path: str, *, upto: int = LATEST) -> int:
    """Bring the schema up to LATEST (or `upto`, to make an older database in a test); returns the version
    found before. Safe when processes race to do it."""
    # Off outside the transaction (SQLite ignores it inside), so a migration may rebuild a table others
    # reference; _migrate_locked checks every reference before the commit.
    enforced = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        return run_in_transaction(conn, lambda c: _migrate_locked(c, path, upto), "BEGIN IMMEDIATE")
    finally:
        conn.execute(f"PRAGMA foreign_keys = {'ON' if enforced else 'OFF'}")


def _migrate_locked(conn: sqlite3.Connection, path: str, upto: int) -> int:
    found = applied_version(conn, path)
    _refuse_if_newer(found, path)
    if found == 0:
        conn.execute(
            """CREATE TABLE schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL
            )"""
        )
    for migration in MIGRATIONS:
        if not found < migration.version <= upto:
            continue
        for statement in migration.statements:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, utc_now()),
        )
    if conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
        raise BackendUnavailable(
            f"Migrating the database at {path} would break its references; nothing was changed.",
            hint="Run PRAGMA foreign_key_check on a copy to see which rows, or restore a backup.",
        )
    conn.execute(f"PRAGMA user_version = {max(found, upto)}")
    return found
