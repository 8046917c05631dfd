"""A token that stops working while its request is in flight gets no secret, and a
route that takes no body refuses one.

The token is checked when a request arrives and again in the store
transaction that opens the secret. Each test changes the token at the last
moment before that transaction — through the real token store — and sends
the request over real HTTP to ``tilecred serve`` on 127.0.0.1.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import CANARY_SECRET
from tests.test_server_harness import Reply, Running, aws_key_body
from tilecred._backend import AuditQuery
from tilecred._local._records import to_micros
from tilecred._local._service import StoreBackend
from tilecred._server._tokens import TASK

pytest_plugins = ["tests.test_server_harness"]
pytestmark = pytest.mark.usefixtures("engine")


def _use_path(server: Running, name: str) -> str:
    return f"/tilecred/v1/credentials/{server.workspace_id}/{quote(name, safe='')}/use"


def _expire(server: Running, token_id: str) -> None:
    past = to_micros(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    with server.app.store.transaction(write=True) as conn:
        conn.execute("UPDATE tokens SET expires_at = ? WHERE id = ?", (past, token_id))


CHANGES: dict[str, tuple[Callable[[Running, str], Any], int, str]] = {
    "revoked": (lambda s, i: s.app.tokens.revoke(i), 401, "unknown or revoked API token"),
    "regenerated": (lambda s, i: s.app.tokens.regenerate(i), 401, "unknown or revoked API token"),
    "deactivated": (lambda s, i: s.app.tokens.deactivate(i), 401, "this API token is deactivated"),
    "expired": (_expire, 403, "this API token expired at 2026-01-01T00:00:00+00:00"),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_token_changed_while_its_request_is_in_flight_gets_no_secret(
    server: Running, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    body = aws_key_body("lake", CANARY_SECRET, allowed_in_tasks=True)
    assert server.request("POST", server.credentials_path(), body=body).status == 201
    record, task = server.app.tokens.create(server.workspace_id, "runner", kind=TASK)
    apply, status, message = CHANGES[change]
    real_use = StoreBackend.use

    def changed_first(self: StoreBackend, *args: Any, **kwargs: Any) -> Any:
        # The token changes after the request was let in, before the secret is opened.
        apply(server, record.id)
        return real_use(self, *args, **kwargs)

    monkeypatch.setattr(StoreBackend, "use", changed_first)
    reply = server.request("POST", _use_path(server, "lake"), token=task)
    assert (reply.status, reply.json["message"]) == (status, message), reply.raw
    assert CANARY_SECRET.encode() not in reply.raw
    last = server.app.store.read_audit(server.workspace_id, AuditQuery(limit=10))[-1]
    assert (last.action, last.outcome, last.detail) == ("use", "denied", message)


def _sent(server: Running, method: str, path: str, token: str, body: bytes) -> Reply:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-TILEDB-REST-API-KEY: {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return server.exchange(head.encode(), [body])


def test_a_route_that_takes_no_body_refuses_one(server: Running) -> None:
    body = aws_key_body("lake", CANARY_SECRET, allowed_in_tasks=True)
    assert server.request("POST", server.credentials_path(), body=body).status == 201
    _record, task = server.app.tokens.create(server.workspace_id, "runner", kind=TASK)
    for method, path, token in [
        ("POST", _use_path(server, "lake"), task),
        ("GET", server.credentials_path("lake"), server.token),
        ("DELETE", server.credentials_path("lake"), server.token),
        ("POST", f"/tilecred/v1/credentials/{server.workspace_id}/lake/deactivate", server.token),
    ]:
        reply = _sent(server, method, path, token, b"{}")
        message = f"a {method} to this route takes no request body"
        assert (reply.status, reply.json["message"]) == (400, message), (method, path)
    # Nothing was done: the credential is there, active, and its secret still opens.
    assert server.request("POST", _use_path(server, "lake"), token=task).status == 200
    # An empty body (Content-Length: 0) is no body.
    assert _sent(server, "POST", _use_path(server, "lake"), task, b"").status == 200
