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


def _translate(statement: str) -> str:
    for pattern, replacement in _TYPES:
        statement = re.sub(pattern, replacement, statement)
    return statement


# Versions whose SQLite statements PostgreSQL does another way.
_OWN = {ADMIN_KIND_ADDED: POSTGRES_V7}


def _version(number: int, statements: tuple[str, ...]) -> tuple[str, ...]:
    if number in _OWN:
        return _OWN[number]
    made = tuple(_translate(s) for s in statements if not s.startswith("CREATE TRIGGER"))
    if number == 1:
        versions = f"CREATE TABLE {VERSION_TABLE} (version INTEGER PRIMARY KEY, applied_at BIGINT)"
        made = (versions, *made)
    if number == _AUDIT_VERSION:
        made += _APPEND_ONLY
    return made


MIGRATIONS: tuple[tuple[str, ...], ...] = tuple(
    _version(number, statements) for number, statements in enumerate(STATEMENTS, start=1)
)
