"""What only an admin token may do over HTTP: issue task tokens, allow a
credential in tasks (or change the provider or secret of one that is), and
switch off, on or re-key another token. A read-write management token that
tries any of it gets a 403, audited, and nothing changes; the same calls by
an admin token work."""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_server_harness import Reply, Running, aws_key_body
from tilecred._server._tokens import ADMIN, MANAGEMENT, TASK, TokenRecord

pytest_plugins = ["tests.test_server_harness"]

pytestmark = pytest.mark.usefixtures("engine")

CANARY = "rights-canary-secret-0042"
NOT_ADMIN = (
    "only an admin token can {what}, and this is a management token: credential {name!r} was "
    "not changed (`tilecred token create --admin` on the server's machine issues an admin token)"
)


def _error(reply: Reply, status: int, message: str) -> None:
    assert (reply.status, reply.json["message"]) == (status, message), reply.raw


def _manager(server: Running) -> tuple[TokenRecord, str]:
    return server.app.tokens.create(server.workspace_id, "manager", kind=MANAGEMENT)


def _tokens_path(server: Running, *parts: str) -> str:
    return "/".join(("/tilecred/v1/tokens", server.workspace_id, *parts))


def _denied(server: Running) -> list[tuple[str, str, str]]:
    reply = server.request("GET", f"/tilecred/v1/audit/{server.workspace_id}")
    assert reply.status == 200, reply.raw
    return [(r["actor"], r["action"], r["detail"]) for r in reply.json["data"]
            if r["outcome"] == "denied"]  # fmt: skip


def test_a_management_token_cannot_issue_a_task_token(server: Running) -> None:
    manager, text = _manager(server)
    before = {t.id for t in server.app.tokens.list(server.workspace_id)}

    task = server.request("POST", _tokens_path(server), token=text,
                          body={"name": "self-service", "kind": "task"})  # fmt: skip
    admin = server.request("POST", _tokens_path(server), body={"name": "x", "kind": "admin"})
    plain = server.request("POST", _tokens_path(server), token=text, body={"name": "peer"})

    message = (
        "only an admin token can issue a task token, and this is a management token "
        "(`tilecred token create --admin` on the server's machine issues an admin token)"
    )
    _error(task, 403, message)
    _error(admin, 403, "an admin token is issued only on the server's machine, with "
           "`tilecred token create --admin`")  # fmt: skip
    assert (plain.status, plain.json["data"]["kind"]) == (201, "management"), plain.raw
    after = server.app.tokens.list(server.workspace_id)
    assert [t.kind for t in after if t.id not in before] == [MANAGEMENT]
    assert (manager.actor, "token.create", message) in _denied(server)


def test_a_management_token_cannot_let_a_task_receive_a_secret(server: Running) -> None:
    _manager_record, text = _manager(server)
    path = server.credentials_path()

    created = server.request("POST", path, token=text,
                             body=aws_key_body("lake", CANARY, allowed_in_tasks=True))  # fmt: skip
    plain = server.request("POST", path, token=text, body=aws_key_body("lake", CANARY))
    allowed = server.request("PATCH", server.credentials_path("lake"), token=text,
                             body={"allowed_in_tasks": True})  # fmt: skip

    _error(created, 403, NOT_ADMIN.format(what="allow it in tasks", name="lake"))
    assert plain.status == 201, plain.raw
    _error(allowed, 403, NOT_ADMIN.format(what="allow it in tasks", name="lake"))
    stored = server.app.store.get_credential(server.workspace_id, None, "lake")
    assert stored.allowed_in_tasks is False
    assert CANARY not in created.raw.decode() + allowed.raw.decode()


def test_a_management_token_cannot_redirect_a_credential_tasks_use(server: Running) -> None:
    # Changing an allowed credential's endpoint or secret would decide what a
    # task is handed, and where it sends it.
    _manager_record, text = _manager(server)
    made = server.request("POST", server.credentials_path(),
                          body=aws_key_body("lake", CANARY, allowed_in_tasks=True))  # fmt: skip
    assert made.status == 201, made.raw
    path = server.credentials_path("lake")
    changes: list[dict[str, Any]] = [
        {"credential": {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE",
                                "secret_access_key": "attacker-known"}}},
        {"provider": "AWS"},
    ]  # fmt: skip
    replies = [server.request("PATCH", path, token=text, body=change) for change in changes]
    what = "change the provider or secret of a credential allowed in tasks"
    for reply in replies:
        _error(reply, 403, NOT_ADMIN.format(what=what, name="lake"))

    # What does not widen what tasks get is a management token's to do.
    renamed = server.request("PATCH", path, token=text, body={"name": "lake2"})
    default = server.request("PATCH", server.credentials_path("lake2"), token=text,
                             body={"provider_default": True})  # fmt: skip
    withdrawn = server.request("PATCH", server.credentials_path("lake2"), token=text,
                               body={"allowed_in_tasks": False})  # fmt: skip
    changed = server.request("PATCH", server.credentials_path("lake2"), token=text,
                             body=changes[0])  # fmt: skip
    for reply in (renamed, default, withdrawn, changed):
        assert reply.status == 200, reply.raw
    assert changed.json["data"]["allowed_in_tasks"] is False

    # An admin token may change it, and allow it again.
    again = server.request("PATCH", server.credentials_path("lake2"),
                           body={"allowed_in_tasks": True, **changes[0]})  # fmt: skip
    assert again.status == 200, again.raw
    assert again.json["data"]["allowed_in_tasks"] is True


@pytest.mark.parametrize("action", ["deactivate", "activate", "regenerate", "revoke"])
def test_only_an_admin_token_switches_another_token(server: Running, action: str) -> None:
    manager, text = _manager(server)
    runner, runner_text = server.app.tokens.create(server.workspace_id, "runner", kind=TASK)
    if action == "activate":
        server.app.tokens.deactivate(runner.id)
    before = {t.id: t.state for t in server.app.tokens.list(server.workspace_id)}
    method, suffix = ("DELETE", ()) if action == "revoke" else ("POST", (action,))

    refused = server.request(method, _tokens_path(server, runner.id, *suffix), token=text)

    _error(refused, 403, f"only an admin token can {action} another token, and this is a "
           "management token; a management token can do it to itself")  # fmt: skip
    assert {t.id: t.state for t in server.app.tokens.list(server.workspace_id)} == before
    assert server.app.tokens.authenticate(runner_text) is not None  # the same text
    assert (manager.actor, f"token.{action}", refused.json["message"]) in _denied(server)
    by_admin = server.request(method, _tokens_path(server, runner.id, *suffix))
    assert by_admin.status in (200, 204), by_admin.raw


def test_a_management_token_regenerates_and_revokes_itself(server: Running) -> None:
    manager, text = _manager(server)
    regenerated = server.request("POST", _tokens_path(server, manager.id, "regenerate"),
                                 token=text)  # fmt: skip
    assert regenerated.status == 200, regenerated.raw
    new = regenerated.json["data"]["token"]
    revoked = server.request("DELETE", _tokens_path(server, manager.id), token=new)
    assert revoked.status == 204, revoked.raw


def test_the_first_starts_token_is_an_admin_token(server: Running) -> None:
    issued = server.app.tokens.bootstrap(server.workspace_id, "admin")
    assert issued is not None
    assert issued[0].kind == ADMIN
    stored = {t.id: t.kind for t in server.app.tokens.list(server.workspace_id)}
    assert stored[issued[0].id] == ADMIN
