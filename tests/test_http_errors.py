"""Failing statuses and unreadable bodies become clean one-line errors, secrets scrubbed."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import tilecred
from tests._http_helpers import ARN, WORKSPACE, base_url, make_client, seen
from tests.conftest import CANARY_SECRET, CANARY_TOKEN

CREDENTIALS = f"/v4/credentials/{WORKSPACE}"

# status -> (class, reason phrase); 422's phrase is Python's (it changed in 3.13).
STATUSES: dict[int, tuple[type[tilecred.CredentialsError], str]] = {
    400: (tilecred.CredentialsError, "Bad Request"),
    401: (tilecred.AuthenticationError, "Unauthorized"),
    403: (tilecred.PermissionDeniedError, "Forbidden"),
    404: (tilecred.NotFoundError, "Not Found"),
    409: (tilecred.ConflictError, "Conflict"),
    422: (tilecred.CredentialsError, HTTPStatus(422).phrase),
    429: (tilecred.RateLimitError, "Too Many Requests"),
    500: (tilecred.ServerError, "Internal Server Error"),
    502: (tilecred.ServerError, "Bad Gateway"),
    503: (tilecred.ServerError, "Service Unavailable"),
}


@pytest.fixture
def client(httpserver: HTTPServer) -> Iterator[tilecred.Client]:
    """A client that does not retry: one request per call."""
    with make_client(httpserver, retries=0) as made:
        yield made


def fail_get(client: tilecred.Client) -> tilecred.CredentialsError:
    with pytest.raises(tilecred.CredentialsError) as caught:
        client.get_credential("c")
    return caught.value


# -- statuses -----------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(STATUSES))
def test_status_gives_class_fields_and_one_line(
    client: tilecred.Client, httpserver: HTTPServer, status: int
) -> None:
    httpserver.expect_request(f"{CREDENTIALS}/c").respond_with_json(
        {"code": 1000 + status, "message": f"server says {status}", "request_id": f"req-{status}"},
        status=status,
    )

    error = fail_get(client)

    cls, phrase = STATUSES[status]
    # A refused token is said to be the one given as an argument: not blamed on a variable.
    said = f"server says {status}" + (" (the token from argument)" if status == 401 else "")
    assert type(error) is cls
    assert (error.status, error.code, error.request_id) == (status, 1000 + status, f"req-{status}")
    assert error.message == said
    assert (error.action, error.name, error.teamspace) == ("get credential", "c", None)
    # One request sent; trying again later helps only for "slow down" and gateways.
    assert (error.attempts, error.retryable) == (1, status in (429, 502, 503))
    assert str(error) == (
        f"could not get credential 'c': {status} {phrase}: {said} (request id req-{status})"
    )
    assert len(seen(httpserver)) == 1


@pytest.mark.parametrize("where", ["configure", "environment", "profile", "password"])
def test_a_refused_sign_in_names_where_it_came_from(
    httpserver: HTTPServer, isolated: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    httpserver.expect_request(f"{CREDENTIALS}/c").respond_with_json(
        {"code": 401, "message": "unknown or revoked API token"}, status=401
    )
    host: dict[str, Any] = {"host": base_url(httpserver), "workspace": WORKSPACE, "retries": 0}
    if where == "configure":
        tilecred.configure(token=CANARY_TOKEN, **host)
        origin = "the token from argument"
    elif where == "environment":
        monkeypatch.setenv("TILEDB_REST_TOKEN", CANARY_TOKEN)
        tilecred.configure(**host)
        origin = "the token from environment TILEDB_REST_TOKEN"
    elif where == "profile":
        profiles = isolated / "tiledb-profiles" / "profiles.json"
        profiles.parent.mkdir()
        profiles.write_text(json.dumps({"version": 1, "default": {"rest.token": CANARY_TOKEN}}))
        tilecred.configure(**host)
        origin = f"the token from profile default in {profiles}"
    else:
        tilecred.configure(username="ana", password=CANARY_SECRET, **host)
        origin = "the username and password from argument"
    with pytest.raises(tilecred.AuthenticationError) as caught:
        tilecred.get_credential("c")
    assert str(caught.value) == (
        f"could not get credential 'c': 401 Unauthorized: unknown or revoked API token ({origin})"
    )
    assert CANARY_TOKEN not in str(caught.value)


def test_module_functions_raise_the_same_errors(httpserver: HTTPServer) -> None:
    httpserver.expect_request(CREDENTIALS, method="POST").respond_with_json(
        {"code": 409, "message": "name in use", "request_id": "r9"}, status=409
    )
    tilecred.configure(host=base_url(httpserver), token=CANARY_TOKEN, workspace=WORKSPACE)

    with pytest.raises(tilecred.ConflictError) as caught:
        tilecred.create_credential("dup", "AWS", teamspace="ts_1", role={"aws": {"role_arn": ARN}})

    assert str(caught.value) == (
        "could not create credential 'dup' in teamspace 'ts_1': 409 Conflict: name in use "
        "(request id r9)"
    )


@pytest.mark.parametrize(
    ("body_id", "expected"), [("", "hdr-1"), (None, "hdr-1"), ("body-1", "body-1")]
)
def test_request_id_from_body_else_header(
    client: tilecred.Client, httpserver: HTTPServer, body_id: str | None, expected: str
) -> None:
    body = {"code": 500, "message": "boom", "request_id": body_id}
    httpserver.expect_request(f"{CREDENTIALS}/c").respond_with_json(
        {k: v for k, v in body.items() if v is not None},
        status=500,
        headers={"X-Request-Id": "hdr-1"},
    )

    error = fail_get(client)

    assert error.request_id == expected
    assert str(error) == (
        f"could not get credential 'c': 500 Internal Server Error: boom (request id {expected})"
    )


def test_validation_error_names_the_fields(client: tilecred.Client, httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{CREDENTIALS}/c").respond_with_json(
        {
            "code": 422,
            "message": "invalid body",
            "request_id": "v1",
            "validation_error": {
                "fields": [
                    {"field": "role.aws.role_arn", "message": "not an ARN"},
                    {"field": "name", "message": "too long"},
                ]
            },
        },
        status=422,
    )

    error = fail_get(client)

    assert error.message == "invalid body (role.aws.role_arn: not an ARN; name: too long)"
    assert error.code == 422


# -- bodies that are not a JSON error --------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "content_type", "message"),
    [
        (500, "{not json", "application/json", "the server sent a body that is not a JSON error"),
        (
            400,
            '["a", "list"]',
            "application/json",
            "the server sent a body that is not a JSON error",
        ),
        (
            502,
            "<!DOCTYPE html>\n<html><body><h1>502 Bad Gateway</h1></body></html>",
            "text/html",
            "the server sent an HTML page instead of a JSON error",
        ),
        (
            503,
            "  <html><p>down</p></html>",
            "text/html",
            "the server sent an HTML page instead of a JSON error",
        ),
        (503, "", "text/plain", "no error message in the response"),
        (
            401,
            "{}",
            "application/json",
            "no error message in the response (the token from argument)",
        ),
    ],
)
def test_unreadable_error_body_still_gives_status(
    client: tilecred.Client,
    httpserver: HTTPServer,
    status: int,
    body: str,
    content_type: str,
    message: str,
) -> None:
    httpserver.expect_request(f"{CREDENTIALS}/c").respond_with_data(
        body, status=status, content_type=content_type, headers={"X-Request-Id": "h-2"}
    )

    error = fail_get(client)

    assert type(error) is STATUSES[status][0]
    assert (error.status, error.code, error.request_id) == (status, None, "h-2")
    phrase = STATUSES[status][1]
    assert (
        str(error) == f"could not get credential 'c': {status} {phrase}: {message} (request id h-2)"
    )
    assert error.__cause__ is None


def test_long_multiline_message_is_one_cut_line(
    client: tilecred.Client, httpserver: HTTPServer
) -> None:
    text = "first line\n\tsecond line\r\n" + "word " * 200
    httpserver.expect_request(f"{CREDENTIALS}/c").respond_with_json(
        {"code": 500, "message": text, "request_id": "r"}, status=500
    )

    error = fail_get(client)

    assert error.message.startswith("first line second line word word")
    assert error.message.endswith("…")
    assert len(error.message) == 300
    assert "\n" not in str(error)
    assert "\r" not in str(error)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"not json", "JSON is malformed: invalid character (byte 4)"),
        (b'{"data": {"name": 5}}', "Expected `str`, got `int` - at `$.data.name`"),
        (b"", "Input data was truncated"),
    ],
)
def test_success_body_that_does_not_decode(
    client: tilecred.Client, httpserver: HTTPServer, body: bytes, why: str
) -> None:
    httpserver.expect_request(f"{CREDENTIALS}/c").respond_with_data(
        body, status=200, headers={"X-Request-Id": "ok-1"}
    )

    error = fail_get(client)

    assert type(error) is tilecred.CredentialsError
    assert str(error) == (
        f"could not get credential 'c': the server's response could not be read: {why} "
        "(request id ok-1)"
    )
    assert error.__cause__ is not None


def test_list_body_that_does_not_decode_fails_while_paging(
    client: tilecred.Client, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(CREDENTIALS).respond_with_json({"data": {"not": "a list"}})
    pager = client.list_credentials()

    with pytest.raises(tilecred.CredentialsError) as caught:
        list(pager)

    assert str(caught.value) == (
        "could not list credentials: the server's response could not be read: "
        "Expected `array`, got `object` - at `$.data`"
    )


# -- secrets echoed back ----------------------------------------------------------------


def echo(prefix: str = "") -> Callable[[Request], Response]:
    """A handler that echoes the request body and auth headers in its error message."""

    def handler(request: Request) -> Response:
        auth = request.headers.get("X-TILEDB-REST-API-KEY") or request.headers.get("Authorization")
        message = f"{prefix}bad request {request.get_data(as_text=True)} from {auth}"
        body = {"code": 400, "message": message, "request_id": "echo-1"}
        return Response(json.dumps(body), status=400, content_type="application/json")

    return handler


def assert_clean(error: BaseException, *secrets: str) -> None:
    assert isinstance(error, tilecred.CredentialsError)
    for text in (str(error), repr(error), error.message, *map(str, error.args)):
        for secret in secrets:
            assert secret not in text


def test_echoed_credential_secret_and_token_are_scrubbed(
    client: tilecred.Client, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(CREDENTIALS, method="POST").respond_with_handler(echo())

    with pytest.raises(tilecred.CredentialsError) as caught:
        client.create_credential(
            "c",
            "AWS",
            credential={"aws": {"access_key_id": "AKIA1", "secret_access_key": CANARY_SECRET}},
        )

    assert_clean(caught.value, CANARY_SECRET, CANARY_TOKEN)
    assert caught.value.message == (
        'bad request {"name":"c","provider":"AWS","credential":{"aws":{"access_key_id":"AKIA1",'
        '"secret_access_key":"***"}}} from ***'
    )


def test_secret_cut_in_half_by_the_length_limit_is_scrubbed(
    client: tilecred.Client, httpserver: HTTPServer
) -> None:
    # The echo puts the secret right where the message is cut at 300 characters:
    # its first 10 characters are kept, the rest cut off.
    before = 'bad request {"token":{"azure":{"account_name":"acct","sas_token":"'
    padding = "x" * (299 - 10 - len(before))
    httpserver.expect_request(f"{CREDENTIALS}/c", method="PATCH").respond_with_handler(
        echo(padding)
    )

    with pytest.raises(tilecred.CredentialsError) as caught:
        client.update_credential(
            "c", token={"azure": {"account_name": "acct", "sas_token": CANARY_SECRET}}
        )

    assert caught.value.message.endswith("…")
    assert_clean(caught.value, CANARY_SECRET[:4], CANARY_TOKEN[:8])


def test_multiline_secret_is_scrubbed_raw_escaped_and_reflowed(
    client: tilecred.Client, httpserver: HTTPServer
) -> None:
    pem = f"-----BEGIN PRIVATE KEY-----\n{CANARY_SECRET}AB\nCD{CANARY_SECRET}\n-----END-----"

    def handler(request: Request) -> Response:
        # Both the JSON-escaped body and the raw value, reflowed by one-lining.
        message = f"bad {request.get_data(as_text=True)} raw {pem}"
        body = {"code": 400, "message": message, "request_id": "r"}
        return Response(json.dumps(body), status=400, content_type="application/json")

    httpserver.expect_request("/v4/actions/credentials/verify").respond_with_handler(handler)

    with pytest.raises(tilecred.CredentialsError) as caught:
        client.verify_credential(
            "s", "SNOWFLAKE", token={"snowflake": {"account": "a", "private_key_raw": pem}}
        )

    assert_clean(caught.value, CANARY_SECRET, CANARY_TOKEN)
    assert str(caught.value).count("***") >= 2


# A secret with characters that percent-encoding changes, and letters whose case can.
ODD_SECRET = f"{CANARY_SECRET}/+ =&é"


def create_refused_with(
    client: tilecred.Client,
    httpserver: HTTPServer,
    error_body: Callable[[str, str], dict[str, object]],
) -> tilecred.CredentialsError:
    """The error of creating a credential holding ``ODD_SECRET``, refused with ``error_body``.

    ``error_body`` gets the secret and the token as the server received them.
    """

    def handler(request: Request) -> Response:
        sent = json.loads(request.get_data())["credential"]["aws"]["secret_access_key"]
        body = error_body(sent, request.headers["X-TILEDB-REST-API-KEY"])
        return Response(json.dumps(body), status=400, content_type="application/json")

    httpserver.expect_request(CREDENTIALS, method="POST").respond_with_handler(handler)
    with pytest.raises(tilecred.CredentialsError) as caught:
        client.create_credential(
            "c",
            "AWS",
            credential={"aws": {"access_key_id": "AKIA1", "secret_access_key": ODD_SECRET}},
        )
    return caught.value


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        (lambda s: f"{s[:20]}...", "***..."),
        (lambda s: f"{s[:20]}…", "***…"),
        (lambda s: f"{s[:20]}... (cut)", "***... (cut)"),
        (lambda s: quote(s, safe=""), "***"),
        (lambda s: quote_plus(s, safe=""), "***"),
        (lambda s: quote(s, safe="").lower(), "***"),
        (str.upper, "***"),
        (str.lower, "***"),
        (str.swapcase, "***"),
    ],
    ids=[
        "cut-dots",
        "cut-ellipsis",
        "cut-dots-inside",
        "quoted",
        "quoted-plus",
        "quoted-lower-hex",
        "upper",
        "lower",
        "swapcase",
    ],
)
def test_secret_and_token_echoed_in_another_form_are_scrubbed(
    client: tilecred.Client, httpserver: HTTPServer, form: Callable[[str], str], expected: str
) -> None:
    error = create_refused_with(
        client,
        httpserver,
        lambda sent, token: {"message": f"key {form(sent)} from {form(token)} refused"},
    )

    assert error.message == f"key {expected} from {expected} refused"
    assert_clean(error, CANARY_SECRET, CANARY_TOKEN, CANARY_SECRET[:20], CANARY_TOKEN[:20])


def test_string_code_and_request_id_echoing_secrets_are_scrubbed(
    client: tilecred.Client, httpserver: HTTPServer
) -> None:
    error = create_refused_with(
        client,
        httpserver,
        lambda sent, token: {
            "code": f"E:{sent}:{token}",
            "message": "refused",
            "request_id": f"id-{token}",
        },
    )

    assert error.code == "E:***:***"
    assert error.request_id == "id-***"
    assert str(error) == (
        "could not create credential 'c': 400 Bad Request: refused (request id id-***)"
    )


def test_int_code_is_kept(client: tilecred.Client, httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{CREDENTIALS}/c").respond_with_json(
        {"code": 4004, "message": "no such credential"}, status=404
    )

    assert fail_get(client).code == 4004


def test_basic_auth_password_and_header_are_scrubbed(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{CREDENTIALS}/c").respond_with_handler(echo())
    header = base64.b64encode(f"ada:{CANARY_SECRET}".encode()).decode()

    with (
        tilecred.Client(
            host=base_url(httpserver), username="ada", password=CANARY_SECRET, workspace=WORKSPACE
        ) as client,
        pytest.raises(tilecred.CredentialsError) as caught,
    ):
        client.get_credential("c")

    assert_clean(caught.value, CANARY_SECRET, header)
    assert caught.value.message == "bad request from Basic ***"


def test_no_secret_in_log_records_of_a_failure(
    client: tilecred.Client, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request(CREDENTIALS, method="POST").respond_with_handler(echo())
    caplog.set_level(logging.DEBUG, logger="tilecred")

    with pytest.raises(tilecred.CredentialsError):
        client.create_credential(
            "c", "GCP", token={"gcp": {"account_id": "a", "key_id": "k", "key_text": CANARY_SECRET}}
        )

    messages = [r.getMessage() for r in caplog.records if r.name == "tilecred"]
    assert f"POST {CREDENTIALS} -> 400 in " in " ".join(messages)
    for text in messages:
        assert CANARY_SECRET not in text
        assert CANARY_TOKEN not in text


def test_no_workspace_is_a_configuration_error_and_sends_nothing(httpserver: HTTPServer) -> None:
    with (
        tilecred.Client(host=base_url(httpserver), token="plain-token") as client,
        pytest.raises(tilecred.ConfigurationError) as caught,
    ):
        client.get_credential("c")

    assert str(caught.value) == (
        "could not get credential 'c': no workspace configured: pass workspace=, "
        "set TILEDB_REST_WORKSPACE, or use a workspace-bound token"
    )
    assert seen(httpserver) == []
