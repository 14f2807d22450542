"""The PostgreSQL schema: the SQLite store's tables, columns, constraints and indexes, version for version.

Migrations run at start in one transaction that first takes an advisory lock, so processes starting
at once apply them exactly once; a database whose recorded version is newer than this code knows is
refused before anything is written. Add a migration by appending to MIGRATIONS (and to SQLite's, under
the same version); never edit one that has shipped.

Where PostgreSQL differs from SQLite by default, the schema restores SQLite's behaviour:
- Text that is sorted or compared (ids, names, codes, timestamps) uses the "C" collation: byte order,
  as SQLite's BINARY. Titles and descriptions keep the database's collation, whose case rules the
  case-insensitive text search follows.
- SQLite's `COLLATE NOCASE` columns (usernames, project names, label names) become unique indexes on
  `lower(column)`, which under "C" folds ASCII letters only, as NOCASE does; queries compare `lower()`s.
- The trigram full-text index of SQLite (FTS5) is a pg_trgm GIN index on title and description.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import LiteralString

from psycopg import Connection
from psycopg.rows import TupleRow

from tickets_mcp.domain.clock import utc_now
from tickets_mcp.errors import BackendUnavailable
from tickets_mcp.stores.location import PostgresUrl
from tickets_mcp.stores.postgres.db import CONNECT_TIMEOUT_S, unavailable
from tickets_mcp.stores.sql.identity_version import WATCHED, watched_events
from tickets_mcp.stores.sql.records import FILL_DEFAULT_PROJECT

# pg_advisory_xact_lock key for migrating: the ASCII of "trackmig", so it is unlikely to meet another app's.
MIGRATION_LOCK = 0x747261636B6D6967


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[LiteralString, ...]


INITIAL = Migration(
    1,
    "initial schema",
    (
        """CREATE TABLE organizations (
            id TEXT COLLATE "C" PRIMARY KEY,
            name TEXT COLLATE "C" NOT NULL,
            slug TEXT COLLATE "C" NOT NULL UNIQUE,
            created_at TEXT COLLATE "C" NOT NULL
        )""",
        """CREATE TABLE users (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            username TEXT COLLATE "C" NOT NULL,
            name TEXT COLLATE "C" NOT NULL,
            created_at TEXT COLLATE "C" NOT NULL
        )""",
        "CREATE UNIQUE INDEX users_username ON users (lower(username))",
        """CREATE TABLE memberships (
            organization_id TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
            user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            role TEXT COLLATE "C" NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'reporter')),
            PRIMARY KEY (organization_id, user_id)
        )""",
        "CREATE INDEX memberships_user ON memberships(user_id)",
        """CREATE TABLE projects (
            id TEXT COLLATE "C" PRIMARY KEY,
            organization_id TEXT COLLATE "C" NOT NULL REFERENCES organizations(id),
            name TEXT COLLATE "C" NOT NULL,
            code TEXT COLLATE "C" NOT NULL UNIQUE,
            description TEXT NOT NULL DEFAULT '',
            ticket_counter BIGINT NOT NULL DEFAULT 0,
            created_at TEXT COLLATE "C" NOT NULL
        )""",
        "CREATE UNIQUE INDEX projects_name ON projects (organization_id, lower(name))",
        # UNIQUE (project_id, number) also serves lookups by project, SQLite's tickets_project index.
        """CREATE TABLE tickets (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id),
            number BIGINT NOT NULL,
            type TEXT COLLATE "C" NOT NULL CHECK (type IN ('bug', 'feature', 'task', 'improvement')),
            title TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            status TEXT COLLATE "C" NOT NULL
                CHECK (status IN ('backlog', 'todo', 'in_progress', 'in_review', 'done', 'canceled')),
            priority INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
            assignee_id BIGINT REFERENCES users(id),
            reporter_id BIGINT REFERENCES users(id),
            parent_id BIGINT REFERENCES tickets(id) ON DELETE CASCADE,
            position BIGINT NOT NULL,
            version INTEGER NOT NULL DEFAULT 1,
            created_at TEXT COLLATE "C" NOT NULL,
            updated_at TEXT COLLATE "C" NOT NULL,
            closed_at TEXT COLLATE "C",
            closed_by_id BIGINT REFERENCES users(id),
            UNIQUE (project_id, number)
        )""",
        "CREATE INDEX tickets_board ON tickets(project_id, status, position)",
        "CREATE INDEX tickets_updated ON tickets(project_id, updated_at)",
        "CREATE INDEX tickets_priority ON tickets(project_id, priority)",
        "CREATE INDEX tickets_assignee ON tickets(assignee_id)",
        "CREATE INDEX tickets_parent ON tickets(parent_id)",
        """CREATE TABLE labels (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            name TEXT COLLATE "C" NOT NULL,
            color TEXT COLLATE "C" NOT NULL
        )""",
        "CREATE UNIQUE INDEX labels_name ON labels (project_id, lower(name))",
        """CREATE TABLE ticket_labels (
            ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
            label_id BIGINT NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
            PRIMARY KEY (ticket_id, label_id)
        )""",
        "CREATE INDEX ticket_labels_label ON ticket_labels(label_id, ticket_id)",
        """CREATE TABLE comments (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
            author_id BIGINT REFERENCES users(id),
            body TEXT NOT NULL,
            created_at TEXT COLLATE "C" NOT NULL
        )""",
        "CREATE INDEX comments_ticket ON comments(ticket_id)",
        # The audit trail outlives what it describes, so it holds ids and the slug, not foreign keys.
        """CREATE TABLE events (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at TEXT COLLATE "C" NOT NULL,
            organization_id TEXT COLLATE "C",
            project_id TEXT COLLATE "C",
            ticket_id BIGINT,
            subject TEXT COLLATE "C" NOT NULL,
            action TEXT COLLATE "C" NOT NULL,
            actor_id BIGINT,
            token_id BIGINT,
            client TEXT,
            changes JSONB NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX events_ticket ON events(ticket_id)",
        "CREATE INDEX events_project ON events(project_id)",
    ),
)

TOKENS = Migration(
    2,
    "tokens",
    (
        # Only a SHA-256 of each token is kept (see the SQLite migration for why a fast hash is enough).
        """CREATE TABLE tokens (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('pk', 'proj', 'amk')),
            name TEXT NOT NULL,
            hash TEXT COLLATE "C" NOT NULL UNIQUE,
            prefix TEXT COLLATE "C" NOT NULL,
            user_id BIGINT NOT NULL REFERENCES users(id),
            organization_id TEXT COLLATE "C" REFERENCES organizations(id) ON DELETE CASCADE,
            project_id TEXT COLLATE "C" REFERENCES projects(id) ON DELETE CASCADE,
            scopes TEXT COLLATE "C" NOT NULL DEFAULT '',
            created_at TEXT COLLATE "C" NOT NULL,
            last_used_at TEXT COLLATE "C",
            revoked_at TEXT COLLATE "C"
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
        # Most tickets have no parent: a partial index counts only real parents (see the SQLite migration).
        "DROP INDEX tickets_parent",
        "CREATE INDEX tickets_parent ON tickets(parent_id) WHERE parent_id IS NOT NULL",
        # Substring search: pg_trgm's GIN indexes answer ILIKE '%word%' without reading every ticket.
        # pg_trgm is a trusted extension: a user who may create objects in the database may install it.
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE INDEX tickets_title_trgm ON tickets USING gin (title gin_trgm_ops)",
        "CREATE INDEX tickets_description_trgm ON tickets USING gin (description gin_trgm_ops)",
    ),
)

# SQLite's migration 4 gives its planner statistics it would otherwise lack; PostgreSQL's autovacuum
# measures its own. Recorded all the same, so both stores count their schema versions alike.
STATISTICS = Migration(4, "planner statistics (SQLite only; autovacuum's ANALYZE here)", ())

IDEMPOTENCY = Migration(
    5,
    "idempotency keys of create_ticket",
    (
        """CREATE TABLE idempotency_keys (
            owner TEXT COLLATE "C" NOT NULL,
            key TEXT COLLATE "C" NOT NULL,
            request TEXT NOT NULL,
            ticket TEXT NOT NULL,
            created_at TEXT COLLATE "C" NOT NULL,
            PRIMARY KEY (owner, key)
        )""",
        # Forgetting expired keys is one range read of this index, however many keys a token has.
        "CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at)",
    ),
)


def _words(text: LiteralString) -> LiteralString:
    """A text as the words SQLite's unicode61 tokenizer finds in it: anything else becomes a space."""
    return "to_tsvector('simple'::regconfig, regexp_replace(" + text + ", '[^[:alnum:]]+', ' ', 'g'))"


# A ticket's comments, oldest first, cut where SQLite's index cuts them too.
_COMMENTS: LiteralString = "left(string_agg(body, ' ' ORDER BY id), 100000)"

WORDS = Migration(
    6,
    "ranked full-text search over titles, descriptions and comments",
    (
        # Words, not trigrams (see the SQLite migration). A ticket's comments are kept as one tsvector,
        # rewritten when a comment changes; `search` weighs title words A, description B, comments D.
        "DROP INDEX tickets_title_trgm",
        "DROP INDEX tickets_description_trgm",
        "ALTER TABLE tickets ADD COLUMN comment_words tsvector NOT NULL DEFAULT ''",
        "ALTER TABLE tickets ADD COLUMN search tsvector GENERATED ALWAYS AS ("
        "setweight(" + _words("title") + ", 'A') || setweight(" + _words("description") + ", 'B') || comment_words"
        ") STORED",
        "CREATE INDEX tickets_search ON tickets USING gin (search)",
        """CREATE FUNCTION tickets_comment_words() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            changed BIGINT := CASE WHEN TG_OP = 'DELETE' THEN OLD.ticket_id ELSE NEW.ticket_id END;
        BEGIN
            UPDATE tickets SET comment_words = (
                SELECT """
        + _words("coalesce(" + _COMMENTS + ", '')")
        + """ FROM comments WHERE ticket_id = changed)
            WHERE id = changed;
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER tickets_comment_words AFTER INSERT OR DELETE OR UPDATE OF body ON comments
            FOR EACH ROW EXECUTE FUNCTION tickets_comment_words()""",
        "UPDATE tickets t SET comment_words = c.words FROM (SELECT ticket_id, "
        + _words(_COMMENTS)
        + " AS words FROM comments GROUP BY ticket_id) c WHERE c.ticket_id = t.id",
    ),
)

# SQLite's migration 7 puts each ticket's project into its full-text index, so that a search reads only
# the caller's projects; here the project filter and the GIN index already meet in one query.
SCOPED_WORDS = Migration(7, "full-text search scoped to projects (SQLite only; one query here already)", ())

BOARD_SESSIONS = Migration(
    8,
    "board sessions, so that logging out ends a session on every replica",
    (
        # hash: SHA-256 of the cookie's random value (see the SQLite migration).
        """CREATE TABLE board_sessions (
            hash TEXT COLLATE "C" PRIMARY KEY,
            token_id BIGINT NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
            created_at TEXT COLLATE "C" NOT NULL,
            expires_at TEXT COLLATE "C" NOT NULL
        )""",
        "CREATE INDEX board_sessions_expires ON board_sessions(expires_at)",
    ),
)

# Project codes were one namespace across organizations, so creating one told whether another
# organization used it (see the SQLite migration).
PROJECT_CODES = Migration(
    9,
    "project codes unique per organization, not across organizations",
    (
        "ALTER TABLE projects DROP CONSTRAINT projects_code_key",
        "ALTER TABLE projects ADD CONSTRAINT projects_code UNIQUE (organization_id, code)",
    ),
)

# Seeds 001 and 002 name a project by an integer: existing projects are numbered in creation order,
# later ones from a sequence, which never hands out a number twice.
PROJECT_NUMBERS = Migration(
    10,
    "a stable integer per project, for the seed dialects' integer ids",
    (
        "ALTER TABLE projects ADD COLUMN number BIGINT",
        """UPDATE projects SET number = ordered.n
        FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM projects) ordered
        WHERE ordered.id = projects.id""",
        "CREATE SEQUENCE project_numbers OWNED BY projects.number",
        "SELECT setval('project_numbers', COALESCE(MAX(number), 0) + 1, false) FROM projects",
        """ALTER TABLE projects ALTER COLUMN number SET DEFAULT nextval('project_numbers'),
            ALTER COLUMN number SET NOT NULL, ADD CONSTRAINT projects_number UNIQUE (number)""",
    ),
)

# Each organization's default project, for tickets filed without naming one (see the SQLite migration).
DEFAULT_PROJECT = Migration(
    11,
    "each organization's default project, for tickets filed without naming one",
    (
        'ALTER TABLE organizations ADD COLUMN default_project_id TEXT COLLATE "C" '
        "REFERENCES projects(id) ON DELETE SET NULL",
        FILL_DEFAULT_PROJECT,
    ),
)

# SQLite's migration 12 keeps a deleted ticket's id from being used again; the tickets' sequence never
# hands one out twice. Recorded all the same, so both stores count their schema versions alike.
TICKET_IDS = Migration(12, "ticket ids never reused after a delete (SQLite only; a sequence here)", ())

# The deletion of a ticket found by slug (see the SQLite migration).
DELETIONS = Migration(
    13,
    "deletions of tickets found by slug",
    ("CREATE INDEX events_ticket_deleted ON events(project_id, subject) WHERE action = 'ticket.deleted'",),
)

# Links, milestones, due dates, estimates and time (see the SQLite migration). Milestone names are unique
# per project ignoring case, as label names are. The due-date indexes key on the same expression as
# SQLite's (undated tickets sort as `~`, after every date), which the store's queries spell alike.
PLANNING = Migration(
    14,
    "links, milestones, due dates, estimates and time spent",
    (
        """ALTER TABLE projects ADD COLUMN estimate_unit TEXT COLLATE "C" NOT NULL DEFAULT 'hours'
            CHECK (estimate_unit IN ('hours', 'points'))""",
        """CREATE TABLE milestones (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            name TEXT COLLATE "C" NOT NULL,
            start_date TEXT COLLATE "C",
            due_date TEXT COLLATE "C",
            closed BOOLEAN NOT NULL DEFAULT false,
            created_at TEXT COLLATE "C" NOT NULL
        )""",
        "CREATE UNIQUE INDEX milestones_name ON milestones (project_id, lower(name))",
        """ALTER TABLE tickets ADD COLUMN due_date TEXT COLLATE "C",
            ADD COLUMN estimate DOUBLE PRECISION,
            ADD COLUMN spent DOUBLE PRECISION NOT NULL DEFAULT 0,
            ADD COLUMN milestone_id BIGINT REFERENCES milestones(id) ON DELETE SET NULL""",
        "CREATE INDEX tickets_due ON tickets(project_id, coalesce(due_date, '~'))",
        "CREATE INDEX tickets_due_all ON tickets(coalesce(due_date, '~'))",
        # Partial, as tickets_parent: most tickets are in no milestone, and "in none" is read by project.
        "CREATE INDEX tickets_milestone ON tickets(milestone_id) WHERE milestone_id IS NOT NULL",
        """CREATE TABLE ticket_links (
            from_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
            to_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
            kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('blocks', 'duplicates', 'relates_to')),
            created_at TEXT COLLATE "C" NOT NULL,
            PRIMARY KEY (from_id, kind, to_id),
            CHECK (from_id <> to_id),
            CHECK (kind <> 'relates_to' OR from_id < to_id)
        )""",
        "CREATE INDEX ticket_links_to ON ticket_links(to_id, kind)",
        """CREATE TABLE time_entries (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
            user_id BIGINT REFERENCES users(id),
            hours DOUBLE PRECISION NOT NULL CHECK (hours > 0),
            spent_on TEXT COLLATE "C" NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            created_at TEXT COLLATE "C" NOT NULL
        )""",
        "CREATE INDEX time_entries_ticket ON time_entries(ticket_id)",
    ),
)

# Files attached to tickets, stored once by content; see the SQLite migration of the same number.
ATTACHMENTS = Migration(
    15,
    "files attached to tickets, stored once by content, with each organization's use",
    (
        """CREATE TABLE blobs (
            digest TEXT COLLATE "C" PRIMARY KEY,
            size BIGINT NOT NULL CHECK (size >= 0),
            content BYTEA NOT NULL
        )""",
        """CREATE TABLE attachments (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
            digest TEXT COLLATE "C" NOT NULL REFERENCES blobs(digest),
            name TEXT NOT NULL,
            mime TEXT COLLATE "C" NOT NULL,
            size BIGINT NOT NULL CHECK (size >= 0),
            uploader_id BIGINT REFERENCES users(id),
            created_at TEXT COLLATE "C" NOT NULL
        )""",
        "CREATE INDEX attachments_ticket ON attachments(ticket_id)",
        "CREATE INDEX attachments_digest ON attachments(digest)",
        """CREATE TABLE attachment_usage (
            organization_id TEXT COLLATE "C" PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
            bytes BIGINT NOT NULL CHECK (bytes >= 0)
        )""",
    ),
)

# Old slugs of tickets moved to another project (see the SQLite migration).
OLD_SLUGS = Migration(
    16,
    "old slugs of tickets moved to another project",
    (
        """CREATE TABLE old_slugs (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            number BIGINT NOT NULL,
            ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
            UNIQUE (project_id, number)
        )""",
        "CREATE INDEX old_slugs_ticket ON old_slugs(ticket_id)",
    ),
)

# Webhooks, their delivery queue and log, and how far the audit trail has been read (see the SQLite migration).
WEBHOOKS = Migration(
    17,
    "webhooks: hooks, their delivery queue and log, and how far the audit trail has been read",
    (
        """CREATE TABLE webhooks (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            organization_id TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            events TEXT COLLATE "C" NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            created_at TEXT COLLATE "C" NOT NULL,
            created_by BIGINT,
            after_event BIGINT NOT NULL,
            failures INTEGER NOT NULL DEFAULT 0,
            retry_at TEXT COLLATE "C",
            disabled_at TEXT COLLATE "C",
            disabled_reason TEXT
        )""",
        "CREATE INDEX webhooks_organization ON webhooks(organization_id)",
        """CREATE TABLE webhook_deliveries (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            webhook_id BIGINT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
            event_id BIGINT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            due_at TEXT COLLATE "C" NOT NULL,
            claim TEXT COLLATE "C",
            UNIQUE (webhook_id, event_id)
        )""",
        "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(webhook_id, due_at, id)",
        """CREATE TABLE webhook_attempts (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            webhook_id BIGINT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
            event_id BIGINT NOT NULL,
            event_type TEXT COLLATE "C" NOT NULL,
            subject TEXT COLLATE "C" NOT NULL,
            attempt INTEGER NOT NULL,
            at TEXT COLLATE "C" NOT NULL,
            status INTEGER,
            error TEXT,
            duration_ms INTEGER NOT NULL,
            outcome TEXT COLLATE "C" NOT NULL CHECK (outcome IN ('delivered', 'failed', 'gave up'))
        )""",
        "CREATE INDEX webhook_attempts_webhook ON webhook_attempts(webhook_id, id)",
        """CREATE TABLE webhook_outbox (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            last_event BIGINT NOT NULL,
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
    ),
)

# OAuth 2.1 (see the SQLite migration): grants are tokens of kind 'oat'.
OAUTH = Migration(
    19,
    "OAuth 2.1: grants as tokens, their codes, access and refresh tokens, registered clients",
    (
        "ALTER TABLE tokens DROP CONSTRAINT tokens_kind_check",
        "ALTER TABLE tokens ADD CONSTRAINT tokens_kind_check CHECK (kind IN ('pk', 'proj', 'amk', 'oat'))",
        """CREATE TABLE oauth_clients (
            client_id TEXT COLLATE "C" PRIMARY KEY,
            document TEXT NOT NULL,
            created_at TEXT COLLATE "C" NOT NULL,
            used_at TEXT COLLATE "C"
        )""",
        "CREATE INDEX oauth_clients_unused ON oauth_clients(created_at) WHERE used_at IS NULL",
        """CREATE TABLE oauth_codes (
            hash TEXT COLLATE "C" PRIMARY KEY,
            client_id TEXT COLLATE "C" NOT NULL,
            user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            request TEXT NOT NULL,
            expires_at TEXT COLLATE "C" NOT NULL,
            grant_id BIGINT REFERENCES tokens(id) ON DELETE CASCADE
        )""",
        "CREATE INDEX oauth_codes_expires ON oauth_codes(expires_at)",
        """CREATE TABLE oauth_tokens (
            hash TEXT COLLATE "C" PRIMARY KEY,
            grant_id BIGINT NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
            kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('access', 'refresh')),
            client_id TEXT COLLATE "C" NOT NULL,
            scopes TEXT COLLATE "C" NOT NULL,
            resource TEXT COLLATE "C",
            expires_at TEXT COLLATE "C" NOT NULL,
            spent_at TEXT COLLATE "C"
        )""",
        "CREATE INDEX oauth_tokens_grant ON oauth_tokens(grant_id)",
        "CREATE INDEX oauth_tokens_expires ON oauth_tokens(expires_at)",
    ),
)

# The tool sets a token's callers switched on with enable_tools (see the SQLite migration).
TOKEN_TOOLSETS = Migration(
    20,
    "tool sets each token switched on, so that every replica lists them",
    (
        """CREATE TABLE token_toolsets (
            token_id BIGINT PRIMARY KEY REFERENCES tokens(id) ON DELETE CASCADE,
            toolsets INTEGER NOT NULL CHECK (toolsets BETWEEN 1 AND 15)
        )""",
    ),
)

# The identity version (see the SQLite migration): row triggers, so a statement that changes no row (an
# upsert that found its row) bumps nothing.
IDENTITY_VERSION = Migration(
    21,
    "an identity version that every change to tokens, users, memberships, organizations and projects bumps",
    (
        "CREATE TABLE identity_version (id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL)",
        "INSERT INTO identity_version (id, version) VALUES (1, 1)",
        """CREATE FUNCTION identity_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE identity_version SET version = version + 1 WHERE id = 1;
                RETURN NULL;
            END $$""",
        *(
            f"""CREATE TRIGGER identity_{table}_{name} AFTER {event} ON {table}
                FOR EACH ROW EXECUTE FUNCTION identity_changed()"""
            for table, columns in WATCHED
            for name, event in watched_events(columns)
        ),
    ),
)

# How many tickets each project holds in each status, kept by a trigger on every write to tickets (see the
# SQLite migration). Its writes take the lock every ticket write already holds on the project's row
# (tickets.lock_ticket, the number counter, relocation's ordered locks), so writers queue as they did and an
# upsert never races another on the same row. The tickets are locked before they are counted, so no write
# lands between the count and the trigger.
TICKET_COUNTS = Migration(
    22,
    "each project's tickets by status, kept by triggers instead of counted at every read; sort indexes end with the id",
    (
        """CREATE TABLE ticket_counts (
            project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            status TEXT COLLATE "C" NOT NULL,
            tickets INTEGER NOT NULL,
            PRIMARY KEY (project_id, status)
        )""",
        "LOCK TABLE tickets IN SHARE ROW EXCLUSIVE MODE",
        "INSERT INTO ticket_counts (project_id, status, tickets)"
        " SELECT project_id, status, COUNT(*) FROM tickets GROUP BY project_id, status",
        """CREATE FUNCTION ticket_counts() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                UPDATE ticket_counts SET tickets = tickets - 1
                WHERE project_id = OLD.project_id AND status = OLD.status;
            END IF;
            IF TG_OP <> 'DELETE' THEN
                INSERT INTO ticket_counts (project_id, status, tickets) VALUES (NEW.project_id, NEW.status, 1)
                ON CONFLICT (project_id, status) DO UPDATE SET tickets = ticket_counts.tickets + 1;
            END IF;
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER ticket_counts AFTER INSERT OR DELETE ON tickets
            FOR EACH ROW EXECUTE FUNCTION ticket_counts()""",
        """CREATE TRIGGER ticket_counts_update AFTER UPDATE OF status, project_id ON tickets FOR EACH ROW
            WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.project_id IS DISTINCT FROM NEW.project_id)
            EXECUTE FUNCTION ticket_counts()""",
        # Here only: the sort indexes end with the id, as SQLite's end with the rowid, so a page sorted by update,
        # priority or due date walks one in order. On the column alone each tie was sorted whole by id under the
        # LIMIT: a priority shared by 250k of 1M tickets took 540 ms for 50 of them.
        "DROP INDEX tickets_updated_all",
        "CREATE INDEX tickets_updated_all ON tickets(updated_at, id)",
        "DROP INDEX tickets_priority_all",
        "CREATE INDEX tickets_priority_all ON tickets(priority, id)",
        "DROP INDEX tickets_due_all",
        "CREATE INDEX tickets_due_all ON tickets((coalesce(due_date, '~')), id)",
        "DROP INDEX tickets_updated",
        "CREATE INDEX tickets_updated ON tickets(project_id, updated_at, id)",
        "DROP INDEX tickets_priority",
        "CREATE INDEX tickets_priority ON tickets(project_id, priority, id)",
        "DROP INDEX tickets_due",
        "CREATE INDEX tickets_due ON tickets(project_id, (coalesce(due_date, '~')), id)",
        # And an assignee's or a reporter's tickets are counted in the index alone, projects included: by the
        # person alone, a capped count of 1,000 built a bitmap of all 40,000 of them first (11 ms; now 0.4).
        "DROP INDEX tickets_assignee",
        "CREATE INDEX tickets_assignee ON tickets(assignee_id, project_id)",
        "DROP INDEX tickets_reporter",
        "CREATE INDEX tickets_reporter ON tickets(reporter_id, project_id)",
    ),
)

# The open tickets' titles for the look-alike check (see the SQLite migration): a partial GIN index whose
# words each start with their project's id without dashes, so that a word's entries are one project's open
# tickets, not every title and description `search` holds (a create read 300 ms of them at 1M tickets).
OPEN_TITLES = Migration(
    23,
    "an index of the open tickets' titles by project, for the look-alike check (and SQLite's of every word)",
    (
        # SQL-standard bodies (RETURN) need PostgreSQL 14; 13 is supported.
        """CREATE FUNCTION ticket_title_words(project_id text, title text) RETURNS tsvector
            LANGUAGE sql IMMUTABLE PARALLEL SAFE COST 1000 AS $$
            SELECT to_tsvector('simple'::regconfig, regexp_replace(
                regexp_replace(title, '[^[:alnum:]]+', ' ', 'g'),
                '([[:alnum:]]+)', replace(project_id, '-', '') || '\\1', 'g'))
            $$""",
        "CREATE INDEX tickets_open_titles ON tickets USING gin (ticket_title_words(project_id, title))"
        " WHERE status NOT IN ('canceled', 'done')",
    ),
)

# A GIN index keeps new entries in a pending list by default, which every search of the index reads whole
# until (auto)vacuum merges it: after 480 creates the look-alike check read 38 pending pages, 3.1 ms where
# the merged index answers in 0.9. Each create adds a title's few words, so writing them into the index at
# once costs it nothing measurable (0.48 vs 0.50 ms an insert at 100k tickets).
OPEN_TITLES_AT_ONCE = Migration(
    24,
    "the open titles' index written at each insert, not through a pending list",
    (
        "ALTER INDEX tickets_open_titles SET (fastupdate = off)",
        "SELECT gin_clean_pending_list('tickets_open_titles')",
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
    OPEN_TITLES_AT_ONCE,
)
LATEST = MIGRATIONS[-1].version


def applied_version(conn: Connection[TupleRow]) -> int:
    """The schema version recorded in the database (in the search_path's first schema); 0 for an empty one.

    The table is looked for in pg_class, which a query reads as of its own snapshot. to_regclass() would
    answer from the session's catalog cache, which waiting on an advisory lock does not refresh: a
    process that waited while another migrated saw no table and failed creating it.
    """
    exists = _one(
        conn,
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_class"
        " WHERE relname = 'schema_migrations' AND relnamespace = current_schema()::regnamespace)",
    )
    if not exists[0]:
        return 0
    return int(_one(conn, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0])


def refuse_if_newer(found: int, url: PostgresUrl) -> None:
    if found > LATEST:
        raise BackendUnavailable(
            f"The database at {url} has schema version {found}, newer than this tickets-mcp "
            f"understands (up to {LATEST}). It was left untouched.",
            hint="Upgrade tickets-mcp (pip install -U tickets-mcp), or point --db at another database.",
        )


def migrate(url: PostgresUrl) -> int:
    """Bring the schema up to LATEST; returns the version found before. Safe when processes race to do it."""
    conn = _connect(url)
    try:
        found = applied_version(conn)
        refuse_if_newer(found, url)
        if found == LATEST:
            return found  # the usual start: nothing to migrate, no lock taken
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            found = applied_version(conn)  # another process may have migrated while we waited
            refuse_if_newer(found, url)
            _apply(conn, found)
        return found
    finally:
        conn.close()


def _apply(conn: Connection[TupleRow], found: int) -> None:
    if found == 0:
        conn.execute(
            """CREATE TABLE schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT COLLATE "C" NOT NULL
            )""",
        )
    for migration in MIGRATIONS:
        if migration.version <= found:
            continue
        for statement in migration.statements:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
            (migration.version, migration.name, utc_now()),
        )


def schema_version(url: PostgresUrl) -> int:
    """The recorded schema version, read without changing anything."""
    conn = _connect(url)
    try:
        return applied_version(conn)
    finally:
        conn.close()


def _connect(url: PostgresUrl) -> Connection[TupleRow]:
    """One autocommit connection outside the pool, for migrations and inspection."""
    with unavailable(url):
        return Connection.connect(url.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)


def _one(conn: Connection[TupleRow], query: LiteralString) -> TupleRow:
    row = conn.execute(query).fetchone()
    assert row is not None  # an aggregate answers one row
    return row
