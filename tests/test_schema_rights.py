"""What issue #18 bound into the store, on SQLite and PostgreSQL: a sealed
secret opens only with the allowed_in_tasks it was sealed with (a column
flipped in the database opens nothing; tilecred seals anew when it changes
the flag), and stores from before are migrated on open: tokens keep their
kind, the tokens table takes the admin kind, secrets are sealed anew."""

from __future__ import annotations

import base64
import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

import tilecred
from tilecred import CredentialsError, create_credential, read_audit, update_credential
from tilecred._config import DATABASE_ENV
from tilecred._local import _pgschema, _schema, open_store
from tilecred._local._core import _row_aad_v1
from tilecred._local._keys import Cipher
from tilecred._local._reseal import AAD_BOUND
from tilecred._local._token_scope import IDS_BOUND

from ._engines import TEST_KEY
from .conftest import CANARY_SECRET

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


ALTERED = (
    "the secret of credential {name!r} does not open: its row was changed outside tilecred "
    "(its allowed_in_tasks, name, scope or id is not what it was sealed with), or the store "
    "was altered"
)
AWS = {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": CANARY_SECRET}}


def _raw_sql(isolated: Path, sql: str) -> None:
    """Write the database as someone with its file or login would: not through tilecred."""
    tilecred.configure()  # the library's store closed first
    url = os.environ.get(DATABASE_ENV)
    if url is None:
        database = isolated / "tilecred-home" / "tilecred.db"
        with contextlib.closing(sqlite3.connect(database)) as db, db:
            db.execute(sql)
        return
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def test_allowing_a_credential_in_the_database_opens_nothing(
    engine: str, isolated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    create_credential("lake", "AWS", credential=AWS)
    _raw_sql(isolated, "UPDATE credentials SET allowed_in_tasks = 1 WHERE name = 'lake'")

    assert tilecred.get_credential("lake").allowed_in_tasks is True  # the column says so
    with pytest.raises(CredentialsError) as info, tilecred.use_credential("lake"):
        pass
    assert info.value.message == ALTERED.format(name="lake")
    last = read_audit(credential="lake")[-1]
    assert (last.action, last.outcome, last.detail) == ("use", "failed", info.value.message)
    assert CANARY_SECRET not in repr(info.value) + caplog.text


def test_allowing_a_credential_through_tilecred_seals_it_anew(engine: str) -> None:
    create_credential("lake", "AWS", credential=AWS)
    update_credential("lake", allowed_in_tasks=True)
    with tilecred.use_credential("lake") as access:
        aws = access.credential.credential.aws  # type: ignore[union-attr]
        assert aws is not None
        assert aws.secret_access_key == CANARY_SECRET
    update_credential("lake", name="lake2", allowed_in_tasks=False)
    update_credential("lake2", allowed_in_tasks=True)
    with tilecred.use_credential("lake2") as access:
        assert access.credential.name == "lake2"


def test_secrets_stored_before_are_sealed_anew_and_bound(engine: str, isolated: Path) -> None:
    home = isolated / "tilecred-home"
    with _old_store(engine, home, AAD_BOUND - 1) as execute:
        _fill(execute)
        for ident, name, allowed in (("cr_1", "lake", 1), ("cr_2", "pond", 0)):
            hidden = msgspec.json.encode({"secret_access_key": CANARY_SECRET})
            sealed = Cipher(TEST_KEY).seal(hidden, _row_aad_v1("ws_1", None, name, ident))
            execute(
                "INSERT INTO credentials (id, workspace_id, teamspace_id, scope, name, provider,"
                " allowed_in_tasks, kind, member, public, secret, created_at, updated_at)"
                " VALUES (?, 'ws_1', NULL, '', ?, 'AWS', ?, 'credential', 'aws', ?, ?, ?, ?)",
                (ident, name, allowed, b'{"access_key_id":"AKIAIOSFODNN7EXAMPLE"}', sealed,
                 CREATED, CREATED),
            )  # fmt: skip
    os.environ.setdefault("TILECRED_MASTER_KEY", base64.b64encode(TEST_KEY).decode())

    with tilecred.use_credential("lake") as access:
        aws = access.credential.credential.aws  # type: ignore[union-attr]
        assert aws is not None
        assert aws.secret_access_key == CANARY_SECRET
    _raw_sql(isolated, "UPDATE credentials SET allowed_in_tasks = 1 WHERE name = 'pond'")
    with pytest.raises(CredentialsError) as info, tilecred.use_credential("pond"):
        pass
    assert info.value.message == ALTERED.format(name="pond")


def test_task_tokens_from_before_are_bound_to_what_they_could_reach(
    engine: str, isolated: Path
) -> None:
    home = isolated / "old"
    with _old_store(engine, home, IDS_BOUND - 1) as execute:
        _fill(execute)
        execute("INSERT INTO teamspaces (id, workspace_id, name, created_at)"
                " VALUES ('ts_1', 'ws_1', 'ml', ?)", (CREATED,))  # fmt: skip
        for ident, teamspace in (("cr_top", None), ("cr_ml", "ts_1")):
            execute(
                "INSERT INTO credentials (id, workspace_id, teamspace_id, scope, name, provider,"
                " kind, member, public, created_at, updated_at)"
                " VALUES (?, 'ws_1', ?, ?, 'lake', 'AWS', 'role', 'aws', ?, ?, ?)",
                (ident, teamspace, teamspace or "",
                 b'{"role_arn":"arn:aws:iam::123456789012:role/demo"}', CREATED, CREATED),
            )  # fmt: skip
        for ident, teamspace, names in (("tok_any", None, '["lake"]'),
                                        ("tok_ml", "ts_1", '["lake", "gone"]')):  # fmt: skip
            execute(
                "INSERT INTO tokens (id, workspace_id, name, kind, teamspace_id, credentials,"
                " digest, created_at) VALUES (?, 'ws_1', ?, 'task', ?, ?, ?, ?)",
                (ident, ident, teamspace, names, f"digest-{ident}", CREATED),
            )

    from tilecred._server._tokens import TokenStore

    with open_store(os.environ.get(DATABASE_ENV) or home, key=TEST_KEY) as store:
        bound = {t.id: t.credential_ids for t in TokenStore(store).list()}
    assert bound == {
        "tok_1": None, "tok_2": None,
        # Not held to a teamspace, it could use every 'lake': it still can, and no other.
        "tok_any": {"lake": ("cr_ml", "cr_top")},
        "tok_ml": {"lake": ("cr_ml",), "gone": ()},
    }  # fmt: skip
