"""The SQLite engine: one file in the store's directory, the embedded default.

Every write is one ``BEGIN IMMEDIATE`` transaction, so writers from several
threads and processes queue on SQLite's lock (WAL journal, busy timeout)
instead of failing. Connections are pooled here: each call borrows one.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import cast

from .._errors import ConfigurationError, CredentialsError
from ._engine import DEFAULT_INDEX, NAME_INDEX, Connection, Lock, Mode
from ._health import damaged_store, warn_if_shared
from ._schema import SCHEMA_VERSION, TOKEN_FILE, TOKENS_MOVED, import_token_file, migrate
from ._schema import user_version as _user_version

__all__ = ["DATABASE_NAME", "KEY_FILE_NAME", "SQLiteEngine"]

logger = logging.getLogger("tilecred")

DATABASE_NAME = "tilecred.db"
KEY_FILE_NAME = "key"
# How long a writer waits for another to finish before giving up.
_BUSY_MILLISECONDS = 30_000
_MAX_IDLE_CONNECTIONS = 8
_BEGIN = {"read": "BEGIN", "write": "BEGIN IMMEDIATE", "exclusive": "BEGIN IMMEDIATE"}
_CHECK = "SELECT value FROM meta WHERE key = 'key_check'"
# What SQLite's message ends with when each unique index refuses a row.
_INDEXES = {"credentials.provider": DEFAULT_INDEX, "credentials.name": NAME_INDEX}


class SQLiteEngine:
    """The store's SQLite file in ``home`` (created with mode 0700 if missing)."""

    kind = "sqlite"
    creates_key = True
    retries_races = False
    errors: tuple[type[Exception], ...] = (sqlite3.Error,)

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.path = self.home / DATABASE_NAME
        self.key_path: Path | None = self.home / KEY_FILE_NAME
        self.describe = f"the local store {self.path}"
        self.location = str(self.home)
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._closed = False
        self._pid = os.getpid()
        self._orphans: list[sqlite3.Connection] = []
        self._prepare_files()
        warn_if_shared(self.home)

    def _prepare_files(self) -> None:
        try:
            self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Created 0600 before SQLite sees it; SQLite gives its -wal and -shm
            # files the database file's mode.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
        except OSError as exc:
            raise ConfigurationError(f"cannot use {self.path} as the local store: {exc}") from exc

    def connect(self) -> Connection:
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=_BUSY_MILLISECONDS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_MILLISECONDS:d}")
            conn.execute("PRAGMA foreign_keys = ON")
            # A returned write survives a crash of this process (WAL) and of the
            # machine (FULL syncs the WAL on every commit).
            conn.execute("PRAGMA synchronous = FULL")
            # Deleted and replaced content (an old sealed secret) is zeroed, not
            # left in freed pages or cells.
            conn.execute("PRAGMA secure_delete = ON")
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, sqlite3.DatabaseError) and not isinstance(
                exc, sqlite3.OperationalError
            ):
                raise self.opening_error(exc) from exc
            raise ConfigurationError(f"cannot open {self.describe}: {exc}") from exc
        return conn

    def opening_error(self, exc: Exception, *, reading: bool = False) -> CredentialsError:
        if isinstance(exc, sqlite3.DatabaseError) and (
            reading or not isinstance(exc, sqlite3.OperationalError)
        ):
            return damaged_store(self.path, exc) or ConfigurationError(
                f"{self.path} is not a tilecred store: {exc}"
            )
        return ConfigurationError(f"cannot prepare {self.describe}: {exc}")

    # -- the pool -------------------------------------------------------------------

    def acquire(self) -> Connection:
        with self._lock:
            if self._closed:
                raise CredentialsError(f"{self.describe} is closed")
            if self._pid != os.getpid():
                # A forked child must not use its parent's connections (SQLite
                # forbids it); they are left alone, not closed, for the parent.
                self._orphans.extend(self._idle)
                self._idle, self._pid = [], os.getpid()
            if self._idle:
                return self._idle.pop()
        return self.connect()

    def release(self, conn: Connection) -> None:
        raw = cast(sqlite3.Connection, conn)
        if raw.in_transaction:
            # A COMMIT or ROLLBACK that failed left the transaction open, maybe
            # with the write lock: it must not go back to the pool like that.
            try:
                raw.execute("ROLLBACK")
            except sqlite3.Error:
                raw.close()
                return
        with self._lock:
            idle = not self._closed and self._pid == os.getpid()
            if idle and len(self._idle) < _MAX_IDLE_CONNECTIONS:
                self._idle.append(raw)
                return
        raw.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # -- transactions ---------------------------------------------------------------

    def check_sql(self, lock: Lock | None) -> str:
        # BEGIN IMMEDIATE already holds every other writer off.
        return _CHECK

    def begin(self, conn: Connection, mode: Mode) -> None:
        conn.execute(_BEGIN[mode])

    def end(self, conn: Connection, *, commit: bool) -> None:
        conn.execute("COMMIT" if commit else "ROLLBACK")

    def failure(self, exc: Exception) -> CredentialsError:
        if isinstance(exc, sqlite3.IntegrityError):
            return CredentialsError(f"{self.describe} refused a write: {exc}")
        if isinstance(exc, sqlite3.DatabaseError):
            return damaged_store(self.path, exc) or CredentialsError(
                f"{self.describe} failed: {exc}"
            )
        return CredentialsError(f"{self.describe} failed: {exc}")

    def unique_index(self, exc: Exception) -> str | None:
        if not isinstance(exc, sqlite3.IntegrityError) or "UNIQUE" not in str(exc):
            return None
        for suffix, index in _INDEXES.items():
            if str(exc).endswith(suffix):
                return index
        return "unique"

    # -- the schema -----------------------------------------------------------------

    def schema_version(self, conn: Connection) -> int:
        return _user_version(conn)

    def migrate(self, conn: Connection) -> int:
        old = migrate(conn)
        if old < TOKENS_MOVED <= SCHEMA_VERSION:
            import_token_file(conn, self.home / TOKEN_FILE)
        return old

    def prepare(self, conn: Connection) -> None:
        # Persistent in the file, but a restored copy may have lost it.
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")

    def fold(self) -> None:
        """Copy the WAL into the database and empty it, so that replaced or
        deleted ciphertext survives in neither file.

        A reader in another transaction (or process) can keep it from
        finishing; the last connection to close folds the WAL in then, so this
        only logs.
        """
        conn = self.acquire()
        try:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error as exc:
            busy, detail = 1, f": {exc}"
        else:
            detail = ": another connection is reading"
        finally:
            self.release(conn)
        if busy:
            logger.warning(
                "%s: the write-ahead log could not be emptied yet%s", self.describe, detail
            )
