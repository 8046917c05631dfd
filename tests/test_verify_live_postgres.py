"""A basic ``postgresql`` login verified live: psycopg connects to the test
cluster and runs ``SELECT 1``; a wrong password is PostgreSQL's own refusal."""

from __future__ import annotations

import pytest

from tests._postgres import PostgresCluster
from tilecred import VerificationFailedError, create_credential, verify_credential

from .conftest import CANARY_SECRET

pytest.importorskip("psycopg")

pytestmark = pytest.mark.postgres

USER = "verify user"


def _login(cluster: PostgresCluster, name: str, password: str) -> None:
    login = {
        "user": USER,
        "password": password,
        "host": "127.0.0.1",
        "port": cluster.port,
        "database": "postgres",
        "scheme": "postgresql",
        "params": {"sslmode": "disable"},
    }
    create_credential(name, "GENERIC", credential={"basic": login})  # fmt: skip


def test_a_postgresql_login_is_verified_by_connecting(postgres_cluster: PostgresCluster) -> None:
    postgres_cluster.psql(f"CREATE ROLE \"{USER}\" LOGIN PASSWORD '{CANARY_SECRET}'")
    try:
        _login(postgres_cluster, "wh", CANARY_SECRET)
        _login(postgres_cluster, "wrong", CANARY_SECRET + "-not")
        result = verify_credential("wh", live=True)
        assert (result.call, result.identity) == ("postgresql:SELECT 1", USER)
        assert result.endpoint == f"postgresql://127.0.0.1:{postgres_cluster.port}/postgres"
        with pytest.raises(VerificationFailedError) as caught:
            verify_credential("wrong", live=True)
    finally:
        postgres_cluster.psql(f'DROP ROLE IF EXISTS "{USER}"')
    assert caught.value.code == "FATAL"  # PostgreSQL's severity: libpq gives no SQLSTATE here
    assert caught.value.message == (
        f"credential 'wrong' failed live verification at postgresql://127.0.0.1:"
        f'{postgres_cluster.port}/postgres: FATAL: password authentication failed for user "{USER}"'
    )
    assert CANARY_SECRET not in str(caught.value)
