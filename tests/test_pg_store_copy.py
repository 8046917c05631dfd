"""``tilecred store copy`` between SQLite stores and a real PostgreSQL database."""

from __future__ import annotations

import contextlib
import sqlite3
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from tests._postgres import PostgresCluster
from tests.conftest import CANARY_SECRET
from tests.test_cli_support import cli_env, run
from tilecred import AWSCredential, CloudProvider, ConfigurationError, Credential
from tilecred._local import Store, open_store
from tilecred._local._audit import AuditEntry
from tilecred._local._copy import TABLES, open_engine
from tilecred._local._keys import encode_key, new_key
from tilecred._models import CredentialCreateRequest
from tilecred._server._tokens import TokenStore

pytestmark = pytest.mark.postgres

KEY = new_key()
# Rows per table in the filled store; meta: the key check and the token bootstrap mark.
COUNTS = {"meta": 1, "workspaces": 2, "teamspaces": 2, "credentials": 5, "associations": 2,
          "tokens": 3, "audit": 9, "audit_prunes": 0}  # fmt: skip


def _fill(store: Store) -> None:
    """Two workspaces, two teamspaces, five credentials, two associations, three tokens,
    nine audit records."""
    default = store.ensure_workspace("default")
    other = store.ensure_workspace("other")
    ml = store.create_teamspace(default.id, "ml")
    store.create_teamspace(other.id, "ml")
    for number, teamspace in enumerate([None, None, ml.id, ml.id, None]):
        workspace = other if number == 4 else default
        key = AWSCredential(access_key_id=f"AKIAIOSFODNN7EXAMPL{number}",
                            secret_access_key=f"{CANARY_SECRET}-{number}")  # fmt: skip
        request = CredentialCreateRequest(
            name=f"c{number}", provider=CloudProvider.AWS, credential=Credential(aws=key),
            allowed_in_tasks=True, provider_default=number in (0, 2),
        )  # fmt: skip
        store.create_credential(workspace.id, teamspace, request)
    tokens = TokenStore(store)
    tokens.create(default.id, "admin")
    tokens.create(default.id, "reader", read_only=True)
    tokens.create(other.id, "nightly", kind="task", credentials=["c4"])
    for name in ("c0", "c2"):
        scope = ml.id if name == "c2" else None
        entry = AuditEntry(actor="test", workspace_id=default.id, action="use", credential=name)
        store.use_credential(default.id, scope, name, audit=entry)
    for name, scope, target in (("c0", None, "s3://lake/"), ("c2", ml.id, "dag:etl")):
        entry = AuditEntry(actor="test", workspace_id=default.id, action="association.create")
        store.associate(default.id, scope, name, target, True, audit=entry)
    store.append_audit(AuditEntry(actor="test", workspace_id=other.id, action="note"), "ok")
    store.append_audit(AuditEntry(actor="test", workspace_id=other.id, action="note"), "denied")


def _all_rows(database: str | Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, bytes as bytes, in key order."""
    engine = open_engine(database, existing=True)
    conn = engine.connect()
    try:
        rows = {}
        for table, columns in TABLES:
            sql = f"SELECT {', '.join(columns)} FROM {table} ORDER BY {columns[0]}"
            rows[table] = [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                for row in conn.execute(sql).fetchall()
            ]
        return rows
    finally:
        engine.release(conn)
        engine.close()


def _counts(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, int]:
    return {table: len(found) for table, found in rows.items()}


def _bare(url: str) -> str:
    """The URL without its password, which the command line must not carry."""
    parts = urllib.parse.urlsplit(url)
    return url.replace(f":{parts.password}@", "@")


def _env(cluster: PostgresCluster, **extra: str) -> dict[str, str]:
    """The command's environment, with the cluster's password where libpq looks for it."""
    return cli_env(None, PGPASSWORD=cluster.password, **extra)


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    home = tmp_path / "source"
    with Store(home, key=KEY) as store:
        _fill(store)
    return home


def _secret(store: Store, workspace: str, name: str) -> str | None:
    ws = store.ensure_workspace(workspace)
    entry = AuditEntry(actor="test", workspace_id=ws.id, action="use", credential=name)
    credential = store.use_credential(ws.id, None, name, audit=entry)
    assert credential.credential is not None
    assert credential.credential.aws is not None
    return credential.credential.aws.secret_access_key


def test_sqlite_to_postgres_and_back_keeps_every_row_and_the_key(
    filled: Path, postgres_cluster: PostgresCluster, postgres_url: str, tmp_path: Path
) -> None:
    source_rows = _all_rows(filled)
    assert _counts(source_rows) == COUNTS
    env, shown = _env(postgres_cluster), _bare(postgres_url)
    result = run(["store", "copy", "--from", str(filled), "--to", shown], env)
    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines() == [
        "copied 2 workspaces, 2 teamspaces, 5 credentials, 2 associations, 3 API tokens, "
        "9 audit records, "
        "1 setting",
        f"from the local store {filled / 'tilecred.db'}",
        f"to the PostgreSQL store {shown}; counts checked",
        f"the key was not copied: give the destination the key in {filled / 'key'} (as "
        "TILECRED_MASTER_KEY, or that file beside an SQLite store)",
    ]
    assert postgres_cluster.password not in result.out
    assert CANARY_SECRET not in result.out
    assert _all_rows(postgres_url) == source_rows

    back = tmp_path / "back"
    result = run(["store", "copy", "--from", shown, "--to", str(back)], env)
    assert result.code == 0, result.err
    assert _all_rows(back) == source_rows
    with Store(back, key=KEY) as store:
        assert _secret(store, "default", "c0") == f"{CANARY_SECRET}-0"
    with open_store(postgres_url, key=KEY) as store:
        assert _secret(store, "default", "c1") == f"{CANARY_SECRET}-1"
    refused = f"the key given to Store does not open the PostgreSQL store {shown}: it was"
    with pytest.raises(ConfigurationError, match=f"^{refused} encrypted with another key$"):
        open_store(postgres_url, key=new_key())


def test_the_audit_log_numbers_on_after_a_copy(
    filled: Path, postgres_cluster: PostgresCluster, postgres_url: str
) -> None:
    # An older tilecred kept this mark as an INTEGER: it arrives as the same bytes.
    with contextlib.closing(sqlite3.connect(filled / "tilecred.db")) as conn, conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('tokens_bootstrapped', 1234)")
    copy = ["store", "copy", "--from", str(filled), "--to", _bare(postgres_url)]
    result = run(copy, _env(postgres_cluster))
    assert result.code == 0, result.err
    with open_store(postgres_url, key=KEY) as store:
        workspace = store.ensure_workspace("other")
        store.append_audit(AuditEntry(actor="test", workspace_id=workspace.id, action="n"), "ok")
    assert _all_rows(postgres_url)["meta"][1] == ("tokens_bootstrapped", b"1234")
    seqs = [row[0] for row in _all_rows(postgres_url)["audit"]]
    assert seqs == [*(row[0] for row in _all_rows(filled)["audit"]), max(seqs[:-1]) + 1]


def test_a_url_with_a_password_is_refused_before_anything_is_read(
    filled: Path, postgres_cluster: PostgresCluster, postgres_url: str
) -> None:
    for args in (["--from", str(filled), "--to", postgres_url],
                 ["--from", postgres_url, "--to", str(filled)]):  # fmt: skip
        result = run(["store", "copy", *args], cli_env())
        option = args[0] if args[1] == postgres_url else args[2]
        assert (result.code, result.out) == (2, "")
        assert result.err.splitlines()[0] == (
            f"error: {option} must not carry a password: the command line is visible to every "
            "user of this machine; put the password in ~/.pgpass or PGPASSWORD"
        )
        assert postgres_cluster.password not in result.err
    database = urllib.parse.urlsplit(postgres_url).path.lstrip("/")
    tables = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
    assert postgres_cluster.psql(tables, database).strip() == "0"
    # With the key in the environment, the last line says to use the same one.
    env = _env(postgres_cluster, TILECRED_MASTER_KEY=encode_key(KEY))
    result = run(["store", "copy", "--from", str(filled), "--to", _bare(postgres_url)], env)
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1] == "open it with the same TILECRED_MASTER_KEY"
    assert _counts(_all_rows(postgres_url)) == COUNTS


def test_a_destination_with_any_row_is_refused_and_left_as_it_was(
    filled: Path, postgres_cluster: PostgresCluster, postgres_url: str, tmp_path: Path
) -> None:
    env, shown = _env(postgres_cluster), _bare(postgres_url)
    assert run(["store", "copy", "--from", str(filled), "--to", shown], env).code == 0
    before = _all_rows(postgres_url)
    result = run(["store", "copy", "--from", str(filled), "--to", shown], env)
    assert (result.code, result.out) == (1, "")
    assert result.err.strip() == (
        f"error: the PostgreSQL store {shown} is not empty (1 in meta, 2 in workspaces, "
        "2 in teamspaces, 5 in credentials, 2 in associations, 3 in tokens, 9 in audit): copy "
        "into an empty store "
        "or database"
    )
    assert _all_rows(postgres_url) == before
    # The same into an SQLite store that holds one workspace.
    with Store(tmp_path / "used", key=KEY) as store:
        store.ensure_workspace("default")
    result = run(["store", "copy", "--from", str(filled), "--to", str(tmp_path / "used")], env)
    assert result.code == 1
    assert "is not empty (1 in meta, 1 in workspaces): copy into an empty" in result.err


def test_sqlite_to_sqlite_and_a_source_that_is_no_store(filled: Path, tmp_path: Path) -> None:
    env = cli_env()
    result = run(["store", "copy", "--from", str(filled), "--to", str(tmp_path / "copy")], env)
    assert result.code == 0, result.err
    assert _all_rows(tmp_path / "copy") == _all_rows(filled)
    with Store(tmp_path / "copy", key=KEY) as store:
        assert _secret(store, "other", "c4") == f"{CANARY_SECRET}-4"
    missing = tmp_path / "typo"
    result = run(["store", "copy", "--from", str(missing), "--to", str(tmp_path / "x")], env)
    assert (result.code, result.err.strip()) == (
        1, f"error: {missing} holds no tilecred store (tilecred.db)"
    )  # fmt: skip
    assert not missing.exists()
    assert not (tmp_path / "x").exists()
    with contextlib.closing(sqlite3.connect(tmp_path / "copy" / "tilecred.db")) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
