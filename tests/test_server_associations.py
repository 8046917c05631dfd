"""Associations and the chosen use on a real ``tilecred serve``, and the exact
requests the HTTP backend sends for them."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import tilecred
from tests.test_server_harness import Reply, Running, aws_key_body
from tilecred._server._tokens import TASK

from .conftest import CANARY_SECRET

pytest_plugins = ["tests.test_server_harness"]

LIMITED = (
    "this task token is limited to the credentials it was issued for ('lake', as they were "
    "then), and 'other' at the workspace level is not one of them"
)


def _associations(server: Running) -> str:
    return f"/tilecred/v1/associations/{server.workspace_id}"


def _use(server: Running) -> str:
    return f"/tilecred/v1/credentials/{server.workspace_id}/use"


def _create(server: Running, name: str) -> None:
    body = aws_key_body(name, CANARY_SECRET, allowed_in_tasks=True)
    assert server.request("POST", server.credentials_path(), body=body).status == 201


def _associate(server: Running, name: str, target: str, **extra: Any) -> Reply:
    body = {"name": name, "target": target, **extra}
    return server.request("POST", _associations(server), body=body)


@pytest.mark.usefixtures("engine")
def test_routes_associate_list_dissociate_with_the_rights_each_needs(server: Running) -> None:
    _create(server, "lake")
    made = _associate(server, "lake", "s3://lake/", default=True)
    assert made.status == 201, made.raw
    data = made.json["data"]
    assert (data["name"], data["target"], data["default"]) == ("lake", "s3://lake/", True)
    _task, task = server.app.tokens.create(server.workspace_id, "runner", kind=TASK)
    listed = server.request("GET", _associations(server), token=task)
    assert listed.status == 200, listed.raw
    assert [(a["name"], a["target"]) for a in listed.json["data"]] == [("lake", "s3://lake/")]
    refused = server.request(
        "POST", _associations(server), token=task, body={"name": "lake", "target": "dag:x"}
    )
    assert refused.status == 403, refused.raw
    gone = server.request(
        "DELETE", _associations(server), query=[("name", "lake"), ("target", "s3://lake/")]
    )
    assert gone.status == 204, gone.raw
    missing = server.request("DELETE", _associations(server), query=[("name", "lake")])
    assert (missing.status, missing.json["message"]) == (
        400, "query parameter target is required: the credential and the target to dissociate",
    )  # fmt: skip
    bad = _associate(server, "lake", "s3://user:pw@lake/")
    assert (bad.status, bad.json["message"]) == (
        400, "invalid request: target must not carry a user or password (the part before '@')",
    )  # fmt: skip
    records = server.request("GET", f"/tilecred/v1/audit/{server.workspace_id}").json["data"]
    assert [(r["action"], r["outcome"]) for r in records if "association" in r["action"]] == [
        ("association.create", "ok"),
        ("association.create", "denied"),
        ("association.delete", "ok"),
        ("association.delete", "failed"),
        ("association.create", "failed"),
    ]


@pytest.mark.usefixtures("engine")
def test_the_server_chooses_and_holds_a_task_token_to_the_credential_chosen(
    server: Running,
) -> None:
    _create(server, "lake")
    _create(server, "other")
    _associate(server, "lake", "s3://lake/")
    _associate(server, "other", "s3://lake/private/")
    _rec, task = server.app.tokens.create(
        server.workspace_id, "runner", kind=TASK, credentials=["lake"]
    )
    used = server.request(
        "POST", _use(server), token=task, query=[("url", "s3://lake/x.csv"), ("purpose", "etl")]
    )
    assert used.status == 200, used.raw
    assert used.json["data"]["credential"]["aws"]["secret_access_key"] == CANARY_SECRET
    held = server.request("POST", _use(server), token=task, query=[("url", "s3://lake/private/k")])
    assert (held.status, held.json["message"]) == (403, LIMITED)
    none = server.request("POST", _use(server), token=task)
    assert none.status == 400, none.raw
    records = server.request("GET", f"/tilecred/v1/audit/{server.workspace_id}").json["data"]
    uses = [
        (r.get("credential"), r["outcome"], r.get("detail"))
        for r in records
        if r["action"] == "use"
    ]
    assert uses[:2] == [
        ("lake", "ok", "url=s3://lake/x.csv; etl"),
        ("other", "denied", f"url=s3://lake/private/k: {LIMITED}"),
    ]  # fmt: skip


def test_the_library_over_tilecred_serve(server: Running, isolated: Any) -> None:
    _create(server, "lake")
    admin = tilecred.Client(host=server.url, token=server.token, workspace="team")
    made = admin.associate_credential("lake", "postgresql://db:5432/sales", default=True)
    assert (made.name, made.default) == ("lake", True)
    assert [a.target for a in admin.list_associations("lake")] == ["postgresql://db:5432/sales"]
    _rec, text = server.app.tokens.create(server.workspace_id, "runner", kind=TASK)
    task = tilecred.Client(host=server.url, token=text, workspace="team")
    with task.use_credential(url="postgresql://db:5432/sales") as access:
        assert access.credential.name == "lake"
    with pytest.raises(tilecred.NotFoundError) as caught:
        task.use_credential(target="dag:none")
    assert caught.value.message == (
        "no credential is associated with target 'dag:none' in workspace 'team': associate "
        "one with associate_credential(name, target)"
    )
    admin.dissociate_credential("lake", "postgresql://db:5432/sales")
    assert admin.list_associations() == []
    admin.close()
    task.close()


def test_the_http_backend_sends_exactly_these_requests(
    httpserver: HTTPServer, isolated: Any
) -> None:
    base = "/tilecred/v1/associations/ws_abc"
    row = {"name": "k", "target": "s3://b/", "default": True,
           "created_at": "2026-12-07T00:00:00Z"}  # fmt: skip
    httpserver.expect_ordered_request(
        base, method="POST", json={"name": "k", "target": "s3://b/", "default": True},
        query_string="",
    ).respond_with_json({"data": row}, status=201)  # fmt: skip
    httpserver.expect_ordered_request(
        base, method="GET", query_string="name=k&target=s3%3A%2F%2Fb%2F"
    ).respond_with_json({"data": [row]})
    httpserver.expect_ordered_request(
        base, method="DELETE", query_string="name=k&target=s3%3A%2F%2Fb%2F"
    ).respond_with_data("", status=204)
    httpserver.expect_ordered_request(
        "/tilecred/v1/credentials/ws_abc/use", method="POST",
        query_string="url=s3%3A%2F%2Fb%2Fx&purpose=p",
    ).respond_with_json({"data": {
        "name": "k", "provider": "AWS", "credential_type": "workspace", "id": "cr_1",
        "created_at": "2026-12-07T00:00:00Z", "credential": {"aws": {
            "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": CANARY_SECRET}},
    }})  # fmt: skip
    client = tilecred.Client(host=httpserver.url_for("/"), token="tc-ws_abc-x", workspace="ws_abc")
    assert client.associate_credential("k", "s3://b/", default=True).default is True
    assert [a.name for a in client.list_associations("k", target="s3://b/")] == ["k"]
    client.dissociate_credential("k", "s3://b/")
    access = client.use_credential(url="s3://b/x#frag", purpose="p")
    assert access.credential.name == "k"
    httpserver.check_assertions()
    client.close()


def test_a_chosen_oauth_client_is_withheld_as_a_named_one_is(server: Running) -> None:
    body = {"name": "idp", "provider": "GENERIC", "allowed_in_tasks": True, "credential": {
        "oauth": {"token_url": "https://idp.example.com/token", "client_id": "tilecred",
                  "client_secret": CANARY_SECRET}}}  # fmt: skip
    assert server.request("POST", server.credentials_path(), body=body).status == 201
    assert _associate(server, "idp", "https://api.example.com/").status == 201
    _rec, task = server.app.tokens.create(server.workspace_id, "runner", kind=TASK)
    used = server.request(
        "POST", _use(server), token=task, query=[("url", "https://api.example.com/v1/items")]
    )
    assert used.status == 403, used.raw
    assert used.json["message"].startswith("credential 'idp' is an OAuth client, whose client")
    assert CANARY_SECRET not in used.raw.decode()
