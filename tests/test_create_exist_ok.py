"""create_credential(..., exist_ok=True): running the same cell again is not an
error; a credential by that name with other fields or another secret still is.
The same on the local store and over HTTP to tilecred serve, which compares the
secret where it is stored and never sends it back."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import tilecred
from tests.conftest import CANARY_SECRET
from tests.test_server_harness import Running
from tilecred import ConflictError

pytest_plugins = ["tests.test_server_harness"]

KEYS = {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": CANARY_SECRET}}
OTHER = {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "x" * 40}}
DIFFERENT = (
    "credential 'lake' exists with other fields or another secret (exist_ok lets only an "
    "identical one be created again)"
)


def _exercise(client: tilecred.Client, teamspace: str | None) -> None:
    create: Any = client.create_credential
    create("lake", "AWS", teamspace=teamspace, allowed_in_tasks=True, credential=KEYS)
    create("lake", "AWS", teamspace=teamspace, allowed_in_tasks=True, credential=KEYS,
           exist_ok=True)  # fmt: skip
    with pytest.raises(ConflictError) as plain:  # without exist_ok: as before
        create("lake", "AWS", teamspace=teamspace, allowed_in_tasks=True, credential=KEYS)
    assert "name already in use" in str(plain.value)
    for changed in (
        {"credential": OTHER, "allowed_in_tasks": True},  # another secret
        {"credential": KEYS},  # another flag
        {"credential": KEYS, "allowed_in_tasks": True, "provider_default": True},
        {"credential": KEYS, "allowed_in_tasks": True, "description": "another"},
    ):
        with pytest.raises(ConflictError) as caught:
            create("lake", "AWS", teamspace=teamspace, exist_ok=True, **changed)
        assert caught.value.status == 409
        assert caught.value.message == DIFFERENT
        assert CANARY_SECRET not in str(caught.value)
    listed = list(client.list_credentials(teamspace=teamspace))
    assert [(c.name, c.allowed_in_tasks, c.provider_default) for c in listed] == [
        ("lake", True, False)
    ]  # fmt: skip


@pytest.mark.parametrize("teamspace", [None, "ml"])
def test_exist_ok_on_the_local_store(teamspace: str | None) -> None:
    with tilecred.Client(local=True) as client:
        _exercise(client, teamspace)


@pytest.mark.usefixtures("engine")  # on SQLite and on PostgreSQL
def test_exist_ok_over_http_to_tilecred_serve(server: Running) -> None:
    body = {"name": "ml", "visibility": "private"}
    assert server.request("POST", f"/v4/teamspaces/{server.workspace_id}", body=body).status
    with tilecred.Client(host=server.url, token=server.token, retries=0) as client:
        _exercise(client, None)
        _exercise(client, "ml")


def test_exist_ok_is_a_query_parameter_and_a_server_without_it_answers_409(
    httpserver: HTTPServer,
) -> None:
    from tests._http_helpers import WORKSPACE, make_client, seen

    httpserver.expect_request(f"/v4/credentials/{WORKSPACE}", method="POST").respond_with_json(
        {"code": 409, "message": "name already in use"}, status=409
    )
    with make_client(httpserver, retries=0) as client, pytest.raises(ConflictError) as caught:
        client.create_credential("lake", "AWS", credential=KEYS, exist_ok=True)
    (sent,) = seen(httpserver)
    assert (sent.method, dict(sent.query)) == ("POST", {("exist_ok", "true"): 1})
    assert sent.json() == {"name": "lake", "provider": "AWS", "credential": KEYS}
    assert str(caught.value) == (
        "could not create credential 'lake': 409 Conflict: name already in use"
    )
