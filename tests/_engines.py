"""One suite, two engines: a test that uses the ``engine`` fixture runs on SQLite
and on PostgreSQL.

On PostgreSQL, ``TILECRED_DATABASE_URL`` names a fresh database of the test
cluster (tests/_postgres.py) and ``TILECRED_MASTER_KEY`` holds a key (a
PostgreSQL store never creates a key file), so the library's local
backend, ``create_app`` and :func:`store_at` all open that database. Tests
about SQLite itself (its file, its pragmas, its key file) are marked
``sqlite_only`` and run on SQLite alone. The PostgreSQL cases are marked
``postgres``: ``nox -s postgres`` runs them.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from tilecred._config import DATABASE_ENV, MASTER_KEY_ENV
from tilecred._local import Store, open_store

__all__ = ["ENGINES", "TEST_KEY", "engine", "parametrize_engines", "store_at"]

ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
TEST_KEY = bytes(range(32))


@pytest.fixture
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, isolated: Path) -> str:
    """``"sqlite"`` or ``"postgres"``; on PostgreSQL the environment points at a fresh database."""
    name: str = request.param
    if name == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        monkeypatch.setenv(DATABASE_ENV, url)
        monkeypatch.setenv(MASTER_KEY_ENV, base64.b64encode(TEST_KEY).decode())
    return name


def parametrize_engines(metafunc: pytest.Metafunc) -> None:
    """Run every test that uses ``engine`` on both engines (``sqlite_only``: SQLite)."""
    if "engine" not in metafunc.fixturenames:
        return
    only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
    metafunc.parametrize("engine", ["sqlite"] if only_sqlite else ENGINES, indirect=True)


def store_at(home: Path, *, key: bytes | None = None) -> Store:
    """The store the test's engine gives: the SQLite one in ``home``, or the test's database."""
    return open_store(os.environ.get(DATABASE_ENV) or home, key=key)
