"""API tokens: issued once, stored only as hashes, bound to one workspace.

A token reads ``tc-<workspace id>-<secret>``: three ``-``-separated parts with
the workspace id in the middle, which is how TileDB's client finds the
workspace. The secret is 256 random bits, so a plain SHA-256 is enough to
make the stored digest useless to whoever reads the file (a slow password
hash protects guessable secrets; these are not guessable).

Tokens live in their own SQLite file beside the store's, so the store's
schema is left alone.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from .._errors import ConfigurationError, InvalidArgumentError, NotFoundError
from .._limits import MAX_TOKEN_NAME

__all__ = ["TOKEN_FILE", "TokenRecord", "TokenStore", "check_token_name"]

TOKEN_FILE = "server-tokens.sqlite3"
TOKEN_PREFIX = "tc"
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    name TEXT NOT NULL,
    read_only INTEGER NOT NULL,
    digest TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
T = TypeVar("T")
_SELECT = "SELECT id, workspace_id, name, read_only, created_at, revoked_at FROM tokens"


@dataclasses.dataclass(frozen=True, slots=True)
class TokenRecord:
    """What the server knows about a token: never the token itself."""

    id: str
    workspace_id: str
    name: str
    read_only: bool
    created_at: datetime.datetime
    revoked_at: datetime.datetime | None = None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _record(row: tuple[str, str, str, int, str, str | None]) -> TokenRecord:
    ident, workspace_id, name, read_only, created_at, revoked_at = row
    return TokenRecord(
        id=ident,
        workspace_id=workspace_id,
        name=name,
        read_only=bool(read_only),
        created_at=datetime.datetime.fromisoformat(created_at),
        revoked_at=None if revoked_at is None else datetime.datetime.fromisoformat(revoked_at),
    )


def check_token_name(name: str) -> None:
    """A token's name: non-empty printable text of at most ``MAX_TOKEN_NAME`` characters."""
    if len(name) > MAX_TOKEN_NAME:
        raise InvalidArgumentError(
            f"token name is {len(name)} characters long; the limit is {MAX_TOKEN_NAME}"
        )
    if not name or any(ord(ch) < 0x20 for ch in name):
        raise InvalidArgumentError(f"token name {name!r} must be non-empty printable text")


class TokenStore:
    """The token file under a data directory; safe to share between threads.

    Parameters:
        home: the data directory (the store's ``TILECRED_HOME``).

    Raises:
        ConfigurationError: the file cannot be opened or is from a newer tilecred.
    """

    def __init__(self, home: Path) -> None:
        self.path = home / TOKEN_FILE
        try:
            home.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Created 0600 before SQLite opens it: digests are not secrets, but
            # nobody else has any business reading who holds which token.
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout = 5000")
            self._db.execute("PRAGMA journal_mode = WAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > _SCHEMA_VERSION:
                raise ConfigurationError(
                    f"token file {self.path} is from a newer tilecred (schema {version})"
                )
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
        except (OSError, sqlite3.Error) as exc:
            raise ConfigurationError(f"cannot open token file {self.path}: {exc}") from exc
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    def create(
        self, workspace_id: str, name: str, *, read_only: bool = False
    ) -> tuple[TokenRecord, str]:
        """Issue a token; the text is returned this once and never stored.

        Returns:
            The token's record and its text.

        Raises:
            InvalidArgumentError: the workspace id or name is unusable.
            ConfigurationError: the token file cannot be written.
        """
        record, text = self._new_token(workspace_id, name, read_only)
        with self._lock:
            self._write(lambda: self._insert(record, text))
        return record, text

    def bootstrap(self, workspace_id: str, name: str) -> tuple[TokenRecord, str] | None:
        """The first start's admin token: issued exactly once per token file.

        Recording that the bootstrap happened and storing the token are one
        transaction, so a failure leaves it to be done on the next start.

        Returns:
            The token's record and its text; ``None`` if it was issued before.

        Raises:
            InvalidArgumentError: the workspace id or name is unusable.
            ConfigurationError: the token file cannot be written.
        """
        record, text = self._new_token(workspace_id, name, False)

        def claim_and_insert() -> bool:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                claimed = self._db.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('bootstrapped', ?)", (_now(),)
                ).rowcount
                if claimed:
                    self._insert(record, text)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return claimed == 1

        with self._lock:
            return (record, text) if self._write(claim_and_insert) else None

    def bootstrapped(self) -> bool:
        """Whether the first start's admin token has been issued."""
        with self._lock:
            row = self._db.execute("SELECT 1 FROM meta WHERE key = 'bootstrapped'").fetchone()
        return row is not None

    @staticmethod
    def _new_token(workspace_id: str, name: str, read_only: bool) -> tuple[TokenRecord, str]:
        if not workspace_id.startswith("ws_") or "-" in workspace_id:
            raise InvalidArgumentError(f"workspace id {workspace_id!r} cannot be bound to a token")
        check_token_name(name)
        # token_hex: no '-' inside the secret, so the token splits into three parts.
        text = f"{TOKEN_PREFIX}-{workspace_id}-{secrets.token_hex(32)}"
        record = TokenRecord(
            id=f"tok_{secrets.token_hex(8)}",
            workspace_id=workspace_id,
            name=name,
            read_only=read_only,
            created_at=datetime.datetime.now(datetime.UTC).replace(microsecond=0),
        )
        return record, text

    def _insert(self, record: TokenRecord, text: str) -> None:
        self._db.execute(
            "INSERT INTO tokens (id, workspace_id, name, read_only, digest, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (record.id, record.workspace_id, record.name, int(record.read_only), _digest(text),
             record.created_at.isoformat()),
        )  # fmt: skip

    def _write(self, action: Callable[[], T]) -> T:
        try:
            return action()
        except sqlite3.Error as exc:
            raise ConfigurationError(f"cannot write token file {self.path}: {exc}") from exc

    def authenticate(self, text: str) -> TokenRecord | None:
        """The live token with this text, or ``None``."""
        with self._lock:
            row = self._db.execute(
                _SELECT + " WHERE digest = ? AND revoked_at IS NULL",
                (_digest(text),),
            ).fetchone()
        return None if row is None else _record(row)

    def list(self, workspace_id: str | None = None) -> list[TokenRecord]:
        """Every token, revoked ones included, oldest first."""
        sql = _SELECT
        args: tuple[str, ...] = ()
        if workspace_id is not None:
            sql, args = sql + " WHERE workspace_id = ?", (workspace_id,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY created_at, id", args).fetchall()
        return [_record(row) for row in rows]

    def revoke(self, token_id: str) -> TokenRecord:
        """Revoke a token by id; it stops working at once.

        Raises:
            NotFoundError: no live token has this id.
        """

        def mark() -> tuple[int, Any]:
            cursor = self._db.execute(
                "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (_now(), token_id),
            )
            return cursor.rowcount, self._db.execute(
                _SELECT + " WHERE id = ?", (token_id,)
            ).fetchone()

        with self._lock:
            changed, row = self._write(mark)
        if changed == 0:
            raise NotFoundError(f"no live token with id {token_id!r}", status=404)
        return _record(row)
