"""A basic login's ``url()`` opens a real PostgreSQL database with psycopg.

The role, its password and the database have names full of the characters
a URL gives meaning to, so only a URL whose every part is percent-encoded
reaches them.
"""

from __future__ import annotations

import pytest

from tests._postgres import PostgresCluster
from tilecred import create_credential, use_credential

psycopg = pytest.importorskip("psycopg")

pytestmark = pytest.mark.postgres

USER = "etl user@corp:1"
PASSWORD = "p@ss/w:rd?#%&= é"
DATABASE = "sales/eu #1"


def test_psycopg_connects_with_the_url_of_a_basic_login(
    postgres_cluster: PostgresCluster,
) -> None:
    postgres_cluster.psql(f"CREATE ROLE \"{USER}\" LOGIN PASSWORD '{PASSWORD}'")
    postgres_cluster.psql(f'CREATE DATABASE "{DATABASE}" OWNER "{USER}"')
    try:
        create_credential("warehouse", "GENERIC", allowed_in_tasks=True, credential={"basic": {
            "user": USER, "password": PASSWORD, "host": "127.0.0.1",
            "port": postgres_cluster.port, "database": DATABASE, "scheme": "postgresql",
            "params": {"application_name": "tilecred test", "sslmode": "disable"}}})  # fmt: skip
        with use_credential("warehouse") as access, psycopg.connect(access.url()) as conn:
            row = conn.execute(
                "SELECT current_user, current_database(), current_setting('application_name')"
            ).fetchone()
        assert row == (USER, DATABASE, "tilecred test")
    finally:
        postgres_cluster.psql(f'DROP DATABASE IF EXISTS "{DATABASE}"')
        postgres_cluster.psql(f'DROP ROLE IF EXISTS "{USER}"')
