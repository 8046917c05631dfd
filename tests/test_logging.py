"""Logging: quiet by default; at DEBUG it says where calls go, never the token."""

from __future__ import annotations

import logging

import pytest
from pytest_httpserver import HTTPServer

import tilecred
from tests.conftest import CANARY_SECRET, CANARY_TOKEN
from tilecred import Client, CredentialsError


def test_the_package_logger_has_a_null_handler() -> None:
    logger = logging.getLogger("tilecred")
    assert any(isinstance(h, logging.NullHandler) for h in logger.handlers)
    assert logger.propagate is True
    assert logger.level == logging.NOTSET  # the application decides


def _texts(records: list[logging.LogRecord]) -> list[str]:
    """Every way a record can be shown: its message, raw args and formatted text."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return [
        text
        for record in records
        for text in (record.getMessage(), repr(record.args), formatter.format(record))
    ]


def test_debug_says_where_calls_go_without_the_token(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="tilecred")
    httpserver.expect_request("/v4/credentials/ws_canary", method="POST").respond_with_data(
        "", status=201
    )
    httpserver.expect_request("/v4/credentials/ws_canary/gone", method="GET").respond_with_json(
        {"code": 404, "message": "credential not found", "request_id": "r-1"}, status=404
    )
    client = Client(host=httpserver.url_for("/"), token=CANARY_TOKEN, password=CANARY_SECRET)
    client.create_credential(
        "lake",
        "AWS",
        credential={"aws": {"access_key_id": "AKIA1", "secret_access_key": CANARY_SECRET}},
    )
    with pytest.raises(CredentialsError):
        client.get_credential("gone")

    ours = [r for r in caplog.records if r.name.startswith("tilecred")]
    where = [r for r in ours if r.getMessage().startswith("tilecred calls go to ")]
    assert len(where) == 1  # once per client, when its backend is made
    assert where[0].levelno == logging.DEBUG
    assert where[0].getMessage() == f"tilecred calls go to {client.settings.describe()}"
    assert "'token': 'tc-ws_canary-***'" in where[0].getMessage()
    assert f"'host': '{httpserver.url_for('/').rstrip('/')}'" in where[0].getMessage()
    assert all(r.levelno == logging.DEBUG for r in ours)
    for text in _texts(caplog.records):
        assert CANARY_TOKEN not in text
        assert "CANARYTOKEN" not in text
        assert CANARY_SECRET not in text


def test_nothing_is_logged_above_debug(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tilecred")
    httpserver.expect_request("/v4/credentials/ws_x/lake", method="DELETE").respond_with_data(
        "", status=204
    )
    tilecred.configure(host=httpserver.url_for("/"), token=CANARY_TOKEN, workspace="ws_x")
    tilecred.delete_credential("lake")
    assert [r for r in caplog.records if r.name.startswith("tilecred")] == []
    assert len(httpserver.log) == 1
