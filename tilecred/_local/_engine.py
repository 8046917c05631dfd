"""The seam between the store and its database: SQLite or PostgreSQL.

The store's SQL is shared: ``?`` placeholders (``?1`` for a repeated one),
``coalesce``, ``INSERT … ON CONFLICT``, booleans as INTEGER 0/1, times as
INTEGER microseconds. What differs between databases sits behind
:class:`Engine`: connecting and pooling, how a transaction begins, where the
schema version is kept and how migrations run, and what a driver's error
means. ``_sqlite.py`` and ``_postgres.py`` are the two engines.

Three kinds of transaction:

- ``read``: one consistent snapshot, no writes;
- ``write``: serialized against every other write that could conflict with
  it (SQLite: the database's write lock; PostgreSQL: SERIALIZABLE, retried);
- ``exclusive``: one at a time across every process and instance (schema
  migrations, key rotation), seeing everything committed before it.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, ParamSpec, Protocol, TypeVar

from .._errors import CredentialsError

__all__ = [
    "RETRY_SECONDS",
    "Connection",
    "Cursor",
    "Engine",
    "Lock",
    "Mode",
    "Retry",
    "retrying",
]

Mode = Literal["read", "write", "exclusive"]
Lock = Literal["share", "update"]

# How long one call may keep retrying a transaction that lost a race with
# another writer (a serialization failure or a deadlock) before it gives up.
RETRY_SECONDS = 10.0
_FIRST_PAUSE = 0.002
_LONGEST_PAUSE = 0.2

# The names both engines give the unique indexes the store relies on.
NAME_INDEX = "credentials_by_name"
DEFAULT_INDEX = "credentials_provider_default"


class Cursor(Protocol):
    """What the store reads from a statement's result."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """A database connection as the store uses it: ``execute`` with ``?`` parameters."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...


class Retry(CredentialsError):
    """A transaction lost a race with another writer; running it again can succeed."""


class Engine(Protocol):
    """One database behind the store.

    ``describe`` names the store in messages (never with a password);
    ``key_path`` is the key file the store's key is read from when neither an
    explicit key nor ``TILECRED_MASTER_KEY`` is given, and ``creates_key``
    whether that file may be created for a new store.
    """

    describe: str
    # The directory or the URL (never with a password), for repr().
    location: str
    key_path: Path | None
    creates_key: bool
    kind: str
    # The driver's exception classes.
    errors: tuple[type[Exception], ...]
    # Whether a write that loses a race with another writer is run again
    # (PostgreSQL) rather than reported (SQLite: its writers queue instead).
    retries_races: bool

    def check_sql(self, lock: Lock | None) -> str:
        """The statement that reads the key check, row-locked as ``lock`` says."""

    def connect(self) -> Connection:
        """A connection for opening the store (raises ConfigurationError)."""

    def acquire(self) -> Connection:
        """A connection from the pool (raises CredentialsError)."""

    def release(self, conn: Connection) -> None:
        """Return a connection; one left in a transaction or broken is discarded."""

    def close(self) -> None:
        """Close every pooled connection."""

    def begin(self, conn: Connection, mode: Mode) -> None:
        """Begin a transaction of this kind."""

    def end(self, conn: Connection, *, commit: bool) -> None:
        """Commit or roll back."""

    def schema_version(self, conn: Connection) -> int:
        """The schema version recorded in the database (0: empty)."""

    def migrate(self, conn: Connection) -> int:
        """Bring the schema up to date inside an exclusive transaction; the old version."""

    def prepare(self, conn: Connection) -> None:
        """Once the key is known to fit: anything the database needs before writes."""

    def opening_error(self, exc: Exception, *, reading: bool = False) -> CredentialsError:
        """The ConfigurationError for one of ``errors`` while opening the store
        (``reading``: its schema version and key check)."""

    def failure(self, exc: Exception) -> CredentialsError:
        """The error for one of ``errors`` in a transaction (a :class:`Retry` for
        a lost race)."""

    def unique_index(self, exc: Exception) -> str | None:
        """The unique index a driver error says a write broke, if it is that."""

    def fold(self) -> None:
        """Make replaced or deleted ciphertext unrecoverable from the database's files."""


P = ParamSpec("P")
T = TypeVar("T")


def retrying(method: Callable[P, T]) -> Callable[P, T]:
    """Run ``method`` again while its transaction loses races, for up to RETRY_SECONDS.

    The method must be safe to run again from the start: everything it does
    before it fails is inside the transaction that was rolled back.

    Raises:
        CredentialsError: still losing after RETRY_SECONDS (503, retryable).
    """

    @functools.wraps(method)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        deadline = time.monotonic() + RETRY_SECONDS
        pause = _FIRST_PAUSE
        attempts = 0
        while True:
            attempts += 1
            try:
                return method(*args, **kwargs)
            except Retry as exc:
                if time.monotonic() + pause > deadline:
                    raise CredentialsError(
                        f"{exc.message}; gave up after {attempts} attempts in "
                        f"{RETRY_SECONDS:g} seconds",
                        status=503,
                        retryable=True,
                        attempts=attempts,
                    ) from exc
            # Jitter, so that writers that collided do not collide again.
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, _LONGEST_PAUSE)

    return run
