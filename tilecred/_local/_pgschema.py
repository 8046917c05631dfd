"""The store's tables on PostgreSQL: made from SQLite's (``_schema.py``), version by version.

Version ``n`` here has the same tables, columns and indexes as version ``n``
on SQLite, in PostgreSQL's types: every INTEGER (times in microseconds,
booleans 0/1) becomes BIGINT and every BLOB a BYTEA, so the store's SQL and
a copied row read the same on both. SQLite's triggers keeping the audit log
append-only become one PL/pgSQL function refusing UPDATE, DELETE and
TRUNCATE. The version is kept in ``tilecred_schema``, one row per migration
applied, in the migration's own transaction (PostgreSQL's DDL is
transactional: a migration happens whole or not at all).
"""

from __future__ import annotations

import re

from ._schema import ADMIN_KIND_ADDED, POSTGRES_V7, STATEMENTS

__all__ = ["MIGRATIONS", "VERSION_TABLE"]

VERSION_TABLE = "tilecred_schema"

_TYPES = (
    (r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
    (r"\bINTEGER\b", "BIGINT"),
    (r"\bBLOB\b", "BYTEA"),
    (r"\bifnull\(", "coalesce("),
)
# The version whose SQLite triggers make the audit log append-only.
_AUDIT_VERSION = 3
_APPEND_ONLY = (
    "CREATE FUNCTION tilecred_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS"
    " $$BEGIN RAISE EXCEPTION 'the audit log is append-only'; END$$",
    "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit"
    " FOR EACH ROW EXECUTE FUNCTION tilecred_audit_append_only()",
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit"
    " FOR EACH STATEMENT EXECUTE FUNCTION tilecred_audit_append_only()",
)


# The version whose SQLite triggers keep credential_counts (one PL/pgSQL
# function here, for insert, delete and update alike).
_COUNTS_VERSION = 12
_COUNTS = (
    "CREATE FUNCTION tilecred_credential_counts() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
    " IF TG_OP <> 'INSERT' THEN"
    " UPDATE credential_counts SET n = n - 1, changes = changes + 1"
    " WHERE workspace_id = OLD.workspace_id AND scope = OLD.scope"
    " AND provider = OLD.provider AND kind = OLD.kind AND member = OLD.member; END IF;"
    " IF TG_OP <> 'DELETE' THEN"
    " INSERT INTO credential_counts AS c"
    " (workspace_id, scope, provider, kind, member, n, changes)"
    " VALUES (NEW.workspace_id, NEW.scope, NEW.provider, NEW.kind, NEW.member, 1, 1)"
    " ON CONFLICT (workspace_id, scope, provider, kind, member)"
    " DO UPDATE SET n = c.n + 1, changes = c.changes + 1; END IF;"
    " RETURN NULL; END$$",
    "CREATE TRIGGER credentials_counted AFTER INSERT OR DELETE OR UPDATE OF workspace_id, scope,"
    " name, provider, kind, member ON credentials"
    " FOR EACH ROW EXECUTE FUNCTION tilecred_credential_counts()",
)


# Version 13: the log's one delete, a prune holding a permit (see _schema.py).
_PRUNE_VERSION = 13
_PRUNE_ONLY = (
    # The same trigger (audit_no_change) as before; its function now lets a
    # delete through under a prune's pending permit, and nothing else.
    "CREATE OR REPLACE FUNCTION tilecred_audit_append_only() RETURNS trigger LANGUAGE plpgsql"
    " AS $$BEGIN IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_prunes p"
    " WHERE p.pending = 1 AND OLD.seq <= p.last_seq AND OLD.at < p.before_at)"
    " THEN RETURN OLD; END IF;"
    " RAISE EXCEPTION 'the audit log is append-only'; END$$",
    "CREATE FUNCTION tilecred_audit_prunes_close_only() RETURNS trigger LANGUAGE plpgsql AS"
    " $$BEGIN IF TG_OP = 'UPDATE' AND OLD.pending = 1 AND NEW.pending = 0"
    " AND (NEW.id, NEW.at, NEW.before_at, NEW.last_seq, NEW.records, NEW.head)"
    " = (OLD.id, OLD.at, OLD.before_at, OLD.last_seq, OLD.records, OLD.head)"
    " THEN RETURN NEW; END IF;"
    " RAISE EXCEPTION 'the audit log of prunes is append-only'; END$$",
    "CREATE TRIGGER audit_prunes_close_only BEFORE UPDATE OR DELETE ON audit_prunes"
    " FOR EACH ROW EXECUTE FUNCTION tilecred_audit_prunes_close_only()",
    "CREATE TRIGGER audit_prunes_no_truncate BEFORE TRUNCATE ON audit_prunes"
    " FOR EACH STATEMENT EXECUTE FUNCTION tilecred_audit_prunes_close_only()",
)


def _translate(statement: str) -> str:
    for pattern, replacement in _TYPES:
        statement = re.sub(pattern, replacement, statement)
    return statement


# Versions whose SQLite statements PostgreSQL does another way.
_OWN = {ADMIN_KIND_ADDED: POSTGRES_V7}


def _version(number: int, statements: tuple[str, ...]) -> tuple[str, ...]:
    if number in _OWN:
        return _OWN[number]
    made = tuple(
        _translate(s) for s in statements if not s.startswith(("CREATE TRIGGER", "DROP TRIGGER"))
    )
    if number == 1:
        versions = f"CREATE TABLE {VERSION_TABLE} (version INTEGER PRIMARY KEY, applied_at BIGINT)"
        made = (versions, *made)
    if number == _AUDIT_VERSION:
        made += _APPEND_ONLY
    if number == _COUNTS_VERSION:
        made += _COUNTS
    if number == _PRUNE_VERSION:
        made += _PRUNE_ONLY
    return made


MIGRATIONS: tuple[tuple[str, ...], ...] = tuple(
    _version(number, statements) for number, statements in enumerate(STATEMENTS, start=1)
)
