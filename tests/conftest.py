"""Shared fixtures: a clean environment and default client for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pytest_httpserver import HTTPServer

import tilecred._api
from tests._engines import engine, parametrize_engines
from tests._postgres import postgres_cluster, postgres_url

if TYPE_CHECKING:
    from tests._moto import Moto

# tilecred's own pytest plugin (tilecred_store, tilecred_server), as users enable it.
pytest_plugins = ["pytester", "tilecred.testing"]

# The PostgreSQL fixtures, for any test marked ``postgres``; engine, for the
# tests that run on both SQLite and PostgreSQL.
__all__ = ["engine", "postgres_cluster", "postgres_url"]

# Values that must never appear in output, logs or errors.
CANARY_SECRET = "CANARY-s3cr3t-9f1c2e7a"
CANARY_TOKEN = "tc-ws_canary-CANARYTOKEN7d41"


def _reset_default_client() -> None:
    client = tilecred._api._default
    tilecred._api._default = None
    if client is not None:
        client.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_engines(metafunc)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No configuration leaks in from the machine, and none leaks out.

    Every TileDB, tilecred and proxy variable is removed, the profile directory and
    the local store point into this test's temporary directory, and the
    default client is reset before and after.
    """
    for variable in list(os.environ):
        # A proxy from the machine would send the tests' requests elsewhere.
        if variable.startswith(("TILEDB_", "TILECRED_")) or variable.lower().endswith("_proxy"):
            monkeypatch.delenv(variable)
    monkeypatch.setenv("TILEDB_PROFILE_DIR", str(tmp_path / "tiledb-profiles"))
    monkeypatch.setenv("TILECRED_HOME", str(tmp_path / "tilecred-home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    _reset_default_client()
    yield tmp_path
    _reset_default_client()


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    """moto's S3, STS and IAM with signatures checked, for one test module."""
    from tests._moto import module_moto  # boto3 and moto: the services' sessions only

    yield from module_moto(tmp_path_factory)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HTTPServer, str]]:
    """An HTTPS server with a test-made certificate for 127.0.0.1, and the certificate file."""
    import ssl

    from tests._http_helpers import self_signed

    cert_file, key_file = self_signed(tmp_path_factory.mktemp("tls"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    yield server, str(cert_file)
    server.clear()
    server.stop()
