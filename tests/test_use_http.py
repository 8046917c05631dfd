"""use_credential and read_audit over HTTP: the exact requests, and services without them."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import tilecred
from tests._http_helpers import WORKSPACE, credential_json, make_client, seen
from tests.conftest import CANARY_SECRET, CANARY_TOKEN

USE = f"/tilecred/v1/credentials/{WORKSPACE}/lake/use"
NO_SECRETS_HERE = (
    "TileDB's service applies credentials on its side (name one in a task's "
    "access_credentials_name) and never hands their secrets out; use `tilecred serve` "
    "(a task token) or the local store to use a credential here"
)


def _key(secret: str = CANARY_SECRET) -> dict[str, Any]:
    return {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": secret}}


def test_use_posts_to_the_extension_route_and_keeps_the_secrets(httpserver: HTTPServer) -> None:
    body = {"data": credential_json("lake", role=None, credential=_key(), allowed_in_tasks=True)}
    httpserver.expect_request(USE, method="POST").respond_with_json(body)
    with make_client(httpserver) as client, client.use_credential("lake") as access:
        aws = access.credential.credential.aws  # type: ignore[union-attr]
        assert aws is not None
        assert aws.secret_access_key == CANARY_SECRET
    (request,) = seen(httpserver)
    assert (request.method, request.path, dict(request.query), request.body) == (
        "POST", USE, {}, b""
    )  # fmt: skip
    assert request.headers["x-tiledb-rest-api-key"] == CANARY_TOKEN


def test_use_in_a_teamspace_sends_its_id(httpserver: HTTPServer) -> None:
    body = {"data": credential_json("lake", role=None, credential=_key())}
    httpserver.expect_request(USE, method="POST").respond_with_json(body)
    with make_client(httpserver) as client:
        client.use_credential("lake", teamspace="ts_1").close()
    assert dict(seen(httpserver)[0].query) == {("teamspace_id", "ts_1"): 1}


def test_tiledbs_service_is_refused_before_anything_is_sent() -> None:
    with tilecred.Client(host="https://api.tiledb.com", token=CANARY_TOKEN) as client:
        with pytest.raises(tilecred.ConfigurationError) as info:
            client.use_credential("lake")
        assert info.value.message == (
            "the service at https://api.tiledb.com cannot hand out a credential's secrets: "
            + NO_SECRETS_HERE
        )
        with pytest.raises(tilecred.ConfigurationError) as audit:
            client.audit()
        assert audit.value.message.startswith(
            "the service at https://api.tiledb.com cannot read tilecred's audit log: "
        )


@pytest.mark.parametrize(
    "answer",
    [
        {"code": 404, "message": "Not Found", "request_id": "r1"},  # a JSON 404 of another shape
        {"code": 404, "message": "no such route", "request_id": "r1"},  # an older tilecred serve
    ],
)
def test_a_server_without_the_route_gets_a_clear_error(
    httpserver: HTTPServer, answer: dict[str, Any]
) -> None:
    httpserver.expect_request(USE, method="POST").respond_with_json(answer, status=404)
    with make_client(httpserver) as client, pytest.raises(tilecred.ConfigurationError) as info:
        client.use_credential("lake")
    assert info.value.message.endswith(NO_SECRETS_HERE)
    assert isinstance(info.value.__cause__, tilecred.NotFoundError)


def test_a_missing_credential_on_tilecred_serve_stays_a_not_found(httpserver: HTTPServer) -> None:
    answer = {"code": 404, "message": "credential not found", "request_id": "r1"}
    httpserver.expect_request(USE, method="POST").respond_with_json(answer, status=404)
    with make_client(httpserver) as client, pytest.raises(tilecred.NotFoundError) as info:
        client.use_credential("lake")
    assert str(info.value) == (
        "could not use credential 'lake': 404 Not Found: credential not found (request id r1)"
    )


def test_the_gates_refusal_arrives_as_permission_denied(httpserver: HTTPServer) -> None:
    answer = {"code": 403, "message": "credential 'lake' is not allowed", "request_id": "r"}
    httpserver.expect_request(USE, method="POST").respond_with_json(answer, status=403)
    with make_client(httpserver) as client, pytest.raises(tilecred.PermissionDeniedError) as info:
        client.use_credential("lake")
    assert info.value.status == 403


def test_read_audit_sends_its_filters(httpserver: HTTPServer) -> None:
    record = {
        "at": "2026-11-01T10:00:00Z", "actor": "token:tok_1 (ci)", "workspace": "team",
        "credential": "lake", "action": "use", "outcome": "ok", "request_id": "r9",
        "added_later": 1,
    }  # fmt: skip
    httpserver.expect_request(f"/tilecred/v1/audit/{WORKSPACE}").respond_with_json(
        {"data": [record]}
    )
    since = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
    with make_client(httpserver) as client:
        (got,) = client.audit(credential="lake", since=since, limit=5)
    assert (got.actor, got.action, got.outcome, got.request_id, got.teamspace) == (
        "token:tok_1 (ci)", "use", "ok", "r9", None
    )  # fmt: skip
    assert dict(seen(httpserver)[0].query) == {
        ("limit", "5"): 1, ("credential", "lake"): 1, ("since", "2026-11-01T00:00:00+00:00"): 1
    }  # fmt: skip
