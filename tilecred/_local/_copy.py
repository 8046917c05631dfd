"""``tilecred store copy``: every row of one store into another, as it is.

The rows go over unchanged (ciphertext as it was sealed, the key check, the
audit log's sequence numbers, token digests), so the copy needs no master
key and opens with the source's key. Either side is an SQLite store's
directory or a PostgreSQL URL. The destination must hold no rows: the copy
is one transaction there, which checks every table's count against the
source's before it commits, so a failed copy leaves the destination as it
was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import ConfigurationError, CredentialsError
from ._engine import Connection, Engine, Mode
from ._schema import SCHEMA_VERSION

__all__ = ["TABLES", "CopyReport", "copy_store", "open_engine"]

# Every table of the schema and its columns, parents before children (the
# foreign keys), each read in its key's order. credential_counts is not
# copied: the destination's triggers count the credentials as they arrive.
TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("meta", ("key", "value")),
    ("workspaces", ("id", "name", "created_at")),
    ("teamspaces", ("id", "workspace_id", "name", "created_at", "visibility", "description")),
    ("credentials", (
        "id", "workspace_id", "teamspace_id", "scope", "name", "provider", "provider_default",
        "allowed_in_tasks", "kind", "member", "public", "secret", "created_at", "updated_at",
        "active", "expires_at", "description",
    )),
    ("associations", (
        "credential_id", "workspace_id", "scope", "target", "is_default", "created_at",
    )),
    ("tokens", (
        "id", "workspace_id", "name", "kind", "read_only", "teamspace_id", "credentials",
        "expires_at", "digest", "created_at", "revoked_at", "active", "last_used_at",
        "credential_ids",
    )),
    ("audit", (
        "seq", "at", "actor", "workspace_id", "teamspace", "credential", "action", "outcome",
        "request_id", "detail", "credential_id",
    )),
    ("audit_prunes", ("id", "at", "before_at", "last_seq", "records", "head", "pending")),
)  # fmt: skip
_BATCH = 500


@dataclass(frozen=True)
class CopyReport:
    """What a copy did: where from, where to (never with a password), rows per table."""

    source: str
    destination: str
    counts: dict[str, int]


def open_engine(database: str | Path, *, existing: bool = False) -> Engine:
    """The engine for a directory (SQLite) or a ``postgresql://`` URL, without a key.

    ``existing``: an SQLite directory must already hold a store (nothing is
    created for a mistyped source).
    """
    from ._postgres import is_database_url

    if is_database_url(str(database)):
        from ._postgres import PostgresEngine

        return PostgresEngine(str(database), pool_size=1)
    from ._sqlite import DATABASE_NAME, SQLiteEngine

    home = Path(database).expanduser()
    if existing and not (home / DATABASE_NAME).is_file():
        raise ConfigurationError(f"{home} holds no tilecred store ({DATABASE_NAME})")
    return SQLiteEngine(home)


@contextlib.contextmanager
def _transaction(engine: Engine, mode: Mode) -> Iterator[Connection]:
    """One transaction on a connection of its own, rolled back unless the block ends well."""
    conn = engine.connect()
    try:
        if mode == "exclusive":
            engine.prepare(conn)  # SQLite's WAL journal, set outside a transaction
        engine.begin(conn, mode)
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(*engine.errors):
                engine.end(conn, commit=False)
            raise
        engine.end(conn, commit=True)
    finally:
        engine.release(conn)


def _rows(conn: Connection, table: str, columns: tuple[str, ...]) -> Iterator[tuple[Any, ...]]:
    # Names from TABLES only, never from input.
    sql = f"SELECT {', '.join(columns)} FROM {table} ORDER BY {columns[0]}"  # noqa: S608
    for row in conn.execute(sql):
        yield tuple(row)


def _count(conn: Connection, table: str) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


def _insert(engine: Engine, table: str, columns: tuple[str, ...], rows: int) -> str:
    """An INSERT of ``rows`` rows at once: one statement (one round trip) a batch."""
    marks = ", ".join(["(" + ", ".join("?" for _ in columns) + ")"] * rows)
    # The audit log's seq is the database's own on PostgreSQL (an identity
    # column): keeping the source's numbers, and so its order, takes this.
    numbered = table in ("audit", "audit_prunes")
    override = " OVERRIDING SYSTEM VALUE" if engine.kind == "postgres" and numbered else ""
    return f"INSERT INTO {table} ({', '.join(columns)}){override} VALUES {marks}"  # noqa: S608


def _values(table: str, row: tuple[Any, ...]) -> list[Any]:
    # An old SQLite store may keep a meta value as INTEGER or TEXT (its type
    # is BLOB there, BYTEA on PostgreSQL): the same bytes either way.
    if table == "meta" and not isinstance(row[1], bytes | bytearray | memoryview):
        return [row[0], str(row[1]).encode()]
    return list(row)


def _source_version(engine: Engine, conn: Connection) -> None:
    version = engine.schema_version(conn)
    if version == 0:
        raise ConfigurationError(f"{engine.describe} holds no tilecred store: nothing to copy")
    if version != SCHEMA_VERSION:
        newer = version > SCHEMA_VERSION
        raise ConfigurationError(
            f"{engine.describe} has schema version {version}; this tilecred copies version "
            f"{SCHEMA_VERSION}: "
            + ("upgrade tilecred" if newer else "open it once with this tilecred to upgrade it")
        )


def _prepare_destination(engine: Engine, conn: Connection) -> None:
    """Bring an empty destination to this schema; refuse one with any row."""
    version = engine.schema_version(conn)
    if version > SCHEMA_VERSION:
        raise ConfigurationError(
            f"{engine.describe} has schema version {version}, newer than this tilecred "
            f"knows ({SCHEMA_VERSION}): upgrade tilecred"
        )
    engine.migrate(conn)
    held = {table: _count(conn, table) for table, _ in TABLES}
    if any(held.values()):
        rows = ", ".join(f"{n} in {table}" for table, n in held.items() if n)
        raise ConfigurationError(
            f"{engine.describe} is not empty ({rows}): copy into an empty store or database"
        )


def _copy_rows(
    source: Engine, src: Connection, destination: Engine, dst: Connection
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table, columns in TABLES:
        expected = _count(src, table)
        sql = _insert(destination, table, columns, _BATCH)
        copied, batch = 0, list[Any]()
        for row in _rows(src, table, columns):
            batch += _values(table, row)
            copied += 1
            if copied % _BATCH == 0:
                dst.execute(sql, batch)
                batch = []
        if batch:
            dst.execute(_insert(destination, table, columns, copied % _BATCH), batch)
        found = _count(dst, table)
        if not expected == copied == found:
            raise CredentialsError(
                f"copying {table} from {source.describe} to {destination.describe} went wrong: "
                f"{expected} rows counted, {copied} read, {found} written; nothing was copied"
            )
        counts[table] = found
    if destination.kind == "postgres":
        # The next audit record numbers on from the copied ones.
        for table, column in (("audit", "seq"), ("audit_prunes", "id")):
            dst.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"  # noqa: S608
                f" coalesce(max({column}), 0) + 1, false) FROM {table}"
            )
    return counts


def copy_store(source: str | Path, destination: str | Path) -> CopyReport:
    """Copy every row of the store at ``source`` into the empty store at ``destination``.

    Parameters:
        source: an SQLite store's directory or a ``postgresql://`` URL.
        destination: the same; an SQLite directory is created if missing. A
            new destination gets this tilecred's schema.

    Returns:
        The two stores as they may be shown, and the rows copied per table.

    Raises:
        ConfigurationError: either side cannot be opened, the source is not a
            store of this schema version, or the destination holds any row.
        CredentialsError: reading or writing failed, or the counts differ;
            the destination is left as it was.
    """
    src_engine = open_engine(source, existing=True)
    try:
        dst_engine = open_engine(destination)
        try:
            if src_engine.location == dst_engine.location and src_engine.kind == dst_engine.kind:
                raise ConfigurationError(f"{src_engine.describe} is both source and destination")
            return _copy(src_engine, dst_engine)
        finally:
            dst_engine.close()
    finally:
        src_engine.close()


def _copy(source: Engine, destination: Engine) -> CopyReport:
    # Which side a driver error is reported on: the source until the
    # destination is open, the destination (where the writes go) after.
    failing = source
    try:
        with _transaction(source, "read") as src:
            _source_version(source, src)
            failing = destination
            with _transaction(destination, "exclusive") as dst:
                _prepare_destination(destination, dst)
                counts = _copy_rows(source, src, destination, dst)
    except (*source.errors, *destination.errors) as exc:
        raise failing.failure(exc) from exc
    return CopyReport(source.describe, destination.describe, counts)
