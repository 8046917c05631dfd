"""What only PostgreSQL has: its schema and migrations, the key check in the
database, the rules under concurrent writers, a lost connection, a password
that never shows. The semantics both engines share are tested once, on both,
by the suites that use the ``engine`` fixture (tests/_engines.py)."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tilecred import ConfigurationError, ConflictError, CredentialsError
from tilecred._local import Store, open_store
from tilecred._local._audit import AuditEntry
from tilecred._local._keys import encode_key
from tilecred._local._postgres import redact_url
from tilecred._local._schema import SCHEMA_VERSION
from tilecred._models import (
    AccessCredentialRole,
    AWSRole,
    CloudProvider,
    CredentialCreateRequest,
    CredentialUpdateRequest,
)

from ._engines import TEST_KEY

# Only the postgres session installs the driver; elsewhere these tests are
# deselected, and the module must still import.
psycopg = pytest.importorskip("psycopg")

pytestmark = pytest.mark.postgres

ROLE = AccessCredentialRole(aws=AWSRole(role_arn="arn:aws:iam::123456789012:role/demo"))
OTHER_KEY = bytes(32)


def _request(name: str, *, default: bool = False) -> CredentialCreateRequest:
    return CredentialCreateRequest(
        name=name, provider=CloudProvider.AWS, role=ROLE, provider_default=default or None
    )


def _sql(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql, params or None)
        return cursor.fetchall() if cursor.description else []


@contextlib.contextmanager
def _store(url: str, key: bytes = TEST_KEY) -> Iterator[Store]:
    store = open_store(url, key=key)
    try:
        yield store
    finally:
        store.close()


def _together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released at once; each result or exception."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


# -- schema and migrations --------------------------------------------------------------


def test_the_tables_mirror_sqlites_schema(postgres_url: str, tmp_path: Path) -> None:
    Store(tmp_path, key=TEST_KEY).close()
    with contextlib.closing(sqlite3.connect(tmp_path / "tilecred.db")) as lite:
        tables = [r[0] for r in lite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name")]  # fmt: skip
        columns = {t: [r[1] for r in lite.execute(f"PRAGMA table_info({t})")] for t in tables}
        indexes = {r[0] for r in lite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}  # fmt: skip
    _store(postgres_url).__enter__().close()
    pg_tables = [r[0] for r in _sql(postgres_url,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        " AND table_name <> 'tilecred_schema' ORDER BY table_name")]  # fmt: skip
    assert pg_tables == tables
    for table in tables:
        pg_columns = _sql(postgres_url,
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
            " ORDER BY ordinal_position", table)  # fmt: skip
        assert [r[0] for r in pg_columns] == columns[table], table
    pg_indexes = {r[0] for r in _sql(postgres_url,
        "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
        " AND indexdef LIKE 'CREATE %%INDEX%%' AND indexname NOT LIKE '%%_pkey'"
        " AND indexname NOT LIKE '%%_key'")}  # fmt: skip
    assert pg_indexes == indexes


def test_migrations_are_recorded_and_run_once(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, "tilecred"), _store(postgres_url):
        pass
    versions = _sql(postgres_url, "SELECT version FROM tilecred_schema ORDER BY version")
    assert [v for (v,) in versions] == list(range(1, SCHEMA_VERSION + 1))
    with _store(postgres_url):
        pass
    assert len(_sql(postgres_url, "SELECT version FROM tilecred_schema")) == SCHEMA_VERSION


def test_instances_starting_together_migrate_once_and_share_one_key_check(
    postgres_url: str,
) -> None:
    opened = _together(6, lambda i: open_store(postgres_url, key=TEST_KEY))
    for store in opened:
        assert isinstance(store, Store), store
        store.close()
    assert len(_sql(postgres_url, "SELECT version FROM tilecred_schema")) == SCHEMA_VERSION
    assert len(_sql(postgres_url, "SELECT value FROM meta WHERE key = 'key_check'")) == 1


def test_an_instance_older_than_the_schema_refuses_to_start(postgres_url: str) -> None:
    with _store(postgres_url):
        pass
    _sql(postgres_url, "INSERT INTO tilecred_schema VALUES (%s, 0)", SCHEMA_VERSION + 1)
    shown, _ = redact_url(postgres_url)
    with pytest.raises(ConfigurationError) as info:
        open_store(postgres_url, key=TEST_KEY)
    assert info.value.message == (
        f"the PostgreSQL store {shown} has schema version {SCHEMA_VERSION + 1}, newer than "
        f"this tilecred knows ({SCHEMA_VERSION}): upgrade tilecred"
    )


# -- the key ----------------------------------------------------------------------------


def test_an_instance_with_another_key_refuses_to_start(postgres_url: str) -> None:
    with _store(postgres_url) as store:
        ws = store.create_workspace("w")
        store.create_credential(ws.id, None, _request("r"))
    shown, _ = redact_url(postgres_url)
    with pytest.raises(ConfigurationError) as info:
        open_store(postgres_url, key=OTHER_KEY)
    assert info.value.message == (
        f"the key given to Store does not open the PostgreSQL store {shown}: "
        "it was encrypted with another key"
    )


def test_a_postgresql_store_needs_a_key_and_never_makes_one(
    postgres_url: str, tmp_path: Path
) -> None:
    shown, _ = redact_url(postgres_url)
    with pytest.raises(ConfigurationError) as info:
        open_store(postgres_url)
    assert info.value.message == (
        f"the PostgreSQL store {shown} needs its master key: set TILECRED_MASTER_KEY "
        "or give a key file (tilecred serve --key-file)"
    )
    missing = tmp_path / "key"
    with pytest.raises(ConfigurationError) as info:
        open_store(postgres_url, key_file=missing)
    assert info.value.message == (
        f"the key file {missing} does not exist: the PostgreSQL store {shown} never creates "
        "its key, so that every instance uses the same one (docs/deployment.md)"
    )
    assert not missing.exists()
    missing.write_text(encode_key(TEST_KEY) + "\n")
    missing.chmod(0o600)
    with open_store(postgres_url, key_file=missing) as store:
        assert store.create_workspace("w").name == "w"
    with _store(postgres_url, TEST_KEY) as store:  # the same key, from elsewhere
        assert store.find_workspace("w") is not None


# -- the rules, enforced by the database under concurrent writers -------------------------


def test_one_name_per_scope_when_creates_race(postgres_url: str) -> None:
    with _store(postgres_url) as store:
        ws = store.create_workspace("w")
        results = _together(6, lambda i: store.create_credential(ws.id, None, _request("same")))
        made = [r for r in results if not isinstance(r, Exception)]
        refused = [r for r in results if isinstance(r, ConflictError)]
        assert (len(made), len(refused)) == (1, 5), results
        assert {(e.status, e.message) for e in refused} == {(409, "name already in use")}
        assert store.list_credentials(ws.id, None).total_items == 1


def test_a_rename_racing_a_create_of_its_name_is_one_409_and_one_row(postgres_url: str) -> None:
    with _store(postgres_url) as store:
        ws = store.create_workspace("w")
        for round_ in range(5):
            store.create_credential(ws.id, None, _request(f"old{round_}"))

            def race(i: int, n: int = round_) -> object:
                if i == 0:
                    rename = CredentialUpdateRequest(name=f"new{n}")
                    return store.update_credential(ws.id, None, f"old{n}", rename)
                return store.create_credential(ws.id, None, _request(f"new{n}"))

            results = _together(2, race)
            assert sorted(type(r).__name__ for r in results) == [
                "AccessCredential", "ConflictError"]  # fmt: skip
            names = [c.name for c in store.list_credentials(ws.id, None).items]
            assert names.count(f"new{round_}") == 1


def test_one_provider_default_when_defaults_race(postgres_url: str) -> None:
    with _store(postgres_url) as store:
        ws = store.create_workspace("w")
        results = _together(
            6, lambda i: store.create_credential(ws.id, None, _request(f"d{i}", default=True))
        )
        assert not [r for r in results if isinstance(r, Exception)], results
        page = store.list_credentials(ws.id, None)
        assert page.total_items == 6
        assert [bool(c.provider_default) for c in page.items].count(True) == 1


def test_the_audit_log_is_append_only(postgres_url: str) -> None:
    with _store(postgres_url) as store:
        ws = store.create_workspace("w")
        store.append_audit(AuditEntry(actor="test", workspace_id=ws.id, action="create"), "ok")
    assert len(_sql(postgres_url, "SELECT seq FROM audit")) == 1
    for statement in ("UPDATE audit SET actor = 'x'", "DELETE FROM audit", "TRUNCATE audit"):
        with pytest.raises(psycopg.errors.RaiseException, match="the audit log is append-only"):
            _sql(postgres_url, statement)


# -- a lost connection, and the password ----------------------------------------------------


def test_a_connection_lost_mid_transaction_is_a_503_and_the_next_call_works(
    postgres_url: str,
) -> None:
    shown, _ = redact_url(postgres_url)
    with _store(postgres_url) as store:
        ws = store.create_workspace("w")
        # The kill happens in the middle of the block.
        with pytest.raises(CredentialsError) as info, store.transaction(write=True) as conn:  # noqa: PT012
            (pid,) = conn.execute("SELECT pg_backend_pid()").fetchone()
            _sql(postgres_url, "SELECT pg_terminate_backend(%s)", pid)
            conn.execute("SELECT 1")
        assert (info.value.status, info.value.retryable) == (503, True)
        assert info.value.message.startswith(f"the PostgreSQL store {shown} is unavailable: ")
        # Every pooled connection dropped too (a restart): the next calls get fresh ones.
        _sql(postgres_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
             " WHERE datname = current_database() AND pid <> pg_backend_pid()")  # fmt: skip
        assert store.find_workspace("w") == ws
        assert store.create_credential(ws.id, None, _request("after")).name == "after"


def test_the_password_never_shows(postgres_url: str, caplog: pytest.LogCaptureFixture) -> None:
    shown, password = redact_url(postgres_url)
    assert password
    assert password not in shown
    wrong = postgres_url.rsplit("/", 1)[0] + "/no_such_database"
    with caplog.at_level(logging.DEBUG):
        with _store(postgres_url) as store:
            texts = [repr(store), str(store.describe), repr(store.engine)]
            store.create_workspace("w")
        for url in (wrong, postgres_url.replace(password, password[:-1] + "X")):
            with pytest.raises(ConfigurationError) as info:
                open_store(url, key=TEST_KEY)
            texts += [str(info.value), repr(info.value)]
    texts += [r.getMessage() for r in caplog.records]
    assert texts
    leaked = [text for text in texts if password in text or password[:-1] in text]
    assert leaked == []
