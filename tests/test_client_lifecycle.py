"""A client checks its settings when built and refuses calls once closed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import tilecred
from tests._http_helpers import credential_json, make_client, seen
from tests.conftest import CANARY_TOKEN


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"timeout": 0}, "timeout must be a positive number of seconds, not 0"),
        ({"retries": -1}, "retries must be an int of at least 0, not -1"),
        ({"host": "ftp://example.com"}, "host must be an http or https URL, not 'ftp://example.com'"),
        ({"token": "has space"}, "token (from argument) must be printable ASCII without spaces"),
        ({"proxy": 3128}, "proxy must be a str, not int"),
        ({"proxy": "socks5://127.0.0.1:1080"}, "proxy socks5://127.0.0.1:1080 (from argument) "
         "must be an http or https URL; socks5 proxies are not supported"),
    ],
)  # fmt: skip
def test_a_wrong_setting_fails_when_the_client_is_built(
    httpserver: HTTPServer, settings: dict[str, Any], message: str
) -> None:
    settings.setdefault("host", httpserver.url_for("/"))
    with pytest.raises(tilecred.ConfigurationError) as caught:
        tilecred.Client(token=settings.pop("token", CANARY_TOKEN), **settings)
    assert str(caught.value) == message
    assert httpserver.log == []


def test_building_a_client_sends_nothing(httpserver: HTTPServer) -> None:
    client = make_client(httpserver)
    assert client.settings.host == f"http://127.0.0.1:{httpserver.port}"
    client.close()
    assert httpserver.log == []


def test_a_closed_client_refuses_calls(httpserver: HTTPServer) -> None:
    path = "/v4/credentials/ws_test1/c"
    httpserver.expect_request(path).respond_with_json({"data": credential_json("c")})
    client = make_client(httpserver)
    assert client.get_credential("c").name == "c"
    pager = client.list_credentials()

    client.close()
    with pytest.raises(tilecred.CredentialsError) as got:
        client.get_credential("c")
    with pytest.raises(tilecred.CredentialsError) as listed:
        list(pager)
    client.close()  # closing twice is harmless

    assert (
        str(got.value) == "could not get credential 'c': this client is closed; make a new Client"
    )
    assert (
        str(listed.value) == "could not list credentials: this client is closed; make a new Client"
    )
    assert type(got.value) is tilecred.CredentialsError
    assert (got.value.attempts, got.value.retryable) == (0, False)
    assert [r.path for r in seen(httpserver)] == [path]


def test_a_closed_local_client_refuses_calls(isolated: Path) -> None:
    with tilecred.Client(local=True) as client:
        client.create_credential("c", "AWS", role={"aws": {"role_arn": "arn:aws:iam::1:role/r"}})
    with pytest.raises(tilecred.CredentialsError) as caught:
        client.delete_credential("c")
    assert str(caught.value) == (
        "could not delete credential 'c': this client is closed; make a new Client"
    )
    with tilecred.Client(local=True) as again:
        assert again.get_credential("c").name == "c"


def test_configure_replaces_the_default_client_which_is_closed(httpserver: HTTPServer) -> None:
    old = tilecred.get_client()
    new = tilecred.configure(local=True)
    assert tilecred.get_client() is new is not old
    with pytest.raises(tilecred.CredentialsError, match="this client is closed"):
        old.get_credential("c")
    assert list(tilecred.list_credentials()) == []
