"""update_credential(verify_first=True) over HTTP: the exact requests, in order.

Against any service (TileDB's has the verify action too), the client looks
the provider up when the update does not give it, verifies the new secret,
and only then sends the update; a failed verification sends no update.
"""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import tilecred
from tests._http_helpers import WORKSPACE, credential_json, make_client, seen
from tests.conftest import CANARY_SECRET

CREDENTIALS = f"/v4/credentials/{WORKSPACE}"
VERIFY = "/v4/actions/credentials/verify"
NEW_KEY = {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": CANARY_SECRET}}


def _client(httpserver: HTTPServer) -> tilecred.Client:
    return make_client(httpserver, token="tc-ws_test1-token", workspace=WORKSPACE, retries=0)


def test_the_provider_is_looked_up_then_the_secret_verified_then_updated(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_ordered_request(f"{CREDENTIALS}/lake", method="GET").respond_with_json(
        {"data": credential_json("lake")}
    )
    httpserver.expect_ordered_request(VERIFY, method="POST").respond_with_json(
        {"data": {"status": "verified"}}
    )
    httpserver.expect_ordered_request(f"{CREDENTIALS}/lake", method="PATCH").respond_with_json(
        {"data": credential_json("lake")}
    )
    with _client(httpserver) as client:
        client.update_credential("lake", credential=NEW_KEY, verify_first=True)
    got, verify, patch = seen(httpserver)
    assert [(r.method, r.path) for r in (got, verify, patch)] == [
        ("GET", f"{CREDENTIALS}/lake"), ("POST", VERIFY), ("PATCH", f"{CREDENTIALS}/lake")
    ]  # fmt: skip
    assert verify.json() == {
        "name": "lake", "provider": "AWS", "credential": NEW_KEY, "workspace_id": WORKSPACE
    }  # fmt: skip
    assert patch.json() == {"credential": NEW_KEY}


def test_a_failed_verification_sends_no_update(httpserver: HTTPServer) -> None:
    answer: dict[str, Any] = {"code": 400, "message": "credential is invalid", "request_id": "r7"}
    httpserver.expect_request(VERIFY, method="POST").respond_with_json(answer, status=400)
    with _client(httpserver) as client, pytest.raises(tilecred.VerificationFailedError) as info:
        client.update_credential("lake", provider="AWS", credential=NEW_KEY, verify_first=True)
    assert str(info.value) == (
        "could not update credential 'lake': 400 Bad Request: the new secret failed "
        "verification, so nothing was changed: credential is invalid (request id r7)"
    )
    (verify,) = seen(httpserver)  # the provider was given: no lookup, and no PATCH
    assert (verify.method, verify.path) == ("POST", VERIFY)


def test_a_service_that_cannot_verify_is_not_a_failed_verification(
    httpserver: HTTPServer,
) -> None:
    answer = {"code": 503, "message": "try later", "request_id": "r8"}
    httpserver.expect_request(VERIFY, method="POST").respond_with_json(answer, status=503)
    with _client(httpserver) as client, pytest.raises(tilecred.ServerError) as info:
        client.update_credential("lake", provider="AWS", credential=NEW_KEY, verify_first=True)
    assert not isinstance(info.value, tilecred.VerificationFailedError)
    assert [r.method for r in seen(httpserver)] == ["POST"]


def test_create_with_verify_first_verifies_then_creates(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request(VERIFY, method="POST").respond_with_json(
        {"data": {"status": "verified"}}
    )
    httpserver.expect_ordered_request(CREDENTIALS, method="POST").respond_with_json(
        {"data": credential_json("lake")}
    )
    with _client(httpserver) as client:
        client.create_credential("lake", "AWS", credential=NEW_KEY, verify_first=True)
    verify, post = seen(httpserver)
    assert [(r.method, r.path) for r in (verify, post)] == [
        ("POST", VERIFY), ("POST", CREDENTIALS)
    ]  # fmt: skip
    assert verify.json() == {
        "name": "lake", "provider": "AWS", "credential": NEW_KEY, "workspace_id": WORKSPACE
    }  # fmt: skip
    assert post.json() == {"name": "lake", "provider": "AWS", "credential": NEW_KEY}


def test_create_with_a_failed_verification_stores_nothing(httpserver: HTTPServer) -> None:
    answer: dict[str, Any] = {"code": 422, "message": "credential is invalid", "request_id": "r8"}
    httpserver.expect_request(VERIFY, method="POST").respond_with_json(answer, status=422)
    with _client(httpserver) as client, pytest.raises(tilecred.VerificationFailedError) as info:
        client.create_credential("lake", "AWS", credential=NEW_KEY, verify_first=True)
    assert str(info.value).endswith(
        ": the new secret failed verification, so nothing was stored: credential is invalid "
        "(request id r8)"
    )
    assert str(info.value).startswith("could not create credential 'lake': 422 ")
    assert [r.path for r in seen(httpserver)] == [VERIFY]  # no create was sent
    assert CANARY_SECRET not in str(info.value)


def test_create_verify_first_on_the_local_store_and_the_command_line(tmp_path: Any) -> None:
    from tests.test_cli_support import cli_env, run

    typo = {"aws": {"access_key_id": "AKIA-TYPO", "secret_access_key": CANARY_SECRET}}
    with pytest.raises(tilecred.VerificationFailedError) as info:
        tilecred.create_credential("lake", "AWS", credential=typo, verify_first=True)
    assert str(info.value) == (
        "could not create credential 'lake': 422 Unprocessable Entity: the new secret failed "
        "verification, so nothing was stored: credential.aws.access_key_id: not an AWS access "
        "key id (AKIA or ASIA and 16 upper-case letters or digits)"
    )
    assert list(tilecred.list_credentials()) == []
    env = cli_env(NEW_SECRET=CANARY_SECRET)
    command = ["create", "lake", "--verify-first", "--provider", "aws", "--secret-env",
               "NEW_SECRET", "--access-key-id"]  # fmt: skip
    refused = run([*command, "AKIA-TYPO"], env)
    created = run([*command, "AKIAIOSFODNN7EXAMPLE"], env)
    assert (refused.code, refused.out) == (1, "")
    assert refused.err == f"error: {info.value}\n"
    assert (created.code, created.out) == (0, "created credential 'lake'\n")
    assert [c.name for c in tilecred.list_credentials()] == ["lake"]
