"""Routing, auth, limits and the error contract of ``tilecred serve``, over real HTTP."""

from __future__ import annotations

import http.client
import logging
import re
from typing import Any

import msgspec
import pytest

from tests.conftest import CANARY_SECRET
from tests.test_server_harness import Running, aws_key_body, aws_role_body

pytest_plugins = ["tests.test_server_harness"]

REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


# Every test here runs on SQLite and on PostgreSQL (tests/_engines.py).
pytestmark = pytest.mark.usefixtures("engine")


def assert_error(reply: Any, status: int, message: str, field: str | None = None) -> None:
    """The full error contract: status, JSON body, and the id in header and body."""
    assert reply.status == status, reply.raw
    assert reply.headers["Content-Type"] == "application/json"
    request_id = reply.headers["X-Request-Id"]
    assert REQUEST_ID.match(request_id)
    expected: dict[str, Any] = {"code": status, "message": message, "request_id": request_id}
    if field is not None:
        expected["validation_error"] = {"fields": [{"field": field, "message": message}]}
    assert reply.json == expected


def test_healthz_needs_no_token(server: Running) -> None:
    reply = server.request("GET", "/healthz", token=None)
    assert (reply.status, reply.json) == (200, {"status": "ok"})
    assert REQUEST_ID.match(reply.headers["X-Request-Id"])


def test_openapi_document_is_generated_from_the_models(server: Running) -> None:
    reply = server.request("GET", "/openapi.json", token=None)
    assert reply.status == 200
    doc = reply.json
    assert doc["openapi"] == "3.1.0"
    assert sorted(doc["paths"]) == [
        "/healthz",
        "/openapi.json",
        "/tilecred/v1/associations/{workspace}",
        "/tilecred/v1/audit/{workspace}",
        "/tilecred/v1/audit/{workspace}/summary",
        "/tilecred/v1/credentials/{workspace}/use",
        "/tilecred/v1/credentials/{workspace}/{name}/activate",
        "/tilecred/v1/credentials/{workspace}/{name}/deactivate",
        "/tilecred/v1/credentials/{workspace}/{name}/use",
        "/tilecred/v1/credentials/{workspace}/{name}/verify",
        "/tilecred/v1/tokens/{workspace}",
        "/tilecred/v1/tokens/{workspace}/{token_id}",
        "/tilecred/v1/tokens/{workspace}/{token_id}/activate",
        "/tilecred/v1/tokens/{workspace}/{token_id}/deactivate",
        "/tilecred/v1/tokens/{workspace}/{token_id}/regenerate",
        "/v4/actions/credentials/verify",
        "/v4/credentials/{workspace}",
        "/v4/credentials/{workspace}/{name}",
        "/v4/teamspaces/{workspace}",
        "/v4/teamspaces/{workspace}/{teamspace}",
        "/v4/workspaces/{workspace}",
    ]
    assert sorted(doc["paths"]["/v4/credentials/{workspace}/{name}"]) == ["delete", "get", "patch"]
    schemas = doc["components"]["schemas"]
    assert schemas["AWSRole"]["required"] == ["role_arn"]
    assert schemas["CloudProvider"]["enum"] == [
        "AWS", "AZURE", "DATABRICKS", "GCP", "GENERIC", "SNOWFLAKE",
    ]  # fmt: skip
    assert schemas["ErrorResponse"]["required"] == ["code", "message", "request_id"]
    create = doc["paths"]["/v4/credentials/{workspace}"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CredentialCreateRequest"
    }
    # Every $ref points at a schema that is there.
    refs = re.findall(r'"\$ref":"#/components/schemas/([^"]+)"', reply.raw.decode())
    assert refs
    assert set(refs) <= set(schemas)


@pytest.mark.parametrize(
    "path", ["/", "/v4", "/v4/credentials", "/v4/nothing/ws", "/v4/credentials/ws/a/b"]
)
def test_unknown_route_is_404(server: Running, path: str) -> None:
    assert_error(server.request("GET", path), 404, "no such route")


@pytest.mark.parametrize("path", ["/v4//credentials/{ws}", "/v4/credentials/{ws}/", "/healthz/",
                                  "/v4/credentials//{ws}", "/v4/credentials/{ws}//x"])  # fmt: skip
def test_a_path_with_an_empty_segment_is_404(server: Running, path: str) -> None:
    reply = server.request("GET", path.format(ws=server.workspace_id))
    assert_error(reply, 404, "no such route: the path has an empty segment")


def test_a_path_that_starts_with_two_slashes_is_400(server: Running) -> None:
    # It reads as an absolute URI (//host/path); cheroot refuses it before the application.
    reply = server.request("GET", f"//v4/credentials/{server.workspace_id}")
    assert (reply.status, reply.raw) == (400, b"Absolute URI not allowed if server is not a proxy.")


def test_an_encoded_slash_stays_inside_its_segment(server: Running) -> None:
    assert server.request("POST", server.credentials_path(), body=aws_role_body("d1")).status == 201
    # Decoded before routing, this would be a get of d1 in the workspace.
    reply = server.request("GET", f"/v4/credentials/{server.workspace_id}%2Fd1")
    assert_error(reply, 404, f"workspace {server.workspace_id + '/d1'!r} not found")
    reply = server.request("GET", f"/v4/credentials/{server.workspace_id}%2fd1")
    assert reply.status == 404
    # Other encoded characters are names like any other.
    assert server.request("GET", f"/v4/credentials/{server.workspace_id}/%64%31").status == 200


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/v4/credentials/ws_x", "POST, GET"),
        ("POST", "/v4/credentials/ws_x/name", "GET, PATCH, DELETE"),
        ("DELETE", "/healthz", "GET"),
        ("GET", "/v4/actions/credentials/verify", "POST"),
        ("DELETE", "/v4/teamspaces/ws_x", "POST, GET"),
    ],
)
def test_wrong_method_is_405_with_allow(
    server: Running, method: str, path: str, allow: str
) -> None:
    reply = server.request(method, path)
    assert_error(reply, 405, f"method {method} is not allowed here; use {allow}")
    assert reply.headers["Allow"] == allow


def test_missing_token_is_401(server: Running) -> None:
    reply = server.request("GET", server.credentials_path(), token=None)
    assert_error(
        reply, 401, "missing API token: send it in X-TILEDB-REST-API-KEY or Authorization: Bearer"
    )
    assert reply.headers["WWW-Authenticate"] == "Bearer"


def test_unknown_token_is_401(server: Running) -> None:
    forged = server.token[:-4] + "0000"
    reply = server.request("GET", server.credentials_path(), token=forged)
    assert_error(reply, 401, "unknown or revoked API token")


def test_basic_auth_is_401_naming_the_scheme(server: Running) -> None:
    reply = server.request(
        "GET", server.credentials_path(), token=None, headers={"Authorization": "Basic dTpw"}
    )
    assert_error(
        reply,
        401,
        "Basic authorization is not supported; send an API token in X-TILEDB-REST-API-KEY "
        "or Authorization: Bearer",
    )


def test_bearer_token_is_accepted(server: Running) -> None:
    reply = server.request(
        "GET",
        server.credentials_path(),
        token=None,
        headers={"Authorization": f"Bearer {server.token}"},
    )
    assert reply.status == 200
    assert reply.json["data"] == []


def test_tiledb_client_headers_are_accepted(server: Running) -> None:
    # TileDB's client sends a JSON content type on GET and DELETE, and its own agent.
    headers = {"Content-Type": "application/json", "User-Agent": "OpenAPI-Generator/1.0.0/python"}
    assert server.request("GET", server.credentials_path(), headers=headers).status == 200
    reply = server.request("DELETE", server.credentials_path("absent"), headers=headers)
    assert_error(reply, 404, "credential not found")


def test_body_over_one_mebibyte_is_413_before_it_is_sent(server: Running) -> None:
    # Only the head is sent: the answer comes from the declared length alone.
    head = (
        f"POST {server.credentials_path()} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"X-TILEDB-REST-API-KEY: {server.token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {1024 * 1024 + 1}\r\n\r\n"
    )
    reply = server.exchange(head.encode())
    assert_error(reply, 413, f"request body of {1024 * 1024 + 1} bytes is over the 1 MiB limit")
    assert reply.headers["Connection"] == "close"
    assert server.request("GET", server.credentials_path()).json["data"] == []


def test_chunked_body_over_one_mebibyte_is_413(server: Running) -> None:
    conn = http.client.HTTPConnection(server.server.host, server.server.port, timeout=30)
    chunks = (b"x" * 65536 for _ in range(17))
    conn.request(
        "POST",
        server.credentials_path(),
        body=chunks,
        headers={
            "X-TILEDB-REST-API-KEY": server.token,
            "Transfer-Encoding": "chunked",
            "Content-Type": "application/json",
        },
        encode_chunked=True,
    )
    resp = conn.getresponse()
    body = msgspec.json.decode(resp.read())
    conn.close()
    assert resp.status == 413
    # Read up to the limit and no further: no length was declared.
    assert body["message"] == "request body is over the 1 MiB limit"


def test_body_of_exactly_one_mebibyte_is_read(server: Running) -> None:
    body = aws_role_body("edge")
    encoded = msgspec.json.encode(body)
    padded = encoded[:-1] + b"," + b'"pad":"' + b"x" * 0 + b'"}'
    padded = padded[:-2] + b"x" * (1024 * 1024 - len(padded)) + b'"}'
    assert len(padded) == 1024 * 1024
    assert server.request("POST", server.credentials_path(), raw=padded).status == 201


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        (None, "request body must be application/json; no Content-Type was sent"),
        ("text/plain", "request body must be application/json, not 'text/plain'"),
        ("application/x-www-form-urlencoded",
         "request body must be application/json, not 'application/x-www-form-urlencoded'"),
        ("application/jsonp", "request body must be application/json, not 'application/jsonp'"),
    ],
)  # fmt: skip
def test_a_body_that_is_not_json_is_415(
    server: Running, content_type: str | None, message: str
) -> None:
    head = (
        f"POST {server.credentials_path()} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"X-TILEDB-REST-API-KEY: {server.token}\r\nContent-Length: 2\r\n"
        + (f"Content-Type: {content_type}\r\n" if content_type else "")
        + "\r\n{}"
    )
    assert_error(server.exchange(head.encode()), 415, message)
    assert server.request("GET", server.credentials_path()).json["data"] == []


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
def test_json_with_parameters_or_in_any_case_is_accepted(
    server: Running, content_type: str
) -> None:
    body = aws_role_body("typed")
    reply = server.request(
        "POST", server.credentials_path(), body=body, headers={"Content-Type": content_type}
    )
    assert reply.status == 201, reply.raw


def test_get_and_delete_need_no_content_type(server: Running) -> None:
    assert server.request("POST", server.credentials_path(), body=aws_role_body("g")).status == 201
    conn = http.client.HTTPConnection(server.server.host, server.server.port, timeout=30)
    for method, expected in (("GET", 200), ("DELETE", 204)):
        conn.request(method, server.credentials_path("g"),
                     headers={"X-TILEDB-REST-API-KEY": server.token})  # fmt: skip
        response = conn.getresponse()
        response.read()
        assert response.status == expected
    conn.close()


def test_malformed_json_is_400(server: Running) -> None:
    reply = server.request("POST", server.credentials_path(), raw=b'{"name": "x",')
    assert_error(reply, 400, "request body is not valid JSON: Input data was truncated")


def test_wrong_type_is_400_with_the_field_path(server: Running) -> None:
    body = aws_role_body("typed")
    body["role"]["aws"]["role_arn"] = 12
    reply = server.request("POST", server.credentials_path(), body=body)
    assert_error(
        reply,
        400,
        "invalid request body: Expected `str`, got `int` - at `$.role.aws.role_arn`",
        field="$.role.aws.role_arn",
    )


def test_missing_required_field_is_400_with_its_path(server: Running) -> None:
    reply = server.request("POST", server.credentials_path(), body={"provider": "AWS"})
    assert_error(
        reply, 400, "invalid request body: Object missing required field `name`", field="$.name"
    )


def test_unknown_provider_is_400(server: Running) -> None:
    reply = server.request(
        "POST", server.credentials_path(), body=aws_role_body("p", provider="S3")
    )
    assert_error(
        reply,
        400,
        "invalid request body: Invalid enum value 'S3' - at `$.provider`",
        field="$.provider",
    )


def test_two_secrets_at_once_is_400(server: Running) -> None:
    body = aws_key_body("two", CANARY_SECRET, role={"aws": {"role_arn": "arn:aws:iam::1:role/x"}})
    reply = server.request("POST", server.credentials_path(), body=body)
    assert_error(
        reply, 400, "invalid request: give only one of credential, role and token, not credential "
        "and role", field="$",
    )  # fmt: skip
    assert CANARY_SECRET.encode() not in reply.raw


def test_secret_for_another_provider_is_400(server: Running) -> None:
    body = aws_role_body("wrong", provider="AZURE")
    reply = server.request("POST", server.credentials_path(), body=body)
    assert_error(
        reply, 400, "invalid request: role.aws is for provider AWS, not AZURE", field="$.role.aws"
    )


def test_missing_required_secret_is_400(server: Running) -> None:
    body = aws_key_body("nosecret", "")
    reply = server.request("POST", server.credentials_path(), body=body)
    assert_error(
        reply,
        400,
        "invalid request: credential.aws.secret_access_key is required",
        field="$.credential.aws.secret_access_key",
    )


def test_bad_name_is_400(server: Running) -> None:
    reply = server.request("POST", server.credentials_path(), body=aws_role_body("a\x01b"))
    assert_error(
        reply, 400, "invalid request: name 'a\\x01b' must not contain control characters",
        field="$.name",
    )  # fmt: skip


_INT = "query parameter {} must be an integer from 1 to {}, not {!r}"
BAD_QUERIES: list[tuple[tuple[str, str], str, str | None]] = [
    (("page", "0"), _INT.format("page", 2**31 - 1, "0"), "page"),
    # Refused by the store's side, as the local backend refuses it: no field.
    (("per_page", "1001"), "per_page must be at most 1000, not 1001", None),
    (("per_page", "ten"), _INT.format("per_page", 2**31 - 1, "ten"), "per_page"),
    (("verify", "maybe"), "query parameter verify must be true or false, not 'maybe'", "verify"),
    (("type", "user"), "query parameter type must be workspace or teamspace, not 'user'", "type"),
    (
        ("provider", "S3"),
        "query parameter provider must be one of AWS, AZURE, GCP, SNOWFLAKE, DATABRICKS, "
        "GENERIC, not 'S3'",
        "provider",
    ),
]


@pytest.mark.parametrize(("query", "message", "field"), BAD_QUERIES)
def test_bad_list_query_is_400(
    server: Running, query: tuple[str, str], message: str, field: str | None
) -> None:
    reply = server.request("GET", server.credentials_path(), query=[query])
    assert_error(reply, 400, message, field=field)


def test_every_response_has_a_request_id(server: Running) -> None:
    ids = set()
    for _ in range(3):
        reply = server.request("GET", server.credentials_path())
        assert reply.status == 200
        ids.add(reply.headers["X-Request-Id"])
    assert len(ids) == 3


def test_one_access_log_line_per_request_without_token_or_body(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tilecred.server.access")
    created = server.request(
        "POST", server.credentials_path(), body=aws_key_body("k", CANARY_SECRET)
    )
    assert created.status == 201
    missing = server.request("GET", server.credentials_path("absent"), token=None)
    unknown = server.request("GET", server.credentials_path("absent"))
    lines = [r.getMessage() for r in caplog.records if r.name == "tilecred.server.access"]
    assert len(lines) == 3
    admin_id = server.app.tokens.authenticate(server.token)
    assert admin_id is not None
    assert re.fullmatch(
        rf'127\.0\.0\.1 "POST /v4/credentials/{server.workspace_id}" 201 \d+ [\d.]+ms '
        rf"id={created.headers['X-Request-Id']} token={admin_id.id}",
        lines[0],
    ), lines[0]
    assert re.fullmatch(
        rf'127\.0\.0\.1 "GET /v4/credentials/{server.workspace_id}/absent" 401 \d+ [\d.]+ms '
        rf"id={missing.headers['X-Request-Id']} token=-",
        lines[1],
    ), lines[1]
    assert re.fullmatch(
        rf'127\.0\.0\.1 "GET /v4/credentials/{server.workspace_id}/absent" 404 \d+ [\d.]+ms '
        rf"id={unknown.headers['X-Request-Id']} token={admin_id.id}",
        lines[2],
    ), lines[2]
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert CANARY_SECRET not in everything
    assert server.token not in everything
    assert server.token.rsplit("-", 1)[1] not in everything


def test_one_access_log_line_carries_at_most_200_characters_of_path(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tilecred.server.access")
    path = "/v4/credentials/" + "a" * 20_000
    reply = server.request("GET", path, token=None, headers={"Content-Type": "text/plain"})
    assert reply.status == 401
    (line,) = [r.getMessage() for r in caplog.records if r.name == "tilecred.server.access"]
    assert f'"GET {path[:200]}...[{len(path)} chars]" 401 ' in line
    assert len(line) < 400


def test_a_log_line_cannot_be_forged_through_the_path(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tilecred.server.access")
    server.request("GET", server.credentials_path("x\n127.0.0.1 forged"))
    (line,) = [r.getMessage() for r in caplog.records if r.name == "tilecred.server.access"]
    assert "\n" not in line
    assert "x%0A127.0.0.1%20forged" in line
