"""API tokens and teamspaces from Python: the functions and Client methods, on
the local store, on a real ``tilecred serve``, and the exact requests they send."""

from __future__ import annotations

import datetime
import logging
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

import tilecred
from tests._http_helpers import WORKSPACE, make_client, seen
from tests.conftest import CANARY_TOKEN
from tilecred.testing import TilecredServer

AWS_ROLE = {"aws": {"role_arn": "arn:aws:iam::123456789012:role/demo"}}


def _never_shown(issued: tilecred.IssuedToken, *texts: str) -> None:
    """The issued text appears in none of what is shown of the token."""
    pretty: list[str] = []
    printer = type("Printer", (), {"text": lambda self, text: pretty.append(text)})()
    issued._repr_pretty_(printer, False)
    for shown in (repr(issued), str(issued), *pretty, repr(issued.__rich_repr__()), *texts):
        assert issued.token not in shown
    assert pretty == [repr(issued)]


def test_the_local_store_issues_lists_and_changes_tokens(
    isolated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tilecred.create_credential("lake", "AWS", role=AWS_ROLE)
    admin = tilecred.create_token("ops", kind="admin")
    task = tilecred.create_token(
        "nightly", kind="task", credentials=["lake"], expires=datetime.timedelta(days=1)
    )
    assert repr(task) == f"IssuedToken(token_id={task.token_id!r}, name='nightly', token='***')"
    assert task.token.startswith("tc-ws_")
    assert task.workspace_id in task.token
    assert (task.kind, task.state, task.credentials) == ("task", "active", ["lake"])
    assert task.expires_at is not None

    listed = tilecred.list_tokens()
    # Oldest first; two issued in the same second are in id order.
    assert sorted((t.token_id, t.name, t.kind) for t in listed) == sorted(
        [(admin.token_id, "ops", "admin"), (task.token_id, "nightly", "task")]
    )
    assert not any(hasattr(t, "token") for t in listed)
    assert tilecred.get_token(task.token_id) == next(t for t in listed if t.name == "nightly")

    assert tilecred.rename_token(task.token_id, "nightly-etl").name == "nightly-etl"
    assert tilecred.deactivate_token(task.token_id).state == "inactive"
    assert tilecred.activate_token(task.token_id).state == "active"
    fresh = tilecred.regenerate_token(task.token_id)
    assert (fresh.token_id, fresh.name) == (task.token_id, "nightly-etl")
    assert fresh.token != task.token
    tilecred.revoke_token(task.token_id)
    assert tilecred.get_token(task.token_id).state == "revoked"

    actions = [(r.action, r.outcome) for r in tilecred.read_audit() if r.action.startswith("token")]
    assert actions == [("token.create", "ok"), ("token.create", "ok"), ("token.rename", "ok"),
                       ("token.deactivate", "ok"), ("token.activate", "ok"),
                       ("token.regenerate", "ok"), ("token.revoke", "ok")]  # fmt: skip
    audit_text = " ".join(str(r.detail) for r in tilecred.read_audit())
    _never_shown(task, audit_text, caplog.text)
    _never_shown(fresh, audit_text, caplog.text)


def test_the_lockout_rule_holds_from_python_and_the_refusal_is_audited(isolated: Path) -> None:
    only = tilecred.create_token("only", kind="admin")
    with pytest.raises(tilecred.ConflictError) as caught:
        tilecred.revoke_token(only.token_id)
    assert str(caught.value) == (
        f"could not revoke API token {only.token_id!r}: 409 Conflict: token {only.token_id} "
        "(only) is the "
        "last active read-write management token of its workspace: revoking it would leave "
        "none to manage the workspace; issue another one first"
    )
    assert only.token not in str(caught.value)
    (record,) = [r for r in tilecred.read_audit() if r.action == "token.revoke"]
    assert (record.outcome, record.detail) == ("failed", caught.value.message)
    assert tilecred.get_token(only.token_id).state == "active"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: tilecred.create_token(""), "token name '' must be non-empty printable text"),
        (lambda: tilecred.create_token("t", kind="root"),  # type: ignore[arg-type]
         "kind must be management, admin or task, not 'root'"),
        (lambda: tilecred.create_token("t", kind="task", read_only=True),
         "read_only is for management tokens: a token of kind task is not one"),
        (lambda: tilecred.create_token("t", teamspace="ml"),
         "only a task token is held to a teamspace or to named credentials"),
        (lambda: tilecred.create_token("t", kind="task", credentials="lake"),
         "credentials must be a list of credential names, not a str"),
        (lambda: tilecred.create_token("t", expires=datetime.timedelta(seconds=-1)),
         "is not in the future"),
        (lambda: tilecred.get_token("nightly"), "token id must be a tok_… id as issued, not "
         "'nightly'"),
        (lambda: tilecred.rename_token("tok_1", "a\nb"), "token name 'a\\nb' must be non-empty "
         "printable text"),
    ],
)  # fmt: skip
def test_bad_arguments_are_refused_before_the_store_is_opened(
    isolated: Path, call: object, message: str
) -> None:
    with pytest.raises(tilecred.InvalidArgumentError) as caught:
        call()  # type: ignore[operator]
    assert message in str(caught.value)
    assert not (isolated / "tilecred-home").exists()


def test_a_missing_token_is_not_found(isolated: Path) -> None:
    with pytest.raises(tilecred.NotFoundError) as caught:
        tilecred.get_token("tok_0123456789abcdef")
    assert str(caught.value) == (
        "could not get API token 'tok_0123456789abcdef': 404 Not Found: "
        "no token with id 'tok_0123456789abcdef'"
    )
    with pytest.raises(tilecred.NotFoundError) as renamed:
        tilecred.rename_token("tok_0123456789abcdef", "x")
    assert renamed.value.message == "no live token with id 'tok_0123456789abcdef'"


def test_teamspaces_from_python_on_the_local_store(isolated: Path) -> None:
    made = tilecred.create_teamspace("ml", description="models")
    assert (made.name, made.visibility, made.description) == ("ml", "private", "models")
    assert made.teamspace_id.startswith("ts_")
    assert [t.name for t in tilecred.list_teamspaces()] == ["ml"]
    with pytest.raises(tilecred.ConflictError):
        tilecred.create_teamspace("ml")
    with pytest.raises(tilecred.InvalidArgumentError) as caught:
        tilecred.create_teamspace("ml2", visibility="secret")
    assert str(caught.value) == "visibility must be private or public, not 'secret'"


def test_a_served_store_manages_its_tokens_from_python(tilecred_server: TilecredServer) -> None:
    with tilecred_server.client() as client:
        client.create_credential("lake", "AWS", role=AWS_ROLE)
        made = client.create_teamspace("ml")
        assert [t.teamspace_id for t in client.list_teamspaces()] == [made.teamspace_id]
        task = client.create_token("etl", kind="task", teamspace="ml")
        assert (task.kind, task.teamspace_id) == ("task", made.teamspace_id)
        assert task.token.startswith("tc-ws_")
        assert client.get_token(task.token_id).name == "etl"
        assert client.rename_token(task.token_id, "etl-2").name == "etl-2"
        assert client.deactivate_token(task.token_id).active is False
        assert client.activate_token(task.token_id).active is True
        fresh = client.regenerate_token(task.token_id)
        assert fresh.token != task.token
        client.revoke_token(task.token_id)
        assert client.get_token(task.token_id).state == "revoked"
        with pytest.raises(tilecred.PermissionDeniedError) as caught:
            client.create_token("root", kind="admin")
        assert str(caught.value).startswith(
            "could not create API token 'root': 403 Forbidden: an admin token is issued only "
            "on the server's machine, with `tilecred token create --admin` (request id "
        )
        with pytest.raises(tilecred.NotFoundError) as missing:
            client.rename_token("tok_0123456789abcdef", "x")
        assert missing.value.message == "no live token with id 'tok_0123456789abcdef'"
        actions = [(r.action, r.outcome) for r in client.audit() if r.action.startswith("token")]
    assert actions[-2:] == [("token.create", "denied"), ("token.rename", "failed")]
    _never_shown(fresh)


def test_create_token_sends_exactly_the_request(httpserver: HTTPServer) -> None:
    path = f"/tilecred/v1/tokens/{WORKSPACE}"
    issued = {"token_id": "tok_1", "name": "etl", "workspace_id": WORKSPACE, "kind": "task",
              "read_only": False, "active": True, "state": "active",
              "created_at": "2026-01-02T03:04:05Z", "credentials": ["lake"],
              "token": "tc-ws_test1-NEWCANARY"}  # fmt: skip
    httpserver.expect_request(path, method="POST").respond_with_json({"data": issued}, status=201)
    httpserver.expect_request(f"{path}/tok_1", method="DELETE").respond_with_data(status=204)
    with make_client(httpserver) as client:
        got = client.create_token("etl", kind="task", credentials=["lake"])
        client.revoke_token("tok_1")
    assert repr(got) == "IssuedToken(token_id='tok_1', name='etl', token='***')"
    assert got.token == "tc-ws_test1-NEWCANARY"
    create, revoke = seen(httpserver)
    assert (create.method, create.path) == ("POST", path)
    assert create.json() == {"name": "etl", "kind": "task", "credentials": ["lake"]}
    assert create.headers["x-tiledb-rest-api-key"] == CANARY_TOKEN
    assert (revoke.method, revoke.path) == ("DELETE", f"{path}/tok_1")


def test_a_service_without_the_token_routes_is_told_so(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"/tilecred/v1/tokens/{WORKSPACE}").respond_with_json(
        {"code": 404, "message": "not found"}, status=404
    )
    with make_client(httpserver) as client, pytest.raises(tilecred.ConfigurationError) as caught:
        client.list_tokens()
    assert str(caught.value) == (
        f"could not list API tokens: the service at http://127.0.0.1:{httpserver.port} cannot "
        "list API tokens: that is a tilecred extension TileDB's service does not have; use "
        "`tilecred serve` or the local store for it"
    )
    assert CANARY_TOKEN not in str(caught.value)


def test_tiledbs_service_is_refused_before_anything_is_sent() -> None:
    with tilecred.Client(host="https://api.tiledb.com", token=CANARY_TOKEN) as client:
        for call in (client.list_tokens, lambda: client.create_token("t"),
                     lambda: client.revoke_token("tok_1")):  # fmt: skip
            with pytest.raises(tilecred.ConfigurationError) as caught:
                call()
            assert "the service at https://api.tiledb.com cannot " in str(caught.value)
            assert "that is a tilecred extension TileDB's service does not have" in str(
                caught.value
            )
            assert CANARY_TOKEN not in str(caught.value)
