"""The store's tables, versioned with ``PRAGMA user_version``.

Migrations only go forward: ``MIGRATIONS[n]`` takes a store at version ``n``
to ``n + 1``, inside the caller's write transaction. A new store runs them all.
A store written by a newer tilecred is refused rather than guessed at.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate", "user_version"]

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


def _steps(statements: tuple[str, ...]) -> Callable[[sqlite3.Connection], None]:
    def run(conn: sqlite3.Connection) -> None:
        for statement in statements:
            conn.execute(statement)

    return run


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _steps(_V1),
    _steps(_V2),
    _steps(_V3),
)
SCHEMA_VERSION = len(MIGRATIONS)


def user_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the file (0 for a new file)."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date inside the open transaction; the old version."""
    old = user_version(conn)
    for step in MIGRATIONS[old:]:
        step(conn)
    if old != SCHEMA_VERSION:
        # PRAGMA takes no parameters; the value is our own int.
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
    return old
