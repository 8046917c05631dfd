"""The PostgreSQL cluster the tests start: loopback only, a password, unprivileged, restartable."""

from __future__ import annotations

import os
import subprocess
import urllib.parse

import pytest

from tests._postgres import ROLE, PostgresCluster

pytestmark = pytest.mark.postgres


def test_listens_on_loopback_only_with_its_socket_in_its_own_directory(
    postgres_cluster: PostgresCluster,
) -> None:
    settings = postgres_cluster.psql(
        "SELECT current_setting('listen_addresses') || ' ' || current_setting('port') || ' '"
        " || current_setting('unix_socket_directories')"
    )
    where = [str(postgres_cluster.port), str(postgres_cluster.directory)]
    assert settings.split() == ["127.0.0.1", *where]


def test_runs_as_an_unprivileged_user_under_root(postgres_cluster: PostgresCluster) -> None:
    pid = postgres_cluster.pid()
    assert pid is not None
    uid = os.stat(f"/proc/{pid}").st_uid
    assert uid != 0
    assert (os.geteuid() == 0) == (postgres_cluster.os_user is not None)


def test_a_wrong_password_is_refused(postgres_cluster: PostgresCluster) -> None:
    psql = postgres_cluster.bindir / "psql"
    done = subprocess.run(
        [str(psql), "-X", "-h", "127.0.0.1", "-p", str(postgres_cluster.port), "-U", ROLE,
         "-d", "postgres", "-c", "SELECT 1"],
        env={**os.environ, "PGPASSWORD": "not-the-password"}, capture_output=True, text=True,
        check=False, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2
    assert f'password authentication failed for user "{ROLE}"' in done.stderr


def test_fresh_databases_are_empty_and_distinct(postgres_cluster: PostgresCluster) -> None:
    first = postgres_cluster.fresh_database()
    second = postgres_cluster.fresh_database()
    first_name = urllib.parse.urlsplit(first).path.lstrip("/")
    second_name = urllib.parse.urlsplit(second).path.lstrip("/")
    assert first_name != second_name
    count = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
    assert postgres_cluster.psql(count, first_name).strip() == "0"
    assert urllib.parse.urlsplit(first).password == postgres_cluster.password


def test_a_restart_keeps_what_was_committed(postgres_cluster: PostgresCluster) -> None:
    name = urllib.parse.urlsplit(postgres_cluster.fresh_database()).path.lstrip("/")
    postgres_cluster.psql("CREATE TABLE kept (n INTEGER); INSERT INTO kept VALUES (7)", name)
    before = postgres_cluster.pid()
    postgres_cluster.restart("immediate")
    assert postgres_cluster.pid() not in (None, before)
    assert postgres_cluster.psql("SELECT n FROM kept", name).strip() == "7"


def test_a_dropped_database_is_gone_though_a_connection_held_it(
    postgres_cluster: PostgresCluster,
) -> None:
    import psycopg

    url = postgres_cluster.fresh_database()
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    exists = f"SELECT count(*) FROM pg_database WHERE datname = '{name}'"
    with psycopg.connect(url) as held:
        postgres_cluster.drop_database(name)
        assert postgres_cluster.psql(exists).strip() == "0"
        with pytest.raises(psycopg.OperationalError):
            held.execute("SELECT 1")
    postgres_cluster.drop_database(name)  # already gone: nothing to do
    with pytest.raises(ValueError, match="not a plain database name"):
        postgres_cluster.drop_database("t1; DROP ROLE tilecred")
