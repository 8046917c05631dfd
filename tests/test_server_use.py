"""The delivery route, task tokens and the audit log on a real ``tilecred serve``.

Requests go over real HTTP to the server on 127.0.0.1 (a loopback client, so
plain HTTP may receive secrets); the one case that needs another client
address calls the same WSGI application with that address, as a server would.
"""

from __future__ import annotations

import datetime
import io
import logging
import sqlite3
from typing import Any
from urllib.parse import quote

import pytest

import tilecred
from tests.test_server_harness import Reply, Running, aws_key_body, aws_role_body
from tilecred._backend import AuditQuery
from tilecred._server._tokens import TASK, TokenRecord

from .conftest import CANARY_SECRET

pytest_plugins = ["tests.test_server_harness"]


# Every test here runs on SQLite and on PostgreSQL (tests/_engines.py).
pytestmark = pytest.mark.usefixtures("engine")


def _use_path(server: Running, name: str, workspace: str | None = None) -> str:
    ws = quote(workspace or server.workspace_id, safe="")
    return f"/tilecred/v1/credentials/{ws}/{quote(name, safe='')}/use"


def _task(server: Running, name: str = "runner", **limits: Any) -> tuple[TokenRecord, str]:
    return server.app.tokens.create(server.workspace_id, name, kind=TASK, **limits)


def _create(server: Running, body: dict[str, Any], teamspace: str | None = None) -> None:
    query = [("teamspace_id", teamspace)] if teamspace else []
    reply = server.request("POST", server.credentials_path(), body=body, query=query)
    assert reply.status == 201, reply.raw


def _error(reply: Reply, status: int, message: str) -> None:
    assert (reply.status, reply.json["message"]) == (status, message), reply.raw


def _audit(server: Running, **query: str) -> list[dict[str, Any]]:
    reply = server.request(
        "GET", f"/tilecred/v1/audit/{server.workspace_id}", query=list(query.items())
    )
    assert reply.status == 200, reply.raw
    records: list[dict[str, Any]] = reply.json["data"]
    return records


def _row(record: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        record.get(field)
        for field in ("actor", "teamspace", "credential", "action", "outcome", "detail")
    )


def _admin(server: Running) -> str:
    caller = server.app.tokens.authenticate(server.token)
    assert caller is not None
    return caller.actor


GATE = (
    "credential 'lake' is not allowed in tasks, so its secrets cannot be used; allow it with "
    "update_credential('lake', allowed_in_tasks=True) or `tilecred update lake --allow-in-tasks`"
)


def test_a_task_token_receives_the_secrets_of_an_allowed_credential(server: Running) -> None:
    _create(server, aws_key_body("lake", CANARY_SECRET, allowed_in_tasks=True))
    record, task = _task(server)
    reply = server.request("POST", _use_path(server, "lake"), token=task)
    assert reply.status == 200
    assert reply.headers["Cache-Control"] == "no-store"
    data = reply.json["data"]
    assert data["credential"]["aws"] == {
        "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": CANARY_SECRET
    }  # fmt: skip
    assert (data["name"], data["allowed_in_tasks"]) == ("lake", True)
    last = _audit(server)[-1]
    assert _row(last) == (f"token:{record.id} (runner)", None, "lake", "use", "ok", None)
    assert last["request_id"] == reply.headers["X-Request-Id"]
    assert last["workspace"] == "team"


def test_the_gate_refuses_a_credential_not_allowed_in_tasks(server: Running) -> None:
    _create(server, aws_key_body("lake", CANARY_SECRET))
    record, task = _task(server)
    reply = server.request("POST", _use_path(server, "lake"), token=task)
    _error(reply, 403, GATE)
    assert reply.headers["Cache-Control"] == "no-store"
    assert CANARY_SECRET.encode() not in reply.raw
    assert _row(_audit(server)[-1]) == (
        f"token:{record.id} (runner)", None, "lake", "use", "denied", GATE
    )  # fmt: skip


def test_a_management_token_never_reads_a_secret(server: Running) -> None:
    _create(server, aws_key_body("lake", CANARY_SECRET, allowed_in_tasks=True))
    reply = server.request("POST", _use_path(server, "lake"))
    message = (
        "only a task token can use a credential; a management token never reads a secret "
        "(issue one with `tilecred token create --task`)"
    )
    _error(reply, 403, message)
    assert _row(_audit(server)[-1]) == (_admin(server), None, "lake", "use", "denied", message)


def test_a_task_token_lists_and_gets_but_never_changes(server: Running) -> None:
    _create(server, aws_role_body("lake"))
    _record, task = _task(server)
    assert server.request("GET", server.credentials_path(), token=task).status == 200
    assert server.request("GET", server.credentials_path("lake"), token=task).status == 200
    workspace = server.request("GET", f"/v4/workspaces/{server.workspace_id}", token=task)
    assert workspace.json["data"]["self"]["role"] == "member"
    message = (
        "a task token can list, get and use credentials; it cannot change or verify them, "
        "create teamspaces, read the audit log or manage API tokens"
    )
    attempts = [
        ("POST", server.credentials_path(), aws_role_body("other")),
        ("PATCH", server.credentials_path("lake"), {"allowed_in_tasks": True}),
        ("DELETE", server.credentials_path("lake"), None),
        ("POST", "/v4/actions/credentials/verify", aws_role_body("v")),
        ("POST", f"/v4/teamspaces/{server.workspace_id}", {"name": "t", "visibility": "private"}),
        ("GET", f"/tilecred/v1/audit/{server.workspace_id}", None),
    ]
    for method, path, body in attempts:
        _error(server.request(method, path, token=task, body=body), 403, message)
    actions = [(r["action"], r.get("credential"), r["outcome"]) for r in _audit(server)[-6:]]
    assert actions == [
        ("create", None, "denied"),
        ("update", "lake", "denied"),
        ("delete", "lake", "denied"),
        ("verify", None, "denied"),
        ("teamspace.create", None, "denied"),
        ("audit", None, "denied"),
    ]
    assert server.request("GET", server.credentials_path("lake")).json["data"]["name"] == "lake"


def test_a_task_token_held_to_a_teamspace(server: Running) -> None:
    for name in ("ml", "finance"):
        body = {"name": name, "visibility": "private"}
        assert server.request("POST", f"/v4/teamspaces/{server.workspace_id}", body=body).status
    for teamspace in (None, "ml", "finance"):
        _create(server, aws_key_body("lake", CANARY_SECRET, allowed_in_tasks=True), teamspace)
    record, task = _task(server, teamspace_id="ml")
    assert record.teamspace_id is not None
    assert record.teamspace_id.startswith("ts_")
    outside = (
        "this task token is limited to teamspace 'ml': pass teamspace='ml' (--teamspace ml), "
        "or none and the token uses its own"
    )
    query = [("teamspace_id", "finance")]
    _error(server.request("POST", _use_path(server, "lake"), token=task, query=query),
           403, outside)  # fmt: skip
    _error(server.request("GET", server.credentials_path("lake"), token=task, query=query),
           403, outside)  # fmt: skip
    _error(server.request("GET", server.credentials_path(), token=task, query=query),
           403, outside)  # fmt: skip
    # Naming its teamspace, or none: the token uses its own, never the workspace's 'lake'.
    for inside in ([("teamspace_id", "ml")], []):
        reply = server.request("POST", _use_path(server, "lake"), token=task, query=inside)
        assert reply.status == 200
        assert reply.json["data"]["credential_type"] == "teamspace"
        assert _row(_audit(server)[-1])[:5] == (record.actor, "ml", "lake", "use", "ok")
        listed = server.request("GET", server.credentials_path(), token=task, query=inside)
        assert [c["credential_type"] for c in listed.json["data"]] == ["teamspace"]
    refusals = [r for r in _audit(server) if r["outcome"] == "denied"]
    assert [(r["action"], r.get("teamspace")) for r in refusals] == [
        ("use", "finance"), ("get", "finance"), ("list", "finance"),
    ]  # fmt: skip


def test_a_task_token_held_to_a_teamspace_sees_no_other_teamspace(server: Running) -> None:
    for name in ("ml", "secret-project"):
        body = {"name": name, "visibility": "private"}
        assert server.request("POST", f"/v4/teamspaces/{server.workspace_id}", body=body).status
    _record, task = _task(server, teamspace_id="ml")
    teamspaces = f"/v4/teamspaces/{server.workspace_id}"

    listed = server.request("GET", teamspaces, token=task)
    assert listed.status == 200
    assert [ts["name"] for ts in listed.json["data"]] == ["ml"]
    assert server.request("GET", f"{teamspaces}/ml", token=task).status == 200
    _error(server.request("GET", f"{teamspaces}/secret-project", token=task),
           403, "this task token is limited to teamspace 'ml': pass teamspace='ml' "
           "(--teamspace ml), or none and the token uses its own")  # fmt: skip
    admin = server.request("GET", teamspaces)  # the management token
    assert [ts["name"] for ts in admin.json["data"]] == ["ml", "secret-project"]


def test_a_task_token_held_to_named_credentials(server: Running) -> None:
    for name in ("lake", "warehouse"):
        _create(server, aws_key_body(name, CANARY_SECRET, allowed_in_tasks=True))
    _record, task = _task(server, credentials=["lake"])
    assert server.request("POST", _use_path(server, "lake"), token=task).status == 200
    message = LIMITED.format(name="warehouse")
    _error(server.request("POST", _use_path(server, "warehouse"), token=task), 403, message)
    _error(server.request("GET", server.credentials_path("warehouse"), token=task), 403, message)
    # One that does not exist is refused in the same words: the token learns nothing.
    missing = LIMITED.format(name="nothing")
    _error(server.request("POST", _use_path(server, "nothing"), token=task), 403, missing)
    _error(server.request("GET", server.credentials_path("nothing"), token=task), 403, missing)
    listed = server.request("GET", server.credentials_path(), token=task).json
    assert [c["name"] for c in listed["data"]] == ["lake"]
    assert listed["pagination_metadata"]["total_items"] == 1


LIMITED = (
    "this task token is limited to the credentials it was issued for ('lake', as they were "
    "then), and {name!r} at the workspace level is not one of them"
)


def _secret(reply: Reply) -> str:
    assert reply.status == 200, reply.raw
    secret: str = reply.json["data"]["credential"]["aws"]["secret_access_key"]
    return secret


def test_a_task_tokens_credentials_are_bound_by_id_not_by_name(server: Running) -> None:
    # Bound when issued: a rename onto the name, or a delete and re-create,
    # does not give the token the credential that now has the name.
    for name, secret in (("lake", "first-secret"), ("decoy", "decoy-secret")):
        _create(server, aws_key_body(name, secret, allowed_in_tasks=True))
    _record, task = _task(server, credentials=["lake"])
    assert _secret(server.request("POST", _use_path(server, "lake"), token=task)) == "first-secret"

    for call in (("PATCH", server.credentials_path("lake"), {"name": "lake-old"}),
                 ("PATCH", server.credentials_path("decoy"), {"name": "lake"})):  # fmt: skip
        assert server.request(call[0], call[1], body=call[2]).status == 200
    _error(server.request("POST", _use_path(server, "lake"), token=task), 403,
           LIMITED.format(name="lake"))  # fmt: skip
    assert _secret(server.request("POST", _use_path(server, "lake-old"), token=task)) == (
        "first-secret"
    )
    listed = server.request("GET", server.credentials_path(), token=task).json["data"]
    assert [c["name"] for c in listed] == ["lake-old"]

    assert server.request("DELETE", server.credentials_path("lake-old")).status == 204
    _create(server, aws_key_body("lake-old", "second-secret", allowed_in_tasks=True))
    _error(server.request("POST", _use_path(server, "lake-old"), token=task), 403,
           LIMITED.format(name="lake-old"))  # fmt: skip


def test_a_task_token_without_a_teamspace_names_workspace_level_credentials(
    server: Running,
) -> None:
    made = server.request("POST", f"/v4/teamspaces/{server.workspace_id}",
                          body={"name": "ml", "visibility": "private"})  # fmt: skip
    assert made.status == 201, made.raw
    _create(server, aws_key_body("lake", "top-secret", allowed_in_tasks=True))
    _create(server, aws_key_body("lake", "ml-secret", allowed_in_tasks=True), teamspace="ml")
    _record, task = _task(server, credentials=["lake"])

    assert _secret(server.request("POST", _use_path(server, "lake"), token=task)) == "top-secret"
    ml = [("teamspace_id", "ml")]
    in_ml = server.request("POST", _use_path(server, "lake"), token=task, query=ml)
    _error(in_ml, 403, LIMITED.format(name="lake").replace("at the workspace level", "in 'ml'"))
    listed = server.request("GET", server.credentials_path(), token=task, query=ml)
    assert (listed.status, listed.json["data"]) == (200, [])


def test_a_missing_credential_binds_the_first_made_under_its_name(server: Running) -> None:
    body = {"name": "t", "kind": "task", "credentials": ["lake"]}
    refused = server.request("POST", f"/tilecred/v1/tokens/{server.workspace_id}", body=body)
    _error(refused, 404, "no credential 'lake' at the workspace level, so a task token held to "
           "it could not use it; pass --allow-missing (allow_missing over the API) to issue it "
           "anyway")  # fmt: skip
    record, task = _task(server, credentials=["lake"], allow_missing=True)
    assert record.credential_ids == {"lake": ()}
    _error(server.request("POST", _use_path(server, "lake"), token=task), 403,
           LIMITED.format(name="lake"))  # fmt: skip

    _create(server, aws_key_body("lake", "first-secret", allowed_in_tasks=True))
    assert _secret(server.request("POST", _use_path(server, "lake"), token=task)) == "first-secret"
    assert server.request("DELETE", server.credentials_path("lake")).status == 204
    _create(server, aws_key_body("lake", "second-secret", allowed_in_tasks=True))
    _error(server.request("POST", _use_path(server, "lake"), token=task), 403,
           LIMITED.format(name="lake"))  # fmt: skip


@pytest.mark.sqlite_only
def test_an_expired_task_token_is_refused(server: Running) -> None:
    _create(server, aws_key_body("lake", CANARY_SECRET, allowed_in_tasks=True))
    record, task = _task(server, expires_at=datetime.timedelta(hours=8))
    assert record.expires_at is not None
    assert server.request("POST", _use_path(server, "lake"), token=task).status == 200
    # The lifetime ends: set in the store, as the passing of time would.
    past = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    with sqlite3.connect(server.home / "tilecred.db") as db:
        db.execute(
            "UPDATE tokens SET expires_at = ? WHERE id = ?",
            (int(past.timestamp()) * 1_000_000, record.id),
        )
    message = "this API token expired at 2026-01-01T00:00:00+00:00"
    _error(server.request("POST", _use_path(server, "lake"), token=task), 403, message)
    _error(server.request("GET", server.credentials_path(), token=task), 403, message)


def test_another_workspace_is_not_found_for_a_task_token(server: Running) -> None:
    other = server.app.store.create_workspace("elsewhere")
    _record, task = _task(server)
    reply = server.request("POST", _use_path(server, "lake", other.id), token=task)
    _error(reply, 404, f"workspace {other.id!r} not found")
    _error(server.request("POST", _use_path(server, "nothing"), token=task), 404,
           "credential not found")  # fmt: skip


def _call_app(server: Running, environ: dict[str, Any]) -> tuple[str, bytes]:
    from wsgiref.util import setup_testing_defaults

    setup_testing_defaults(environ)
    answer: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        answer.append(status)

    body = b"".join(server.app(environ, start_response))
    return answer[0], body


def test_plain_http_from_another_machine_gets_no_secret(server: Running) -> None:
    _create(server, aws_key_body("lake", CANARY_SECRET, allowed_in_tasks=True))
    _record, task = _task(server)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": _use_path(server, "lake"),
        "REMOTE_ADDR": "192.0.2.10",
        "HTTP_X_TILEDB_REST_API_KEY": task,
        "wsgi.input": io.BytesIO(b""),
        "CONTENT_LENGTH": "0",
    }
    status, body = _call_app(server, dict(environ))
    assert status == "403 Forbidden"
    assert CANARY_SECRET.encode() not in body
    assert b"secrets are delivered only over TLS or to a client on this machine" in body
    # Over TLS (the WSGI server says so) the same client is served.
    status, body = _call_app(server, {**environ, "wsgi.url_scheme": "https"})
    assert status == "200 OK"
    assert CANARY_SECRET.encode() in body


def test_the_library_uses_a_credential_through_the_server(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _create(server, aws_key_body("lake", CANARY_SECRET, allowed_in_tasks=True))
    _create(server, aws_key_body("closed", CANARY_SECRET))
    _record, task = _task(server)
    with tilecred.Client(host=server.url, token=task) as client:
        with client.use_credential("lake") as access:
            aws = access.credential.credential.aws  # type: ignore[union-attr]
            assert aws is not None
            assert aws.secret_access_key == CANARY_SECRET
        with client.use_credential("lake") as access:
            # Another credential, named by the caller: through the same route and gate.
            assert access._resolve is not None
            assert access._resolve("lake").name == "lake"
            with pytest.raises(tilecred.PermissionDeniedError):
                access._resolve("closed")
        with pytest.raises(tilecred.PermissionDeniedError) as info:
            client.use_credential("closed")
        assert info.value.message == GATE.replace("'lake'", "'closed'").replace(
            "update lake", "update closed"
        )
        with pytest.raises(tilecred.PermissionDeniedError):
            client.audit()
    with tilecred.Client(host=server.url, token=server.token) as admin:
        records = admin.audit(credential="lake")
        with pytest.raises(tilecred.PermissionDeniedError):
            admin.use_credential("lake")
    assert [(r.action, r.outcome) for r in records] == [("create", "ok")] + [("use", "ok")] * 3
    assert records[1].request_id is not None
    # Client and server share this process's log: no secret and no token in it.
    assert CANARY_SECRET not in caplog.text
    assert task not in caplog.text
    assert CANARY_SECRET not in str(info.value)


def test_every_change_over_http_is_recorded_exactly(server: Running) -> None:
    admin = _admin(server)
    replies = [
        server.request("POST", server.credentials_path(), body=aws_key_body("lake", CANARY_SECRET)),
        server.request("POST", server.credentials_path(), body=aws_key_body("lake", CANARY_SECRET)),
        server.request("PATCH", server.credentials_path("lake"),
                       body={"allowed_in_tasks": True, "name": "pond"}),
        server.request("POST", "/v4/actions/credentials/verify", body=aws_role_body("v")),
        server.request("DELETE", server.credentials_path("pond")),
        server.request("DELETE", server.credentials_path("pond")),
    ]  # fmt: skip
    assert [r.status for r in replies] == [201, 409, 200, 200, 204, 404]
    # The harness's own token was issued first: recorded as token.create.
    first, *records = _audit(server)
    assert (first["action"], first["outcome"]) == ("token.create", "ok")
    assert [_row(r) for r in records] == [
        (admin, None, "lake", "create", "ok", "AWS credential.aws"),
        (admin, None, "lake", "create", "failed", "name already in use"),
        (admin, None, "lake", "update", "ok",
         "changed name, allowed_in_tasks; allowed_in_tasks=True; new name 'pond'"),
        (admin, None, "v", "verify", "ok", None),
        (admin, None, "pond", "delete", "ok", None),
        (admin, None, "pond", "delete", "failed", "credential not found"),
    ]  # fmt: skip
    assert [r["request_id"] for r in records] == [r.headers["X-Request-Id"] for r in replies]
    assert _audit(server, credential="pond", limit="1")[0]["outcome"] == "failed"
    since = records[3]["at"]
    assert [r["action"] for r in _audit(server, since=since)] == ["verify", "delete", "delete"]
    bad = server.request(
        "GET", f"/tilecred/v1/audit/{server.workspace_id}", query=[("since", "yesterday")]
    )
    _error(bad, 400, "query parameter since must be an RFC 3339 time with a zone, not 'yesterday'")


@pytest.mark.sqlite_only
def test_no_secret_in_the_audit_log_the_server_log_or_an_error(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _create(server, aws_key_body("lake", CANARY_SECRET, allowed_in_tasks=True))
    _record, task = _task(server)
    server.request("POST", _use_path(server, "lake"), token=task)
    bad_key = aws_key_body("v", CANARY_SECRET)
    bad_key["credential"]["aws"]["access_key_id"] = "not-a-key-" + CANARY_SECRET
    replies = [
        server.request("POST", "/v4/actions/credentials/verify", body=bad_key),
        server.request("POST", server.credentials_path(), body=aws_key_body("lake", CANARY_SECRET)),
        server.request("PATCH", server.credentials_path("lake"),
                       body={"credential": {"aws": {"secret_access_key": CANARY_SECRET}}}),
    ]  # fmt: skip
    assert [r.status for r in replies] == [422, 409, 400]
    with sqlite3.connect(server.home / "tilecred.db") as db:
        rows = db.execute("SELECT * FROM audit").fetchall()
    texts = [repr(rows), caplog.text, *(r.raw.decode() for r in replies)]
    for text in texts:
        assert CANARY_SECRET not in text
    assert task not in caplog.text


@pytest.mark.sqlite_only
def test_a_credential_allowed_in_the_database_is_not_handed_out(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    # Whoever can write the database but has no key cannot open the gate.
    caplog.set_level(logging.DEBUG)
    _create(server, aws_key_body("lake", CANARY_SECRET))
    _record, task = _task(server)
    with sqlite3.connect(server.home / "tilecred.db") as db:
        db.execute("UPDATE credentials SET allowed_in_tasks = 1 WHERE name = 'lake'")

    reply = server.request("POST", _use_path(server, "lake"), token=task)

    _error(reply, 500, "the credential store failed; the server log has the details")
    failed = server.app.store.read_audit(server.workspace_id, AuditQuery())[-1]
    assert (failed.action, failed.outcome) == ("use", "failed")
    assert failed.detail is not None
    assert failed.detail.startswith("the secret of credential 'lake' does not open: its row was "
                                    "changed outside tilecred")  # fmt: skip
    assert CANARY_SECRET not in reply.raw.decode() + caplog.text + repr(failed)


@pytest.mark.sqlite_only
def test_the_audit_log_refuses_change_and_the_openapi_document_lists_the_routes(
    server: Running,
) -> None:
    _create(server, aws_role_body("lake"))
    with sqlite3.connect(server.home / "tilecred.db") as db:
        for statement in ("UPDATE audit SET actor = 'someone'", "DELETE FROM audit"):
            with pytest.raises(sqlite3.IntegrityError, match="the audit log is append-only"):
                db.execute(statement)
    paths = server.request("GET", "/openapi.json").json["paths"]
    use = paths["/tilecred/v1/credentials/{workspace}/{name}/use"]["post"]
    assert use["operationId"] == "use_credential"
    assert {"200", "401", "403", "404"} <= set(use["responses"])
    names = ["workspace", "name", "teamspace_id", "purpose"]
    assert [p["name"] for p in use["parameters"]] == names
    audit = paths["/tilecred/v1/audit/{workspace}"]["get"]
    assert [p["name"] for p in audit["parameters"]] == ["workspace", "credential", "since", "limit"]
