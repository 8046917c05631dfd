"""API tokens over real HTTP: a deactivated token, the recorded last use, and
the token routes a management token calls (``/tilecred/v1/tokens/{workspace}``)."""

from __future__ import annotations

import concurrent.futures
import datetime
import hashlib
import logging
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.test_server_harness import Reply, Running
from tilecred._server._token_api import IssuedToken
from tilecred._server._tokens import ADMIN, TASK

pytest_plugins = ["tests.test_server_harness"]

TOKEN = re.compile(r"^tc-ws_[0-9a-f]+-[0-9a-f]{64}$")
CANARY_TOKEN = "tc-ws_1-" + "c4a7a7" * 10 + "beef"


# Every test here runs on SQLite and on PostgreSQL (tests/_engines.py).
pytestmark = pytest.mark.usefixtures("engine")


def _error(reply: Reply, status: int, message: str) -> None:
    assert (reply.status, reply.json["message"]) == (status, message), reply.raw


def _audit(server: Running) -> list[dict[str, Any]]:
    reply = server.request("GET", f"/tilecred/v1/audit/{server.workspace_id}")
    assert reply.status == 200, reply.raw
    records: list[dict[str, Any]] = reply.json["data"]
    return records


def test_a_deactivated_token_authenticates_nobody_until_activated(server: Running) -> None:
    record, text = server.app.tokens.create(server.workspace_id, "runner", kind=TASK)
    listing = server.credentials_path()
    server.app.tokens.deactivate(record.id)

    refused = server.request("GET", listing, token=text)
    server.app.tokens.activate(record.id)
    allowed = server.request("GET", listing, token=text)

    # Its holder knows the text, so being told why reveals nothing to a guesser,
    # who gets "unknown or revoked API token" for any text that is not a token.
    _error(refused, 401, "this API token is deactivated")
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert allowed.status == 200, allowed.raw
    denied = [r for r in _audit(server) if r["outcome"] == "denied"]
    assert [(r["actor"], r["action"], r["detail"]) for r in denied] == [
        (record.actor, "list", "this API token is deactivated")
    ]


def test_a_request_records_the_token_last_use(server: Running) -> None:
    record, text = server.app.tokens.create(server.workspace_id, "runner", kind=TASK)
    before = {t.id: t.last_used_at for t in server.app.tokens.list(server.workspace_id)}
    assert before[record.id] is None

    reply = server.request("GET", server.credentials_path(), token=text)

    assert reply.status == 200, reply.raw
    used = {t.id: t.last_used_at for t in server.app.tokens.list(server.workspace_id)}
    assert used[record.id] is not None


def _tokens_path(server: Running, token_id: str | None = None, action: str | None = None) -> str:
    path = f"/tilecred/v1/tokens/{server.workspace_id}"
    if token_id is not None:
        path += f"/{token_id}"
    return path if action is None else f"{path}/{action}"


def _admin_id(server: Running) -> str:
    caller = server.app.tokens.authenticate(server.token)
    assert caller is not None
    return caller.id


def _lockout(token_id: str, verb: str) -> str:
    return (
        f"token {token_id} (test-admin) is the last active read-write management token of its "
        f"workspace: {verb} it would leave none to manage the workspace; issue another one first"
    )


def test_a_management_token_runs_a_token_through_its_life(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = _admin_id(server)
    body = {"name": "ci", "kind": "task", "credentials": ["lake"], "allow_missing": True}
    created = server.request("POST", _tokens_path(server), body=body)
    assert created.status == 201, created.raw
    data = created.json["data"]
    first, ident = data.pop("token"), data["token_id"]
    assert TOKEN.match(first)
    assert data == {
        "token_id": ident, "name": "ci", "workspace_id": server.workspace_id, "kind": "task",
        "read_only": False, "active": True, "state": "active", "created_at": data["created_at"],
        "credentials": ["lake"], "credential_ids": {"lake": []},
    }  # fmt: skip
    assert server.request("GET", server.credentials_path(), token=first).status == 200

    renamed = server.request("PATCH", _tokens_path(server, ident), body={"name": "nightly"})
    off = server.request("POST", _tokens_path(server, ident, "deactivate"))
    refused = server.request("GET", server.credentials_path(), token=first)
    on = server.request("POST", _tokens_path(server, ident, "activate"))
    again = server.request("POST", _tokens_path(server, ident, "regenerate"))
    second = again.json["data"]["token"]
    old = server.request("GET", server.credentials_path(), token=first)
    new = server.request("GET", server.credentials_path(), token=second)
    listed = server.request("GET", _tokens_path(server))
    revoked = server.request("DELETE", _tokens_path(server, ident))
    gone = server.request("GET", server.credentials_path(), token=second)

    assert (renamed.status, renamed.json["data"]["name"]) == (200, "nightly")
    assert (off.status, off.json["data"]["state"], off.json["data"]["active"]) == (
        200, "inactive", False
    )  # fmt: skip
    _error(refused, 401, "this API token is deactivated")
    assert (on.status, on.json["data"]["state"]) == (200, "active")
    assert again.status == 200, again.raw
    assert (again.json["data"]["token_id"], again.json["data"]["name"]) == (ident, "nightly")
    assert TOKEN.match(second)
    assert second != first
    _error(old, 401, "unknown or revoked API token")  # dead at once
    assert new.status == 200
    rows = {row["token_id"]: row for row in listed.json["data"]}
    assert rows[ident]["last_used_at"] is not None
    assert set(rows) == {admin, ident}
    assert (revoked.status, revoked.raw) == (204, b"")
    _error(gone, 401, "unknown or revoked API token")
    actor = f"token:{admin} (test-admin)"
    changes = [(r["actor"], r["action"], r["outcome"], r["detail"], bool(r.get("request_id")))
               for r in _audit(server) if r["actor"] == actor]  # fmt: skip
    assert changes == [
        (
            actor,
            "token.create",
            "ok",
            f"task token {ident} (ci); credentials lake (none yet)",
            True,
        ),
        (actor, "token.rename", "ok", f"token {ident} (ci): renamed to 'nightly'", True),
        (actor, "token.deactivate", "ok", f"token {ident} (nightly)", True),
        (actor, "token.activate", "ok", f"token {ident} (nightly)", True),
        (actor, "token.regenerate", "ok", f"token {ident} (nightly): new secret", True),
        (actor, "token.revoke", "ok", f"token {ident} (nightly)", True),
    ]
    # The texts were in two answers; nowhere else.
    everything = listed.raw + server.request("GET", _tokens_path(server)).raw
    everything += server.request("GET", f"/tilecred/v1/audit/{server.workspace_id}").raw
    for text in (first, second):
        secret = text.rsplit("-", 1)[1]
        assert secret not in everything.decode()
        assert secret not in caplog.text


def test_who_may_call_the_token_routes(server: Running) -> None:
    _reader, reader = server.app.tokens.create(server.workspace_id, "reader", read_only=True)
    _task, task = server.app.tokens.create(server.workspace_id, "runner", kind=TASK)
    target = _admin_id(server)
    task_message = (
        "a task token can list, get and use credentials; it cannot change or verify them, "
        "create teamspaces, read the audit log or manage API tokens"
    )

    assert server.request("GET", _tokens_path(server), token=reader).status == 200
    for method, path, body in (
        ("POST", _tokens_path(server), {"name": "x"}),
        ("PATCH", _tokens_path(server, target), {"name": "x"}),
        ("DELETE", _tokens_path(server, target), None),
        ("POST", _tokens_path(server, target, "deactivate"), None),
        ("POST", _tokens_path(server, target, "activate"), None),
        ("POST", _tokens_path(server, target, "regenerate"), None),
    ):
        _error(server.request(method, path, body=body, token=reader), 403,
               "this API token is read-only")  # fmt: skip
        _error(server.request(method, path, body=body, token=task), 403, task_message)
    _error(server.request("GET", _tokens_path(server), token=task), 403, task_message)
    missing = "missing API token: send it in X-TILEDB-REST-API-KEY or Authorization: Bearer"
    _error(server.request("GET", _tokens_path(server), token=None), 401, missing)
    # Nothing was created, and everyone's state is as it was.
    tokens = server.app.tokens.list(server.workspace_id)
    assert sorted((t.name, t.state) for t in tokens) == [
        ("reader", "active"), ("runner", "active"), ("test-admin", "active")
    ]  # fmt: skip


def test_the_api_cannot_lock_a_workspace_out(server: Running) -> None:
    admin = _admin_id(server)

    deactivated = server.request("POST", _tokens_path(server, admin, "deactivate"))
    revoked = server.request("DELETE", _tokens_path(server, admin))

    _error(deactivated, 409, _lockout(admin, "deactivating"))
    _error(revoked, 409, _lockout(admin, "revoking"))
    refusals = [(r["action"], r["outcome"], r["detail"]) for r in _audit(server)[-2:]]
    assert refusals == [
        ("token.deactivate", "failed", _lockout(admin, "deactivating")),
        ("token.revoke", "failed", _lockout(admin, "revoking")),
    ]
    # Regenerating itself is allowed: the new text is in the answer.
    regenerated = server.request("POST", _tokens_path(server, admin, "regenerate"))
    assert regenerated.status == 200, regenerated.raw
    text = regenerated.json["data"]["token"]
    _error(server.request("GET", _tokens_path(server)), 401, "unknown or revoked API token")
    assert server.request("GET", _tokens_path(server), token=text).status == 200
    # With a second admin, the first may deactivate itself, and is then refused.
    spare = server.request("POST", _tokens_path(server), token=text, body={"name": "spare"})
    off = server.request("POST", _tokens_path(server, admin, "deactivate"), token=text)
    assert (spare.status, off.status) == (201, 200)
    _error(server.request("GET", _tokens_path(server), token=text), 401,
           "this API token is deactivated")  # fmt: skip


@pytest.mark.sqlite_only
def test_a_missing_or_foreign_token_and_bad_bodies(running_server: Any, tmp_path: Path) -> None:
    server: Running = running_server(tmp_path / "home")
    other = running_server(tmp_path / "home2", workspace="other")
    foreign = _admin_id(other)

    missing = server.request("POST", _tokens_path(server, "tok_nothing", "activate"))
    elsewhere = server.request("PATCH", _tokens_path(server, foreign), body={"name": "x"})
    wrong_ws = server.request("GET", "/tilecred/v1/tokens/ws_nothing")
    empty = server.request("PATCH", _tokens_path(server, _admin_id(server)), body={"name": ""})
    kind = server.request("POST", _tokens_path(server), body={"name": "x", "kind": "root"})
    extra = server.request("POST", _tokens_path(server), body={"name": "x", "secret": "y"})
    scoped = server.request("POST", _tokens_path(server),
                            body={"name": "x", "teamspace_id": "ml"})  # fmt: skip
    past = server.request("POST", _tokens_path(server), body={
        "name": "x", "kind": "task", "expires_at": "2020-01-01T00:00:00Z"})  # fmt: skip

    _error(missing, 404, "no live token with id 'tok_nothing'")
    _error(elsewhere, 404, f"no live token with id {foreign!r}")
    _error(wrong_ws, 404, "workspace 'ws_nothing' not found")
    _error(empty, 400, "invalid request: token name '' must be non-empty printable text")
    assert empty.json["validation_error"]["fields"][0]["field"] == "$.name"
    _error(kind, 400, "invalid request body: Invalid enum value 'root' - at `$.kind`")
    _error(extra, 400, "invalid request body: Object contains unknown field `secret`")
    _error(scoped, 400, "invalid request: only a task token is held to a teamspace or to named "
           "credentials")  # fmt: skip
    _error(past, 400, "invalid request: expires_at 2020-01-01T00:00:00+00:00 is not in the future")
    assert len(server.app.tokens.list()) == 1


def test_two_regenerations_racing_leave_one_text(server: Running) -> None:
    record, _text = server.app.tokens.create(server.workspace_id, "runner", kind=TASK)
    path = _tokens_path(server, record.id, "regenerate")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda _: server.request("POST", path), range(2)))

    assert [reply.status for reply in replies] == [200, 200]
    texts = [reply.json["data"]["token"] for reply in replies]
    working = [text for text in texts if server.app.tokens.authenticate(text) is not None]
    assert len(set(texts)) == 2
    assert len(working) == 1
    with server.app.store.transaction(write=False) as conn:
        stored = conn.execute("SELECT digest FROM tokens WHERE id = ?", (record.id,)).fetchone()
    assert stored[0] == hashlib.sha256(working[0].encode()).hexdigest()


def test_two_admins_deactivating_each_other_leave_one(server: Running) -> None:
    first = _admin_id(server)
    second, text = server.app.tokens.create(server.workspace_id, "second", kind=ADMIN)
    calls = [(server.token, second.id), (text, first)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(
            lambda call: server.request("POST", _tokens_path(server, call[1], "deactivate"),
                                        token=call[0]), calls))  # fmt: skip

    # One wins; the other is refused by the lockout rule (409), or, if the
    # winner committed before it was authenticated, as deactivated (401).
    assert sorted(reply.status for reply in replies) in ([200, 401], [200, 409])
    tokens = server.app.tokens.list(server.workspace_id)
    assert [token.administers for token in tokens].count(True) == 1


def test_an_issued_token_never_prints_its_text() -> None:
    issued = IssuedToken(
        token_id="tok_1", name="ci", workspace_id="ws_1", kind="task", read_only=False,
        active=True, state="active", created_at=datetime.datetime(2026, 12, 2, tzinfo=datetime.UTC),
        token=CANARY_TOKEN,
    )  # fmt: skip
    shown = [repr(issued), str(issued), f"{issued}", repr(issued.__rich_repr__())]
    assert all(CANARY_TOKEN not in text for text in shown), shown
    assert shown[0] == "IssuedToken(token_id='tok_1', name='ci', token='***')"
    assert msgspec.json.decode(msgspec.json.encode(issued))["token"] == CANARY_TOKEN
