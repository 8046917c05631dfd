"""Stores from before the rights of issue #18, migrated on open, on SQLite and
PostgreSQL: tokens keep their kind (a management token does not become an
admin token), and the tokens table takes the admin kind."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tilecred import CredentialsError
from tilecred._config import DATABASE_ENV
from tilecred._local import _pgschema, _schema, open_store
from tilecred._local._keys import Cipher

from ._engines import TEST_KEY

Execute = Callable[[str, tuple[Any, ...]], Any]
CREATED = 1_700_000_000_000_000


@contextlib.contextmanager
def _old_store(engine: str, home: Path, version: int) -> Iterator[Execute]:
    """A store at schema ``version`` as that version's tilecred made it; the
    block fills it through ``execute(sql, params)`` (``?`` placeholders)."""
    if engine == "sqlite":
        home.mkdir(mode=0o700)
        db = sqlite3.connect(home / "tilecred.db")
        with db:
            for step in _schema.MIGRATIONS[:version]:
                step(db)
            db.execute(f"PRAGMA user_version = {version:d}")
            yield db.execute
        db.close()
        return
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(os.environ[DATABASE_ENV]) as conn:
        for number, statements in enumerate(_pgschema.MIGRATIONS[:version], start=1):
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO tilecred_schema (version) VALUES (%s)", (number,))
        yield lambda sql, params: conn.execute(sql.replace("?", "%s"), params)


def _fill(execute: Execute) -> None:
    execute("INSERT INTO meta (key, value) VALUES ('key_check', ?)",
            (Cipher(TEST_KEY).key_check(),))  # fmt: skip
    execute("INSERT INTO workspaces VALUES ('ws_1', 'default', ?)", (CREATED,))
    for ident, name, read_only in (("tok_1", "admin", 0), ("tok_2", "reader", 1)):
        execute(
            "INSERT INTO tokens (id, workspace_id, name, kind, read_only, digest, created_at)"
            " VALUES (?, 'ws_1', ?, 'management', ?, ?, ?)",
            (ident, name, read_only, f"digest-{ident}", CREATED),
        )


def test_management_tokens_stay_management_and_admin_tokens_fit(
    engine: str, isolated: Path
) -> None:
    home = isolated / "old"
    with _old_store(engine, home, _schema.ADMIN_KIND_ADDED - 1) as execute:
        _fill(execute)

    from tilecred._server._tokens import ADMIN, TokenStore

    with open_store(os.environ.get(DATABASE_ENV) or home, key=TEST_KEY) as store:
        tokens = TokenStore(store)
        assert [(t.id, t.kind, t.read_only) for t in tokens.list()] == [
            ("tok_1", "management", False),
            ("tok_2", "management", True),
        ]
        record, _text = tokens.create("ws_1", "operator", kind=ADMIN)
        assert [t.kind for t in tokens.list() if t.id == record.id] == [ADMIN]
        with (
            pytest.raises(CredentialsError, match=r"(?i)check constraint"),
            store.transaction(write=True) as conn,
        ):
            conn.execute("UPDATE tokens SET kind = 'root' WHERE id = 'tok_1'")
