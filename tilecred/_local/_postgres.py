"""The PostgreSQL engine: one database shared by several ``tilecred serve`` instances.

psycopg 3 and psycopg_pool (the ``postgres`` extra) are imported only when a
PostgreSQL store is opened. Connections come from a pool sized by the
caller (``tilecred serve --threads``); each one is checked when it is taken
from the pool, so a connection the database dropped (a restart) is replaced
rather than handed to a request.

Transactions (see ``_engine.py``): reads are REPEATABLE READ READ ONLY, one
snapshot; writes are SERIALIZABLE, so two instances' writes behave as if one
ran after the other, and the one that loses a race is run again (the
store's :func:`~._engine.retrying`); exclusive ones (migrations, key
rotation) hold a transaction-scoped advisory lock and read what is
committed (READ COMMITTED), so they never act on a snapshot older than the
lock. The password in the database URL never appears in a message, a log
line or a repr.
"""

from __future__ import annotations

import datetime
import functools
import re
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._config import DATABASE_ENV
from .._errors import ConfigurationError, CredentialsError
from ._engine import DEFAULT_INDEX, NAME_INDEX, Connection, Cursor, Lock, Mode, Retry
from ._pgschema import MIGRATIONS, VERSION_TABLE
from ._records import to_micros

__all__ = ["DATABASE_ENV", "PostgresEngine", "is_database_url", "redact_url"]

_SCHEMES = ("postgresql://", "postgres://")
# How long a request waits for a connection (or to make one) before a 503.
CONNECT_SECONDS = 5.0
DEFAULT_POOL_SIZE = 8
# The advisory lock of exclusive transactions: one number for the database,
# taken by tilecred alone ("tilecred" in ASCII, as a signed 64-bit int).
_LOCK_ID = int.from_bytes(b"tilecred", "big", signed=True)
_BEGIN = {
    "read": "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
    "write": "BEGIN ISOLATION LEVEL SERIALIZABLE",
    "exclusive": "BEGIN ISOLATION LEVEL READ COMMITTED",
}
_CHECK = "SELECT value FROM meta WHERE key = 'key_check'"
_LOCKS = {None: "", "share": " FOR SHARE", "update": " FOR UPDATE"}
# A lost race: serialization_failure, deadlock_detected.
_RACES = frozenset({"40001", "40P01"})
_PLACEHOLDER = re.compile(r"\?(\d*)")


def is_database_url(text: str) -> bool:
    """Whether ``text`` names a PostgreSQL database rather than a directory."""
    return text.startswith(_SCHEMES)


def redact_url(url: str) -> tuple[str, str | None]:
    """The URL as it may be shown (no password), and the password if it has one."""
    parts = urllib.parse.urlsplit(url)
    password = parts.password
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    for name, value in query:
        if name == "password":
            password = value
    shown = urllib.parse.urlencode([(k, v) for k, v in query if k != "password"])
    text = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, shown, ""))
    return text, urllib.parse.unquote(password) if password else None


@functools.lru_cache(maxsize=1024)
def _translate(sql: str) -> tuple[str, tuple[int, ...]]:
    """The store's ``?``/``?N`` SQL as psycopg's ``%s``, and which parameter each takes."""
    order: list[int] = []

    def placeholder(match: re.Match[str]) -> str:
        order.append(int(match.group(1)) - 1 if match.group(1) else len(order))
        return "%s"

    return _PLACEHOLDER.sub(placeholder, sql.replace("%", "%%")), tuple(order)


def _value(value: Any) -> Any:
    # Booleans are INTEGER 0/1 in the store's tables, on both databases.
    return int(value) if isinstance(value, bool) else value


class _Connection:
    """A psycopg connection that takes the store's ``?`` SQL."""

    __slots__ = ("pooled", "raw")

    def __init__(self, raw: Any, *, pooled: bool) -> None:
        self.raw = raw
        self.pooled = pooled

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        if not parameters:
            # Without parameters psycopg sends the text as it is.
            return self.raw.execute(sql)  # type: ignore[no-any-return]
        text, order = _translate(sql)
        values = [_value(parameters[i]) for i in order]
        return self.raw.execute(text, values)  # type: ignore[no-any-return]


def _driver() -> Any:
    try:
        import psycopg
        import psycopg_pool  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(
            "a PostgreSQL store needs psycopg and psycopg_pool: install the postgres extra "
            "(pip install '.[postgres]' in a tilecred checkout)"
        ) from exc
    return psycopg


class PostgresEngine:
    """The store's tables in the PostgreSQL database at ``url``.

    Parameters:
        url: ``postgresql://user:password@host:port/database`` (libpq's
            environment and ``~/.pgpass`` are read as usual).
        key_file: where the master key is read from when neither an explicit
            key nor ``TILECRED_MASTER_KEY`` is given; never created here.
        pool_size: the most connections held at once.
    """

    kind = "postgres"
    creates_key = False
    retries_races = True

    def __init__(
        self, url: str, *, key_file: Path | None = None, pool_size: int | None = None
    ) -> None:
        self.location, password = redact_url(url)
        self.describe = f"the PostgreSQL store {self.location}"
        self._secrets = tuple(s for s in (url, password) if s)
        self.key_path = key_file
        self._psycopg = psycopg = _driver()
        self.errors: tuple[type[Exception], ...] = (psycopg.Error,)
        self._url = url
        self._pool_size = max(1, pool_size or DEFAULT_POOL_SIZE)
        self._pool: Any = None
        self._closed = False

    def __repr__(self) -> str:
        return f"PostgresEngine({self.location!r})"

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _reason(self, exc: BaseException) -> str:
        # libpq's messages can run to several lines (DETAIL, HINT): the first says it.
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        return self._scrub(lines[0])

    # -- connections ----------------------------------------------------------------

    def connect(self) -> Connection:
        try:
            raw = self._psycopg.connect(
                self._url, autocommit=True, connect_timeout=max(1, int(CONNECT_SECONDS))
            )
        except self._psycopg.Error as exc:
            raise ConfigurationError(
                f"cannot connect to {self.describe}: {self._reason(exc)}"
            ) from None
        return _Connection(raw, pooled=False)

    def _open_pool(self) -> Any:
        from psycopg_pool import ConnectionPool

        pool = ConnectionPool(
            self._url,
            min_size=1,
            max_size=self._pool_size,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(CONNECT_SECONDS))},
            # A connection the server dropped is found and replaced here, so
            # the next request after an outage gets a working one.
            check=ConnectionPool.check_connection,
            timeout=CONNECT_SECONDS,
            name="tilecred",
            open=False,
        )
        pool.open(wait=False)
        return pool

    def acquire(self) -> Connection:
        if self._closed:
            raise CredentialsError(f"{self.describe} is closed")
        if self._pool is None:
            self._pool = self._open_pool()
        try:
            raw = self._pool.getconn()
        except self._psycopg.Error as exc:
            raise self.failure(exc) from None
        return _Connection(raw, pooled=True)

    def release(self, conn: Connection) -> None:
        assert isinstance(conn, _Connection)
        if not conn.pooled:
            conn.raw.close()
            return
        pool = self._pool
        if pool is None or pool.closed:
            conn.raw.close()
            return
        # The pool rolls back a transaction left open and discards a broken connection.
        pool.putconn(conn.raw)

    def close(self) -> None:
        self._closed = True
        if self._pool is not None:
            self._pool.close()

    # -- transactions ---------------------------------------------------------------

    def check_sql(self, lock: Lock | None) -> str:
        return _CHECK + _LOCKS[lock]

    def begin(self, conn: Connection, mode: Mode) -> None:
        conn.execute(_BEGIN[mode])
        if mode == "exclusive":
            conn.execute("SELECT pg_advisory_xact_lock(?)", (_LOCK_ID,))

    def end(self, conn: Connection, *, commit: bool) -> None:
        conn.execute("COMMIT" if commit else "ROLLBACK")

    def failure(self, exc: Exception) -> CredentialsError:
        psycopg = self._psycopg
        state = getattr(exc, "sqlstate", None)
        if state in _RACES:
            return Retry(f"{self.describe} was busy with a conflicting write", status=503)
        if isinstance(exc, psycopg.IntegrityError):
            return CredentialsError(f"{self.describe} refused a write: {self._reason(exc)}")
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            # The connection or the server is gone (a restart, a network
            # failure): worth trying again once it is back.
            return CredentialsError(
                f"{self.describe} is unavailable: {self._reason(exc)}",
                status=503,
                retryable=True,
            )
        return CredentialsError(f"{self.describe} failed: {self._reason(exc)}")

    def opening_error(self, exc: Exception, *, reading: bool = False) -> CredentialsError:
        return ConfigurationError(f"cannot prepare {self.describe}: {self._reason(exc)}")

    def unique_index(self, exc: Exception) -> str | None:
        if getattr(exc, "sqlstate", None) != "23505":
            return None
        name = getattr(getattr(exc, "diag", None), "constraint_name", None)
        return name if name in (NAME_INDEX, DEFAULT_INDEX) else "unique"

    def fold(self) -> None:
        """Nothing to do here: PostgreSQL's VACUUM (autovacuum) reclaims old row versions."""

    # -- the schema -----------------------------------------------------------------

    def schema_version(self, conn: Connection) -> int:
        # A query of the catalog, not to_regclass(): that reads a cache the
        # advisory lock does not refresh, so an instance that waited for
        # another's migration would not see the tables it made.
        row = conn.execute(
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema()"
            " AND tablename = ?",
            (VERSION_TABLE,),
        ).fetchone()
        if row is None:
            return 0
        (version,) = conn.execute(
            f"SELECT coalesce(max(version), 0) FROM {VERSION_TABLE}"  # noqa: S608 - a constant
        ).fetchone()
        return int(version)

    def migrate(self, conn: Connection) -> int:
        """Run the migrations this database lacks; the caller holds the advisory lock."""
        old = self.schema_version(conn)
        micros = to_micros(datetime.datetime.now(datetime.UTC))
        for version, statements in enumerate(MIGRATIONS[old:], start=old + 1):
            for statement in statements:
                conn.execute(statement)
            conn.execute(
                f"INSERT INTO {VERSION_TABLE} (version, applied_at) VALUES (?, ?)",  # noqa: S608
                (version, micros),
            )
        return old

    def prepare(self, conn: Connection) -> None:
        """Nothing to prepare: the database is configured by its administrator."""
