"""``use_credential(..., purpose=)``: what a use is for, in its audit record, on every backend."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import tilecred
from tests._http_helpers import WORKSPACE, credential_json, make_client, seen
from tests.conftest import CANARY_SECRET

USE = f"/tilecred/v1/credentials/{WORKSPACE}/lake/use"


def _key() -> dict[str, Any]:
    return {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": CANARY_SECRET}}


def test_the_local_store_records_the_purpose_as_the_uses_detail() -> None:
    tilecred.create_credential("lake", "AWS", allowed_in_tasks=True, credential=_key())
    tilecred.use_credential("lake", purpose="airflow dag=etl task=load").close()
    (use,) = [r for r in tilecred.read_audit(credential="lake") if r.action == "use"]
    assert (use.outcome, use.detail) == ("ok", "airflow dag=etl task=load")


def test_a_refused_use_keeps_its_purpose_too() -> None:
    tilecred.create_credential("lake", "AWS", allowed_in_tasks=False, credential=_key())
    with pytest.raises(tilecred.PermissionDeniedError):
        tilecred.use_credential("lake", purpose="prefect flow=nightly")
    (use,) = [r for r in tilecred.read_audit(credential="lake") if r.action == "use"]
    assert (use.outcome, use.detail) == (
        "denied",
        "prefect flow=nightly: credential 'lake' is not allowed in tasks, so its secrets cannot "
        "be used; allow it with update_credential('lake', allowed_in_tasks=True) or "
        "`tilecred update lake --allow-in-tasks`",
    )


def test_over_http_the_purpose_is_a_query_parameter(httpserver: HTTPServer) -> None:
    body = {"data": credential_json("lake", role=None, credential=_key(), allowed_in_tasks=True)}
    httpserver.expect_request(USE, method="POST").respond_with_json(body)
    with make_client(httpserver) as client:
        client.use_credential("lake", teamspace="ts_1", purpose="dagster run=r1").close()
    (request,) = seen(httpserver)
    assert (request.path, dict(request.query), request.body) == (
        USE, {("teamspace_id", "ts_1"): 1, ("purpose", "dagster run=r1"): 1}, b""
    )  # fmt: skip


@pytest.mark.parametrize(
    ("purpose", "message"),
    [
        (7, "purpose must be a str, not int"),
        ("x" * 201, "purpose is 201 characters long; the limit is 200"),
        ("dag=a\ntask=b", "purpose 'dag=a\\ntask=b' must be printable text"),
    ],
)
def test_a_bad_purpose_is_refused_before_anything_is_sent(
    httpserver: HTTPServer, purpose: Any, message: str
) -> None:
    with make_client(httpserver) as client, pytest.raises(tilecred.InvalidArgumentError) as caught:
        client.use_credential("lake", purpose=purpose)
    assert caught.value.message == message
    assert seen(httpserver) == []


def test_tilecred_serve_records_the_purpose_its_task_token_sent(tilecred_server: Any) -> None:
    admin = tilecred_server.client()
    admin.create_credential("lake", "AWS", allowed_in_tasks=True, credential=_key())
    task = tilecred_server.client(tilecred_server.task_token(credentials=["lake"]))
    with task.use_credential("lake", purpose="airflow dag=etl task=load") as access:
        assert access.env()["AWS_SECRET_ACCESS_KEY"] == CANARY_SECRET
    (use,) = [r for r in admin.audit(credential="lake") if r.action == "use"]
    assert (use.outcome, use.detail) == ("ok", "airflow dag=etl task=load")
    assert use.actor.startswith("token:")
