"""tilecred's kinds on ``tilecred serve``: hidden from a client that has not
said it reads them, handed out by the use route (an OAuth client's secrets never)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

import tilecred
from tests.test_server_harness import Running
from tilecred._server._tokens import TASK

from .conftest import CANARY_SECRET

pytest_plugins = ["tests.test_server_harness"]

# Every test here runs on SQLite and on PostgreSQL (tests/_engines.py).
pytestmark = pytest.mark.usefixtures("engine")

ALL = {"X-Tilecred-Kinds": "all"}
BASIC = {"name": "wh", "provider": "GENERIC", "allowed_in_tasks": True, "credential": {"basic": {
    "user": "etl", "password": CANARY_SECRET, "host": "db", "scheme": "postgresql"}}}  # fmt: skip
OAUTH = {"name": "idp", "provider": "GENERIC", "allowed_in_tasks": True, "credential": {"oauth": {
    "token_url": "https://login.example.com/token", "client_id": "app",
    "client_secret": CANARY_SECRET, "refresh_token": CANARY_SECRET}}}  # fmt: skip
PAT = {"name": "pat", "provider": "DATABRICKS", "token": {"databricks_pat": {
    "host": "https://dbc-1.cloud.databricks.com", "token": CANARY_SECRET}}}  # fmt: skip
S3 = {"name": "s3", "provider": "AWS", "description": "the lake", "credential": {"aws": {
    "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": CANARY_SECRET}}}  # fmt: skip


# msgspec checks the limit as it decodes the body (the model carries it).
DESCRIPTION_TOO_LONG = "invalid request body: Expected `str` of length <= 1000 - at `$.description`"


def _create(server: Running, *bodies: dict[str, Any]) -> None:
    for body in bodies:
        reply = server.request("POST", server.credentials_path(), body=body)
        assert reply.status == 201, reply.raw


def _page(server: Running, headers: dict[str, str] | None = None, **query: str) -> Any:
    reply = server.request(
        "GET", server.credentials_path(), query=list(query.items()), headers=headers
    )
    assert reply.status == 200, reply.raw
    return reply.json


def test_a_listing_without_the_header_leaves_tilecreds_kinds_out_and_counts_true(
    server: Running,
) -> None:
    _create(server, BASIC, OAUTH, PAT, S3)
    first = _page(server, per_page="1")
    assert [c["name"] for c in first["data"]] == ["s3"]
    assert first["data"][0]["description"] == "the lake"
    assert first["pagination_metadata"] == {
        "page": 1, "per_page": 1, "total_pages": 1, "total_items": 1
    }  # fmt: skip
    assert _page(server, page="2", per_page="1")["data"] == []
    assert _page(server, provider="GENERIC")["pagination_metadata"]["total_items"] == 0
    every = _page(server, ALL, per_page="3")
    assert [c["name"] for c in every["data"]] == ["idp", "pat", "s3"]
    assert every["pagination_metadata"] == {
        "page": 1, "per_page": 3, "total_pages": 2, "total_items": 4
    }  # fmt: skip
    assert [c["name"] for c in _page(server, {"X-Tilecred-Kinds": " ALL "})["data"]] == [
        "idp", "pat", "s3", "wh"
    ]  # fmt: skip
    assert CANARY_SECRET not in repr(every)


def test_a_get_without_the_header_is_a_404_that_says_why(server: Running) -> None:
    _create(server, BASIC)
    reply = server.request("GET", server.credentials_path("wh"))
    assert (reply.status, reply.json["message"]) == (
        404,
        "credential 'wh' is of tilecred's kind credential.basic, which TileDB's client cannot "
        "read: ask with the header X-Tilecred-Kinds: all (tilecred's client does)",
    )
    shown = server.request("GET", server.credentials_path("wh"), headers=ALL)
    assert shown.status == 200
    assert shown.json["data"]["credential"] == {"basic": {
        "user": "etl", "host": "db", "scheme": "postgresql"}}  # fmt: skip


def test_tilecreds_client_sees_every_kind_and_its_description(server: Running) -> None:
    _create(server, BASIC, PAT, S3)
    client = tilecred.Client(host=server.url, token=server.token)
    assert [c.name for c in client.list_credentials()] == ["pat", "s3", "wh"]
    assert client.get_credential("s3").description == "the lake"
    client.update_credential("wh", description="the warehouse")
    assert client.get_credential("wh").description == "the warehouse"
    with pytest.raises(tilecred.InvalidArgumentError):
        client.update_credential("wh", description="x" * 1001)


def test_a_description_over_the_limit_sent_straight_is_a_400(server: Running) -> None:
    body = {**S3, "description": "x" * 1001}
    reply = server.request("POST", server.credentials_path(), body=body)
    assert (reply.status, reply.json["message"]) == (400, DESCRIPTION_TOO_LONG)
    assert _page(server, ALL)["data"] == []


def _use(server: Running, name: str, token: str) -> Any:
    path = f"/tilecred/v1/credentials/{quote(server.workspace_id, safe='')}/{name}/use"
    return server.request("POST", path, token=token)


def test_the_use_route_hands_out_a_login_but_never_an_oauth_clients_secrets(
    server: Running,
) -> None:
    _create(server, BASIC, OAUTH)
    _record, task = server.app.tokens.create(server.workspace_id, "runner", kind=TASK)
    login = _use(server, "wh", task)
    assert login.status == 200
    assert login.json["data"]["credential"]["basic"]["password"] == CANARY_SECRET
    refused = _use(server, "idp", task)
    message = (
        "credential 'idp' is an OAuth client, whose client secret and refresh token the "
        "server never hands out; the server-side token exchange needs tilecred serve "
        "--outbound, which this server does not have: use it from the local store instead"
    )
    assert (refused.status, refused.json["message"]) == (403, message)
    assert CANARY_SECRET.encode() not in refused.raw
    audit = server.request("GET", f"/tilecred/v1/audit/{server.workspace_id}").json["data"]
    assert [(r["credential"], r["action"], r["outcome"], r.get("detail")) for r in audit[-2:]] == [
        ("wh", "use", "ok", None),
        ("idp", "use", "denied", message),
    ]
    client = tilecred.Client(host=server.url, token=task)
    with pytest.raises(tilecred.PermissionDeniedError) as caught:
        client.use_credential("idp")
    assert caught.value.message == message
