"""``tilecred serve`` calls out only with ``--outbound``: a live verification
and an OAuth exchange for a task, against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest
from pytest_httpserver import HTTPServer

import tilecred
from tests.test_server_harness import Running
from tilecred._server._outbound import NO_OUTBOUND, Outbound
from tilecred._server._tokens import TASK

from .conftest import CANARY_SECRET

pytest_plugins = ["tests.test_server_harness"]

# Every test here runs on SQLite and on PostgreSQL (tests/_engines.py).
pytestmark = pytest.mark.usefixtures("engine")


def _start(running_server: Any, tmp_path: Path, outbound: Outbound | None) -> Running:
    started: Running = running_server(tmp_path / "server-home", outbound=outbound)
    return started


def _create(server: Running, body: dict[str, Any]) -> None:
    reply = server.request("POST", server.credentials_path(), body=body)
    assert reply.status == 201, reply.raw


def _bearer(httpserver: HTTPServer) -> dict[str, Any]:
    return {"name": "api", "provider": "GENERIC", "token": {"bearer": {
        "token": CANARY_SECRET, "url": httpserver.url_for("/v1/me")}}}  # fmt: skip


def _oauth(httpserver: HTTPServer, **extra: Any) -> dict[str, Any]:
    return {"name": "idp", "provider": "GENERIC", "allowed_in_tasks": True, "credential": {
        "oauth": {"token_url": httpserver.url_for("/oauth/token"), "client_id": "etl-app",
                  "client_secret": CANARY_SECRET, **extra}}}  # fmt: skip


def _verify(server: Running, name: str, token: str = "") -> Any:
    path = f"/tilecred/v1/credentials/{quote(server.workspace_id)}/{quote(name)}/verify"
    return server.request("POST", path, token=token)


def _audit(server: Running) -> list[tuple[str | None, str, str]]:
    records = server.request("GET", f"/tilecred/v1/audit/{server.workspace_id}").json["data"]
    return [(r.get("credential"), r["action"], r["outcome"]) for r in records]


def test_without_outbound_a_live_verify_is_refused_and_nothing_is_called(
    running_server: Any, tmp_path: Path, httpserver: HTTPServer
) -> None:
    server = _start(running_server, tmp_path, None)
    _create(server, _bearer(httpserver))
    refused = _verify(server, "api")
    assert (refused.status, refused.json["message"]) == (403, NO_OUTBOUND)
    assert httpserver.log == []
    assert _audit(server)[-1] == ("api", "verify.live", "denied")
    client = tilecred.Client(host=server.url, token=server.token)
    with pytest.raises(tilecred.PermissionDeniedError, match="start tilecred serve with --outb"):
        client.verify_credential("api", live=True)


def test_with_outbound_the_server_verifies_and_answers_who(
    running_server: Any, tmp_path: Path, httpserver: HTTPServer
) -> None:
    server = _start(running_server, tmp_path, Outbound())
    _create(server, _oauth(httpserver))
    httpserver.expect_request("/oauth/token", method="POST").respond_with_json(
        {"access_token": "at-" + CANARY_SECRET, "expires_in": 600}
    )
    client = tilecred.Client(host=server.url, token=server.token)
    result = client.verify_credential("idp", live=True)
    assert result is not None
    endpoint = httpserver.url_for("/oauth/token")
    assert (result.name, result.call, result.endpoint, result.identity) == (
        "idp", "oauth:token", endpoint, "etl-app",
    )  # fmt: skip
    [(request, _)] = httpserver.log
    assert dict(parse_qsl(request.get_data(as_text=True))) == {"grant_type": "client_credentials"}
    reply = _verify(server, "idp")
    assert reply.status == 200
    assert sorted(reply.json["data"]) == ["call", "elapsed", "endpoint", "identity", "name"]
    assert CANARY_SECRET.encode() not in reply.raw
    assert _audit(server)[-2:] == [("idp", "verify.live", "ok"), ("idp", "outbound", "ok")]


def test_the_services_refusal_reaches_the_client_with_its_code(
    running_server: Any, tmp_path: Path, httpserver: HTTPServer
) -> None:
    server = _start(running_server, tmp_path, Outbound())
    _create(server, _bearer(httpserver))
    httpserver.expect_request("/v1/me").respond_with_data("bad token", status=401)
    client = tilecred.Client(host=server.url, token=server.token)
    with pytest.raises(tilecred.VerificationFailedError) as caught:
        client.verify_credential("api", live=True)
    assert caught.value.code == "401"
    assert caught.value.message.endswith(
        f"credential 'api' failed live verification at {httpserver.url_for('/v1/me')}: "
        "401: bad token"
    )
    assert _audit(server)[-3:] == [
        ("api", "verify.live", "ok"), ("api", "outbound", "failed"),
        ("api", "verify.live", "failed"),
    ]  # fmt: skip


def test_outbound_hosts_limit_where_the_server_calls(
    running_server: Any, tmp_path: Path, httpserver: HTTPServer
) -> None:
    server = _start(running_server, tmp_path, Outbound.from_options(False, "sts.amazonaws.com"))
    _create(server, _bearer(httpserver))
    refused = _verify(server, "api")
    assert (refused.status, refused.json["message"]) == (
        403, "this server may not call 'localhost': --outbound-hosts allows sts.amazonaws.com",
    )  # fmt: skip
    assert httpserver.log == []
    # Nothing was opened: no verify.live "ok" record, only the refusals.
    assert _audit(server)[-2:] == [("api", "outbound", "denied"), ("api", "verify.live", "denied")]


def test_a_task_token_may_not_verify_live(
    running_server: Any, tmp_path: Path, httpserver: HTTPServer
) -> None:
    server = _start(running_server, tmp_path, Outbound())
    _create(server, _bearer(httpserver))
    _record, task = server.app.tokens.create(server.workspace_id, "runner", kind=TASK)
    assert _verify(server, "api", token=task).status == 403
    assert httpserver.log == []


def test_the_use_route_hands_a_task_only_the_access_token_and_stores_a_rotated_one(
    running_server: Any, tmp_path: Path, httpserver: HTTPServer
) -> None:
    server = _start(running_server, tmp_path, Outbound())
    _create(server, _oauth(httpserver, refresh_token="rt-old-" + CANARY_SECRET))
    httpserver.expect_request("/oauth/token", method="POST").respond_with_json(
        {"access_token": "at-1", "expires_in": 600, "refresh_token": "rt-new-" + CANARY_SECRET}
    )
    _record, task = server.app.tokens.create(server.workspace_id, "runner", kind=TASK)
    path = f"/tilecred/v1/credentials/{quote(server.workspace_id)}/idp/use"
    reply = server.request("POST", path, token=task)
    assert reply.status == 200, reply.raw
    data = reply.json["data"]
    assert data["token"] == {"bearer": {"token": "at-1"}}
    assert "credential" not in data
    assert data["expires_at"].endswith("Z") or "+" in data["expires_at"]
    assert CANARY_SECRET.encode() not in reply.raw
    [(request, _)] = httpserver.log
    assert dict(parse_qsl(request.get_data(as_text=True)))["refresh_token"] == (
        "rt-old-" + CANARY_SECRET
    )
    records = server.request("GET", f"/tilecred/v1/audit/{server.workspace_id}").json["data"]
    tail = [(r["action"], r["outcome"], r.get("detail")) for r in records[-3:]]
    assert [(a, o) for a, o, _ in tail] == [("use", "ok"), ("outbound", "ok"), ("update", "ok")]
    assert tail[2][2] == "credential.oauth refresh_token rotated by the token endpoint"
    assert all(CANARY_SECRET not in (d or "") and "at-1" not in (d or "") for _, _, d in tail)
    # Through the library: headers() carry the access token the server fetched.
    client = tilecred.Client(host=server.url, token=task)
    with client.use_credential("idp") as access:
        assert access.headers() == {"Authorization": "Bearer at-1"}
    second = httpserver.log[1][0]
    assert dict(parse_qsl(second.get_data(as_text=True)))["refresh_token"] == (
        "rt-new-" + CANARY_SECRET
    )


def test_serve_options_say_what_may_be_called() -> None:
    assert Outbound.from_options(False, None) is None
    assert Outbound.from_options(True, None) == Outbound(None)
    assert Outbound.from_options(False, " A.example.com, b.example.com,") == Outbound(
        frozenset({"a.example.com", "b.example.com"})
    )


def test_a_token_endpoints_refusal_is_the_servers_502_not_the_tasks_401(
    running_server: Any, tmp_path: Path, httpserver: HTTPServer
) -> None:
    server = _start(running_server, tmp_path, Outbound())
    _create(server, _oauth(httpserver))
    httpserver.expect_request("/oauth/token").respond_with_json(
        {"error": "invalid_client", "error_description": "client disabled"}, status=401
    )
    _record, task = server.app.tokens.create(server.workspace_id, "runner", kind=TASK)
    path = f"/tilecred/v1/credentials/{quote(server.workspace_id)}/idp/use"
    reply = server.request("POST", path, token=task)
    assert (reply.status, reply.json["message"]) == (
        502,
        f"the OAuth token endpoint {httpserver.url_for('/oauth/token')} refused (401): "
        "invalid_client: client disabled",
    )
    assert CANARY_SECRET.encode() not in reply.raw
    assert _audit(server)[-2:] == [("idp", "use", "ok"), ("idp", "outbound", "failed")]
