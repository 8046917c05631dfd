"""An OAuth client's token exchange, made by the library for the local store,
against a real token endpoint on 127.0.0.1 (pytest-httpserver)."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from typing import Any
from urllib.parse import parse_qsl

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from tilecred import CredentialsError, create_credential, read_audit, use_credential
from tilecred._access._oauth import EXPIRY_MARGIN

from .conftest import CANARY_SECRET

# Every test here runs on SQLite and on PostgreSQL (tests/_engines.py).
pytestmark = pytest.mark.usefixtures("engine")

CLIENT_ID = "etl app:1"
REFRESH = CANARY_SECRET + "-refresh"


def _create(httpserver: HTTPServer, name: str = "idp", **extra: Any) -> None:
    create_credential(name, "GENERIC", allowed_in_tasks=True, credential={"oauth": {
        "token_url": httpserver.url_for("/oauth/token"), "client_id": CLIENT_ID,
        "client_secret": CANARY_SECRET + " &+", **extra}})  # fmt: skip


def _sent(httpserver: HTTPServer) -> list[tuple[str, dict[str, str], str, str]]:
    """Each token request: path, form, Authorization and Content-Type."""
    return [
        (
            request.path,
            dict(parse_qsl(request.get_data(as_text=True), keep_blank_values=True)),
            request.headers["Authorization"],
            request.headers["Content-Type"],
        )
        for request, _ in httpserver.log
    ]


# RFC 6749 §2.3.1: id and secret each form-urlencoded, then Basic.
BASIC = "Basic " + base64.b64encode(f"etl+app%3A1:{CANARY_SECRET}+%26%2B".encode()).decode()
FORM = "application/x-www-form-urlencoded"


def test_a_client_credentials_token_is_fetched_once_and_reused(httpserver: HTTPServer) -> None:
    _create(httpserver, scopes=["read:sales", "write"], audience="https://api.example.com")
    httpserver.expect_request("/oauth/token", method="POST").respond_with_json(
        {"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600}
    )
    with use_credential("idp") as access:
        assert access.expires_at is None  # nothing fetched yet
        assert access.headers() == {"Authorization": "Bearer at-1"}
        assert access.headers() == {"Authorization": "Bearer at-1"}
        assert access.expires_at is not None
    assert _sent(httpserver) == [
        ("/oauth/token", {"grant_type": "client_credentials", "scope": "read:sales write",
                          "audience": "https://api.example.com"}, BASIC, FORM),
    ]  # fmt: skip


def test_a_token_that_expires_within_the_margin_is_fetched_again(httpserver: HTTPServer) -> None:
    _create(httpserver)
    # Already inside the margin when it arrives: every use asks again.
    lasting = int(EXPIRY_MARGIN.total_seconds()) // 2
    answers = iter(["at-1", "at-2"])
    httpserver.expect_request("/oauth/token", method="POST").respond_with_handler(
        lambda request: _json({"access_token": next(answers), "expires_in": lasting})
    )
    with use_credential("idp") as access:
        assert access.headers() == {"Authorization": "Bearer at-1"}
        assert access.headers() == {"Authorization": "Bearer at-2"}
    assert [form for _, form, _, _ in _sent(httpserver)] == [
        {"grant_type": "client_credentials"}, {"grant_type": "client_credentials"}
    ]  # fmt: skip


def _json(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), content_type="application/json")


def test_a_stored_refresh_token_is_used_and_a_rotated_one_is_stored_back(
    httpserver: HTTPServer,
) -> None:
    _create(httpserver, refresh_token=REFRESH)
    httpserver.expect_request("/oauth/token", method="POST").respond_with_json(
        {"access_token": "at-1", "expires_in": 3600, "refresh_token": "rt-2"}
    )
    with use_credential("idp") as access:
        assert access.headers() == {"Authorization": "Bearer at-1"}
    assert _sent(httpserver) == [
        ("/oauth/token", {"grant_type": "refresh_token", "refresh_token": REFRESH}, BASIC, FORM),
    ]
    with use_credential("idp") as again:
        stored = again.credential.credential
        assert stored is not None
        assert stored.oauth is not None
        assert stored.oauth.refresh_token == "rt-2"
        assert stored.oauth.client_secret == CANARY_SECRET + " &+"
    actions = [(r.action, r.outcome, r.detail) for r in read_audit(credential="idp")]
    assert actions == [
        ("create", "ok", "GENERIC credential.oauth allowed_in_tasks"),
        ("use", "ok", None),
        ("update", "ok", "changed credential"),
        ("use", "ok", None),
    ]
    assert all(REFRESH not in str(r) and "rt-2" not in str(r) for r in read_audit())


def test_the_same_refresh_token_sent_back_is_not_stored_again(httpserver: HTTPServer) -> None:
    _create(httpserver, refresh_token=REFRESH)
    httpserver.expect_request("/oauth/token", method="POST").respond_with_json(
        {"access_token": "at-1", "refresh_token": REFRESH}
    )
    with use_credential("idp") as access:
        access.headers()
    assert [r.action for r in read_audit(credential="idp")] == ["create", "use"]


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (400, {"error": "invalid_client", "error_description": "client authentication failed"},
         "refused (400): invalid_client: client authentication failed"),
        (200, {"token_type": "Bearer"}, "answered 200 without an access_token"),
    ],
)  # fmt: skip
def test_a_refusal_names_the_endpoint_and_its_error_and_never_a_secret(
    httpserver: HTTPServer, status: int, body: dict[str, Any], message: str
) -> None:
    _create(httpserver)
    httpserver.expect_request("/oauth/token", method="POST").respond_with_json(body, status=status)
    with use_credential("idp") as access, pytest.raises(CredentialsError) as caught:
        access.headers()
    where = httpserver.url_for("/oauth/token")
    assert caught.value.status == status
    assert caught.value.message == f"the OAuth token endpoint {where} {message}"
    assert CANARY_SECRET not in str(caught.value) + repr(caught.value)


def test_a_refusal_that_echoes_the_clients_secrets_quotes_them_masked_on_one_line(
    httpserver: HTTPServer,
) -> None:
    _create(httpserver, refresh_token=REFRESH)
    secret = CANARY_SECRET + " &+"
    echoed = f"client_secret {secret} or\nrefresh_token {REFRESH} ({CANARY_SECRET}+%26%2B) "
    httpserver.expect_request("/oauth/token", method="POST").respond_with_json(
        {"error": "invalid_grant", "error_description": echoed + "x" * 1000}, status=400
    )
    with use_credential("idp") as access, pytest.raises(CredentialsError) as caught:
        access.headers()
    where = httpserver.url_for("/oauth/token")
    message = f"the OAuth token endpoint {where} refused (400): invalid_grant: client_secret "
    message += "*** or refresh_token *** (***) " + "x" * 1000
    assert caught.value.message == message[:299] + "…"
    assert CANARY_SECRET not in str(caught.value) + repr(caught.value)


def test_an_endpoint_that_does_not_answer_json_is_a_clean_error(httpserver: HTTPServer) -> None:
    _create(httpserver)
    httpserver.expect_request("/oauth/token", method="POST").respond_with_data(
        "<html>bad gateway</html>", status=502
    )
    with use_credential("idp") as access, pytest.raises(CredentialsError) as caught:
        access.auth()(_Request())
    where = httpserver.url_for("/oauth/token")
    assert caught.value.message == (
        f"the OAuth token endpoint {where} answered 502 without a JSON token response"
    )
    assert caught.value.status == 502


class _Request:
    def __init__(self) -> None:
        self.headers: dict[str, str] = {}


def test_auth_asks_for_a_token_on_each_request_it_sets(httpserver: HTTPServer) -> None:
    _create(httpserver)
    httpserver.expect_request("/oauth/token", method="POST").respond_with_json(
        {"access_token": "at-1", "expires_in": 3600}
    )
    with use_credential("idp") as access:
        auth = access.auth()
        first, second = auth(_Request()), auth(_Request())
    assert first.headers == second.headers == {"Authorization": "Bearer at-1"}
    assert len(httpserver.log) == 1


def test_the_access_token_and_a_rotated_refresh_token_are_masked_wherever_they_show(
    httpserver: HTTPServer,
) -> None:
    access_token, rotated = f"at-{uuid.uuid4().hex}", f"rt-{uuid.uuid4().hex}"
    _create(httpserver, refresh_token=REFRESH)
    httpserver.expect_request("/oauth/token", method="POST").respond_with_json(
        {"access_token": access_token, "expires_in": 3600, "refresh_token": rotated}
    )
    with use_credential("idp") as access:
        headers = access.headers()
    assert headers["Authorization"] == f"Bearer {access_token}"
    assert repr(headers) == "{'Authorization': '***'}"
    record = logging.makeLogRecord({"msg": "%s then %s", "args": (access_token, rotated)})
    assert record.getMessage() == "*** then ***"
