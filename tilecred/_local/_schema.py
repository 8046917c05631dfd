"""The store's tables, versioned with ``PRAGMA user_version``.

Migrations only go forward: ``MIGRATIONS[n]`` takes a store at version ``n``
to ``n + 1``, inside the caller's write transaction. A new store runs them all.
A store written by a newer tilecred is refused rather than guessed at.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from ._engine import Connection

__all__ = [
    "ADMIN_KIND_ADDED",
    "MIGRATIONS",
    "POSTGRES_V7",
    "SCHEMA_VERSION",
    "STATEMENTS",
    "TOKENS_MOVED",
    "TOKEN_FILE",
    "TOKEN_KINDS",
    "import_token_file",
    "migrate",
    "user_version",
]

logger = logging.getLogger("tilecred")

# Where tilecred serve kept its API tokens before schema version 3.
TOKEN_FILE = "server-tokens.sqlite3"
# The schema version that took the tokens in.
TOKENS_MOVED = 4
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)

# Version 1: workspaces, teamspaces, credentials with sealed secrets, the key check.
_V1 = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
    "CREATE TABLE workspaces ("
    " id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " created_at INTEGER NOT NULL)",
    "CREATE TABLE teamspaces ("
    " id TEXT PRIMARY KEY,"
    " workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,"
    " name TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " UNIQUE (workspace_id, name))",
    # scope is the teamspace id, or '' at workspace level: NULLs never collide
    # in a UNIQUE index, so uniqueness is kept on scope, not on teamspace_id.
    "CREATE TABLE credentials ("
    " id TEXT PRIMARY KEY,"
    " workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,"
    " teamspace_id TEXT REFERENCES teamspaces (id) ON DELETE CASCADE,"
    " scope TEXT NOT NULL CHECK (scope = ifnull(teamspace_id, '')),"
    " name TEXT NOT NULL,"
    " provider TEXT NOT NULL,"
    " provider_default INTEGER NOT NULL DEFAULT 0,"
    " allowed_in_tasks INTEGER NOT NULL DEFAULT 0,"
    " kind TEXT NOT NULL,"
    " member TEXT NOT NULL,"
    " public BLOB NOT NULL,"
    " secret BLOB,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL)",
    "CREATE UNIQUE INDEX credentials_by_name ON credentials (workspace_id, scope, name)",
    # At most one default per provider in a scope, enforced by SQLite itself.
    "CREATE UNIQUE INDEX credentials_provider_default"
    " ON credentials (workspace_id, scope, provider) WHERE provider_default = 1",
)

# Version 2: teamspaces carry a visibility and a description (the server's
# teamspace API returns both).
_V2 = (
    "ALTER TABLE teamspaces ADD COLUMN visibility TEXT NOT NULL DEFAULT 'private'",
    "ALTER TABLE teamspaces ADD COLUMN description TEXT",
)

# Version 3: the append-only audit log.
_APPEND_ONLY = "SELECT RAISE(ABORT, 'the audit log is append-only')"
_V3 = (
    # seq keeps the order of appends, which times from two clocks cannot.
    # workspace_id has no foreign key: a record outlives whatever it names.
    "CREATE TABLE audit ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " at INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " workspace_id TEXT NOT NULL,"
    " teamspace TEXT,"
    " credential TEXT,"
    " action TEXT NOT NULL,"
    " outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),"
    " request_id TEXT,"
    " detail TEXT)",
    "CREATE INDEX audit_by_credential ON audit (workspace_id, credential, seq)",
    "CREATE INDEX audit_by_time ON audit (workspace_id, at)",
    f"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN {_APPEND_ONLY}; END",
    f"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN {_APPEND_ONLY}; END",
)

# Version 4: the server's API tokens, until now in a file of their own
# (server-tokens.sqlite3), imported once on the way (import_token_file).
_V4 = (
    # kind: management (change, never read a secret) or task (read and use,
    # never change). A task token may be held to one teamspace and to named
    # credentials (a JSON array; NULL: any). active and last_used_at are kept
    # for deactivation and "last used" (issue #13).
    "CREATE TABLE tokens ("
    " id TEXT PRIMARY KEY,"
    " workspace_id TEXT NOT NULL REFERENCES workspaces (id),"
    " name TEXT NOT NULL,"
    " kind TEXT NOT NULL CHECK (kind IN ('management', 'task')),"
    " read_only INTEGER NOT NULL DEFAULT 0,"
    " teamspace_id TEXT REFERENCES teamspaces (id),"
    " credentials TEXT,"
    " expires_at INTEGER,"
    " digest TEXT NOT NULL UNIQUE,"
    " created_at INTEGER NOT NULL,"
    " revoked_at INTEGER,"
    " active INTEGER NOT NULL DEFAULT 1,"
    " last_used_at INTEGER)",
    "CREATE INDEX tokens_by_workspace ON tokens (workspace_id, created_at)",
)

# Version 5: the lifecycle (issue #13). A credential can be deactivated
# (kept and listed, never used, never a provider default) and carries the
# expiry its secret declares (an Azure SAS's se=, a key's own metadata),
# kept in the clear so listing never has to open a secret. NULL: not known.
# The audit log names the credential's id as well as its name.
_V5 = (
    "ALTER TABLE credentials ADD COLUMN active INTEGER NOT NULL DEFAULT 1",
    "ALTER TABLE credentials ADD COLUMN expires_at INTEGER",
    # "Last used" is the newest successful use of a credential, found by its
    # id, so a rename keeps it and a new credential under an old name does not
    # inherit it. Records from before version 5 have no id and do not count.
    "ALTER TABLE audit ADD COLUMN credential_id TEXT",
    "CREATE INDEX audit_last_use ON audit (credential_id, seq)"
    " WHERE action = 'use' AND outcome = 'ok'",
)

# Version 6: the audit log refuses REPLACE too. SQLite's REPLACE deletes the
# row it replaces without firing delete triggers (unless recursive_triggers
# is on), so audit_no_delete never sees it: an insert whose seq is taken is
# refused before it happens. PostgreSQL has no REPLACE, and its ON CONFLICT
# DO UPDATE meets the update trigger.
_V6 = (
    "CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit"  # noqa: S608 - constant SQL
    f" WHEN EXISTS (SELECT 1 FROM audit WHERE seq = NEW.seq) BEGIN {_APPEND_ONLY}; END",
)

# Version 7: a third kind of API token, admin: a management token that may
# also issue task tokens, let a credential be used in tasks, and deactivate,
# activate, regenerate or revoke another token. SQLite cannot change a
# CHECK constraint in place: the table is made again (nothing refers to it).
# PostgreSQL swaps the constraint instead (_pgschema.py).
ADMIN_KIND_ADDED = 7
TOKEN_KINDS = ("management", "task", "admin")
_TOKEN_COLUMNS = (
    "id, workspace_id, name, kind, read_only, teamspace_id, credentials, expires_at, digest,"
    " created_at, revoked_at, active, last_used_at"
)
_KIND_CHECK = "CHECK (kind IN (" + ", ".join(f"'{kind}'" for kind in TOKEN_KINDS) + "))"
_V7 = (
    # Version 4's table, but for its name and the kinds it takes.
    _V4[0]
    .replace("CREATE TABLE tokens (", "CREATE TABLE tokens_v7 (")
    .replace("CHECK (kind IN ('management', 'task'))", _KIND_CHECK),
    f"INSERT INTO tokens_v7 ({_TOKEN_COLUMNS}) SELECT {_TOKEN_COLUMNS} FROM tokens",  # noqa: S608
    "DROP TABLE tokens",
    "ALTER TABLE tokens_v7 RENAME TO tokens",
    "CREATE INDEX tokens_by_workspace ON tokens (workspace_id, created_at)",
)
# The same on PostgreSQL, in place (grants on the table stay).
POSTGRES_V7 = (
    "ALTER TABLE tokens DROP CONSTRAINT tokens_kind_check",
    f"ALTER TABLE tokens ADD CONSTRAINT tokens_kind_check {_KIND_CHECK}",
)

# Version 8: no change to the tables. A credential's secret is sealed anew,
# bound to its allowed_in_tasks too (_reseal.py, which runs it with the key).
_V8: tuple[str, ...] = ()

# Version 9: a task token's named credentials are bound to their ids when it
# is issued (_token_scope.py, which binds the tokens from before on the way).
_V9 = ("ALTER TABLE tokens ADD COLUMN credential_ids TEXT",)

# Version 10: a credential's description (issue #20).
DESCRIPTION_ADDED = 10
_V10 = ("ALTER TABLE credentials ADD COLUMN description TEXT",)


def _add_description(conn: Connection) -> None:
    # Idempotent: a store copied or restored with the column already there
    # (or a half-upgraded one) takes the step without a "duplicate column".
    columns = {row[1] for row in conn.execute("PRAGMA table_info(credentials)").fetchall()}
    if "description" not in columns:
        conn.execute(_V10[0])


# Version 11: associations (issue #20): a credential is associated with what it
# is for, a URL prefix or an object id ("target"). Keyed by the credential's
# id, so a rename keeps them and a delete removes them (the foreign key).
# scope repeats the credential's (it never changes), so that at most one
# default per target in a scope is enforced by the database itself.
_V11 = (
    "CREATE TABLE IF NOT EXISTS associations ("
    " credential_id TEXT NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,"
    " workspace_id TEXT NOT NULL,"
    " scope TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " is_default INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL,"
    " PRIMARY KEY (credential_id, target))",
    "CREATE INDEX IF NOT EXISTS associations_by_target"
    " ON associations (workspace_id, scope, target)",
    "CREATE UNIQUE INDEX IF NOT EXISTS associations_default"
    " ON associations (workspace_id, scope, target) WHERE is_default = 1",
)

# Version 12 (issue #22): a listing's totals without counting it, and an
# index for one credential's usage.
#
# A listing's totals: one row per workspace, scope, provider and kind of
# secret (kind, member), how many credentials it has (n) and how many times
# one entered, left or was renamed in it (changes, which only grows). Kept
# by triggers in the writer's transaction, whoever writes.
_ENTER = (
    "INSERT INTO credential_counts (workspace_id, scope, provider, kind, member, n, changes)"
    " VALUES (NEW.workspace_id, NEW.scope, NEW.provider, NEW.kind, NEW.member, 1, 1)"
    " ON CONFLICT (workspace_id, scope, provider, kind, member)"
    " DO UPDATE SET n = n + 1, changes = changes + 1"
)
_LEAVE = (
    "UPDATE credential_counts SET n = n - 1, changes = changes + 1"
    " WHERE workspace_id = OLD.workspace_id AND scope = OLD.scope"
    " AND provider = OLD.provider AND kind = OLD.kind AND member = OLD.member"
)
_COUNTS_TABLE = (
    "CREATE TABLE credential_counts ("
    " workspace_id TEXT NOT NULL,"
    " scope TEXT NOT NULL,"
    " provider TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " member TEXT NOT NULL,"
    " n INTEGER NOT NULL,"
    " changes INTEGER NOT NULL,"
    " PRIMARY KEY (workspace_id, scope, provider, kind, member))",
    "INSERT INTO credential_counts (workspace_id, scope, provider, kind, member, n, changes)"
    " SELECT workspace_id, scope, provider, kind, member, count(*), 0 FROM credentials"
    " GROUP BY workspace_id, scope, provider, kind, member",
)
_V12 = (
    *_COUNTS_TABLE,
    # Who used a credential (the usage summary) reads that credential's use
    # records alone, from this index only, not the workspace's whole log.
    "CREATE INDEX audit_usage ON audit"
    " (credential_id, action, workspace_id, actor, outcome, at, seq)",
    f"CREATE TRIGGER credentials_count_insert AFTER INSERT ON credentials BEGIN {_ENTER}; END",
    f"CREATE TRIGGER credentials_count_delete AFTER DELETE ON credentials BEGIN {_LEAVE}; END",
    "CREATE TRIGGER credentials_count_update AFTER UPDATE OF workspace_id, scope, name,"
    f" provider, kind, member ON credentials BEGIN {_LEAVE}; {_ENTER}; END",
)

# Version 13 (issue #22): retention. The log's one delete is a prune of
# records already exported: the prune opens a permit (a row of
# audit_prunes, pending) for the records it exported, deletes them, and
# closes it, in one transaction; any other delete is refused as before.
_REFUSED = "SELECT RAISE(ABORT, 'the audit log of prunes is append-only')"
_V13 = (
    "CREATE TABLE audit_prunes ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " at INTEGER NOT NULL,"
    " before_at INTEGER NOT NULL,"
    " last_seq INTEGER NOT NULL,"
    " records INTEGER NOT NULL,"
    " head TEXT NOT NULL,"
    " pending INTEGER NOT NULL)",
    "DROP TRIGGER audit_no_delete",
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit WHEN NOT EXISTS ("  # noqa: S608
    "SELECT 1 FROM audit_prunes p WHERE p.pending = 1"
    " AND OLD.seq <= p.last_seq AND OLD.at < p.before_at)"
    f" BEGIN {_APPEND_ONLY}; END",
    f"CREATE TRIGGER audit_prunes_no_delete BEFORE DELETE ON audit_prunes BEGIN {_REFUSED}; END",
    # A permit can only be closed, never changed or opened again.
    "CREATE TRIGGER audit_prunes_close_only BEFORE UPDATE ON audit_prunes"
    " WHEN NOT (OLD.pending = 1 AND NEW.pending = 0 AND NEW.id = OLD.id AND NEW.at = OLD.at"
    " AND NEW.before_at = OLD.before_at AND NEW.last_seq = OLD.last_seq"
    " AND NEW.records = OLD.records AND NEW.head = OLD.head)"
    f" BEGIN {_REFUSED}; END",
)


def _steps(statements: tuple[str, ...]) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        for statement in statements:
            conn.execute(statement)

    return run


# Each version's statements; PostgreSQL's tables are made from these (_pgschema.py).
STATEMENTS: tuple[tuple[str, ...], ...] = (
    _V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9, _V10, _V11, _V12, _V13
)  # fmt: skip
MIGRATIONS: tuple[Callable[[Connection], None], ...] = (
    *(_steps(v) for v in STATEMENTS[: DESCRIPTION_ADDED - 1]),
    _add_description,
    *(_steps(v) for v in STATEMENTS[DESCRIPTION_ADDED:]),
)
SCHEMA_VERSION = len(MIGRATIONS)


def user_version(conn: Connection) -> int:
    """The schema version recorded in the file (0 for a new file)."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: Connection) -> int:
    """Bring the schema up to date inside the open transaction; the old version."""
    old = user_version(conn)
    for step in MIGRATIONS[old:]:
        step(conn)
    if old != SCHEMA_VERSION:
        # PRAGMA takes no parameters; the value is our own int.
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
    return old


def _micros(text: str | None) -> int | None:
    if text is None:
        return None
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return (moment - _EPOCH) // datetime.timedelta(microseconds=1)


def import_token_file(conn: Connection, path: Path) -> int:
    """Copy an old token file's tokens into the ``tokens`` table, once.

    Runs inside the migration's transaction to version 3, so it happens
    exactly once per store. Every imported token becomes a management token
    (read-only ones stay read-only; revoked ones stay revoked), so tokens
    handed out before keep working. A token whose workspace is not in this
    store cannot be used anyway and is left out. The old file is left in
    place, unread from now on.

    Returns:
        How many tokens were imported.
    """
    if not path.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as old:
            rows = old.execute(
                "SELECT id, workspace_id, name, read_only, digest, created_at, revoked_at"
                " FROM tokens"
            ).fetchall()
            bootstrapped = old.execute(
                "SELECT value FROM meta WHERE key = 'bootstrapped'"
            ).fetchone()
    except sqlite3.Error as exc:
        # Raised inside the migration: the store stays at its old version.
        raise sqlite3.OperationalError(f"cannot import the token file {path}: {exc}") from exc
    imported = 0
    for ident, workspace_id, name, read_only, digest, created, revoked in rows:
        cursor = conn.execute(
            "INSERT INTO tokens (id, workspace_id, name, kind, read_only, digest, created_at,"
            " revoked_at) SELECT ?, id, ?, 'management', ?, ?, ?, ? FROM workspaces WHERE id = ?",
            (ident, name, int(read_only), digest, _micros(created), _micros(revoked),
             workspace_id),
        )  # fmt: skip
        imported += cursor.rowcount
    if bootstrapped is not None:
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('tokens_bootstrapped', ?)",
            (_micros(str(bootstrapped[0])),),
        )
    logger.info("imported %d of %d API tokens from %s", imported, len(rows), path)
    return imported
