"""Every route of ``tilecred serve`` over real HTTP: exact bodies, statuses and rules."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CANARY_SECRET
from tests.test_local_store import traced
from tests.test_server_harness import ROLE_ARN, Running, aws_key_body, aws_role_body
from tests.test_server_routes import assert_error
from tilecred._models import iter_secrets

pytest_plugins = ["tests.test_server_harness"]

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
CRED_ID = re.compile(r"^\S+$")

AZURE_SAS = {"azure": {"account_name": "acct", "sas_token": CANARY_SECRET}}
GCP_KEY = {"gcp": {"account_id": "svc@p.iam.gserviceaccount.com", "key_id": "k1",
                   "key_text": CANARY_SECRET}}  # fmt: skip


# Every test here runs on SQLite and on PostgreSQL (tests/_engines.py).
pytestmark = pytest.mark.usefixtures("engine")


def make_teamspace(server: Running, name: str, **extra: Any) -> dict[str, Any]:
    reply = server.request(
        "POST",
        f"/v4/teamspaces/{server.workspace_id}",
        body={"name": name, "visibility": "private", **extra},
    )
    assert reply.status == 201, reply.raw
    data: dict[str, Any] = reply.json["data"]
    return data


def stamps(data: dict[str, Any]) -> dict[str, Any]:
    """A credential without its generated id and times (checked for shape)."""
    assert CRED_ID.match(data.pop("id"))
    assert ISO_Z.match(data.pop("created_at"))
    updated = data.pop("updated_at", None)
    assert updated is None or ISO_Z.match(updated)
    return data


# -- credentials ------------------------------------------------------------------


def test_create_then_get_sends_blank_secrets_and_external_id(server: Running) -> None:
    created = server.request("POST", server.credentials_path(), body=aws_role_body("role"))
    assert created.status == 201
    got = server.request("GET", server.credentials_path("role"))
    assert got.status == 200
    assert created.json == got.json
    assert stamps(got.json["data"]) == {
        "credential_type": "workspace",
        "name": "role",
        "provider": "AWS",
        "provider_default": False,
        "allowed_in_tasks": False,
        "active": True,
        "role": {"aws": {"role_arn": ROLE_ARN, "external_id": ""}},
    }


@pytest.mark.parametrize(
    ("body", "expected_secret_part"),
    [
        (aws_key_body("k", CANARY_SECRET),
         {"credential": {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE",
                                 "secret_access_key": ""}}}),
        ({"name": "k", "provider": "GCP",
          "credential": {"gcp": {"access_key_id": "GOOG1", "secret_access_key": CANARY_SECRET}}},
         {"credential": {"gcp": {"access_key_id": "GOOG1", "secret_access_key": ""}}}),
        ({"name": "k", "provider": "AZURE", "token": AZURE_SAS},
         {"token": {"azure": {"account_name": "acct", "sas_token": ""}}}),
        ({"name": "k", "provider": "GCP", "token": GCP_KEY},
         {"token": {"gcp": {"account_id": "svc@p.iam.gserviceaccount.com", "key_id": "k1",
                            "key_text": ""}}}),
        ({"name": "k", "provider": "AZURE",
          "credential": {"azure": {"account_name": "acct", "account_key": CANARY_SECRET}}},
         {"credential": {"azure": {"account_name": "acct"}}}),
        ({"name": "k", "provider": "DATABRICKS", "token": {"databricks": {
            "host": "https://x.cloud.databricks.com", "client_id": "c",
            "client_secret": CANARY_SECRET}}},
         {"token": {"databricks": {"host": "https://x.cloud.databricks.com", "client_id": "c"}}}),
    ],
)  # fmt: skip
def test_secrets_never_come_back(
    server: Running, body: dict[str, Any], expected_secret_part: dict[str, Any]
) -> None:
    created = server.request("POST", server.credentials_path(), body=body)
    assert created.status == 201, created.raw
    got = server.request("GET", server.credentials_path("k"))
    listed = server.request("GET", server.credentials_path())
    for reply in (created, got, listed):
        assert CANARY_SECRET.encode() not in reply.raw
    data = stamps(got.json["data"])
    secret_keys = {key: data.pop(key) for key in ("credential", "role", "token") if key in data}
    assert secret_keys == expected_secret_part
    # The store still holds the secret: it is write-only on the wire, not lost.
    stored = server.app.store.get_credential(server.workspace_id, None, "k", with_secrets=True)
    assert CANARY_SECRET in list(iter_secrets(stored))


def test_duplicate_name_is_409(server: Running) -> None:
    assert (
        server.request("POST", server.credentials_path(), body=aws_role_body("dup")).status == 201
    )
    reply = server.request("POST", server.credentials_path(), body=aws_role_body("dup"))
    assert_error(reply, 409, "name already in use")


def test_get_missing_is_404(server: Running) -> None:
    assert_error(
        server.request("GET", server.credentials_path("nope")), 404, "credential not found"
    )


def test_update_renames_and_keeps_id(server: Running) -> None:
    before = server.request("POST", server.credentials_path(), body=aws_role_body("old")).json
    reply = server.request(
        "PATCH", server.credentials_path("old"), body={"name": "new", "allowed_in_tasks": True}
    )
    assert reply.status == 200
    after = server.request("GET", server.credentials_path("new")).json["data"]
    assert after["id"] == before["data"]["id"]
    assert after["created_at"] == before["data"]["created_at"]
    assert after["allowed_in_tasks"] is True
    assert reply.json["data"] == after
    assert_error(server.request("GET", server.credentials_path("old")), 404, "credential not found")


def test_update_with_nothing_is_400(server: Running) -> None:
    server.request("POST", server.credentials_path(), body=aws_role_body("x"))
    reply = server.request("PATCH", server.credentials_path("x"), body={})
    assert_error(reply, 400, "invalid request: nothing to update", field="$")


def test_update_missing_is_404(server: Running) -> None:
    reply = server.request("PATCH", server.credentials_path("ghost"), body={"name": "y"})
    assert_error(reply, 404, "credential not found")


def test_delete_is_204_then_404(server: Running) -> None:
    server.request("POST", server.credentials_path(), body=aws_role_body("gone"))
    reply = server.request("DELETE", server.credentials_path("gone"))
    assert (reply.status, reply.raw) == (204, b"")
    assert "Content-Type" not in reply.headers
    assert reply.headers["X-Request-Id"]
    assert_error(
        server.request("DELETE", server.credentials_path("gone")), 404, "credential not found"
    )


def test_provider_default_moves(server: Running) -> None:
    server.request(
        "POST", server.credentials_path(), body=aws_role_body("a", provider_default=True)
    )
    server.request(
        "POST", server.credentials_path(), body=aws_role_body("b", provider_default=True)
    )
    listed = server.request("GET", server.credentials_path()).json["data"]
    assert [(c["name"], c["provider_default"]) for c in listed] == [("a", False), ("b", True)]


def test_list_filters_and_pagination_metadata(server: Running) -> None:
    for index in range(5):
        server.request("POST", server.credentials_path(), body=aws_role_body(f"aws{index}"))
    server.request("POST", server.credentials_path(),
                   body={"name": "az", "provider": "AZURE", "token": AZURE_SAS})  # fmt: skip
    server.request("POST", server.credentials_path(),
                   body={"name": "gc", "provider": "GCP", "token": GCP_KEY})  # fmt: skip

    def names(*query: tuple[str, str]) -> tuple[list[str], dict[str, int]]:
        reply = server.request("GET", server.credentials_path(), query=query)
        assert reply.status == 200, reply.raw
        return [c["name"] for c in reply.json["data"]], reply.json["pagination_metadata"]

    assert names(("per_page", "2"), ("page", "2")) == (
        ["aws2", "aws3"], {"page": 2, "per_page": 2, "total_pages": 4, "total_items": 7}
    )  # fmt: skip
    assert names(("provider", "AZURE"), ("provider", "GCP")) == (
        ["az", "gc"], {"page": 1, "per_page": 100, "total_pages": 1, "total_items": 2}
    )  # fmt: skip
    assert names(("excl_provider", "AWS"), ("excl_provider", "AZURE"))[0] == ["gc"]
    assert names(("provider", "aws"), ("per_page", "10"))[1]["total_items"] == 5
    assert names(("type", "teamspace"))[0] == []
    assert names(("page", "9"))[0] == []
    # TileDB's client sends Python's booleans.
    for value in ("True", "False", "true", "false"):
        assert len(names(("verify", value))[0]) == 7


def test_list_with_verify_reports_status(server: Running) -> None:
    server.request("POST", server.credentials_path(), body=aws_role_body("good"))
    bad = aws_role_body("bad")
    bad["role"]["aws"]["role_arn"] = "not-an-arn"
    server.request("POST", server.credentials_path(), body=bad)
    reply = server.request("GET", server.credentials_path(), query=[("verify", "True")])
    assert [(c["name"], c["status"]) for c in reply.json["data"]] == [
        ("bad", "failed"), ("good", "verified")
    ]  # fmt: skip


# -- teamspaces -------------------------------------------------------------------


def test_teamspace_create_lookup_list(server: Running) -> None:
    created = make_teamspace(server, "ml", visibility="public", description="Models")
    assert re.match(r"^ts_\w+$", created["teamspace_id"])
    assert ISO_Z.match(created.pop("created_at"))
    user = created.pop("created_by")
    ident = created.pop("teamspace_id")
    assert created == {"name": "ml", "space_type": "teamspace", "visibility": "public",
                       "description": "Models"}  # fmt: skip
    assert set(user) == {"user_id", "username", "display_name", "email", "role", "added_by",
                         "created_at"}  # fmt: skip
    assert user["role"] == "owner"
    by_name = server.request("GET", f"/v4/teamspaces/{server.workspace_id}/ml").json["data"]
    by_id = server.request("GET", f"/v4/teamspaces/{server.workspace_id}/{ident}").json["data"]
    assert by_name == by_id
    assert by_name["teamspace_id"] == ident
    make_teamspace(server, "etl")
    listed = server.request("GET", f"/v4/teamspaces/{server.workspace_id}").json
    assert [t["name"] for t in listed["data"]] == ["etl", "ml"]
    assert set(listed) == {"data"}


def test_teamspace_duplicate_is_409_and_missing_is_404(server: Running) -> None:
    make_teamspace(server, "ml", visibility="private")
    reply = server.request(
        "POST",
        f"/v4/teamspaces/{server.workspace_id}",
        body={"name": "ml", "visibility": "private"},
    )
    assert_error(reply, 409, "name already in use")
    reply = server.request("GET", f"/v4/teamspaces/{server.workspace_id}/nope")
    assert_error(reply, 404, "teamspace 'nope' not found")


@pytest.mark.parametrize(
    ("body", "message", "field"),
    [
        ({"name": "ts_x", "visibility": "private"},
         "invalid request: teamspace name 'ts_x' must not start with 'ts_'", "$.name"),
        ({"name": "t", "visibility": "secret"},
         "invalid request: visibility must be private or public, not 'secret'", "$.visibility"),
        ({"name": "a/b", "visibility": "private"},
         "invalid request: name 'a/b' must not contain '/'", "$.name"),
    ],
)  # fmt: skip
def test_bad_teamspace_is_400(
    server: Running, body: dict[str, Any], message: str, field: str
) -> None:
    reply = server.request("POST", f"/v4/teamspaces/{server.workspace_id}", body=body)
    assert_error(reply, 400, message, field=field)


def test_credentials_in_a_teamspace_by_id_or_name(server: Running) -> None:
    ts = make_teamspace(server, "ml")
    ident = ts["teamspace_id"]
    reply = server.request("POST", server.credentials_path(), body=aws_role_body("c"),
                           query=[("teamspace_id", ident)])  # fmt: skip
    assert reply.status == 201
    assert reply.json["data"]["credential_type"] == "teamspace"
    got = server.request("GET", server.credentials_path("c"), query=[("teamspace_id", "ml")])
    assert got.json["data"]["name"] == "c"
    # Workspace level and the teamspace are separate scopes.
    assert_error(server.request("GET", server.credentials_path("c")), 404, "credential not found")
    listed = server.request("GET", server.credentials_path(), query=[("teamspace_id", ident)])
    assert [c["name"] for c in listed.json["data"]] == ["c"]
    deleted = server.request(
        "DELETE", server.credentials_path("c"), query=[("teamspace_id", ident)]
    )
    assert deleted.status == 204


@pytest.mark.parametrize("method", ["POST", "GET", "PATCH", "DELETE", "LIST"])
def test_unknown_teamspace_is_404_for_every_credential_call(server: Running, method: str) -> None:
    query = [("teamspace_id", "ts_0000")]
    if method == "LIST":
        reply = server.request("GET", server.credentials_path(), query=query)
    elif method == "POST":
        reply = server.request(
            "POST", server.credentials_path(), body=aws_role_body("x"), query=query
        )
    else:
        body = {"name": "y"} if method == "PATCH" else None
        reply = server.request(method, server.credentials_path("x"), body=body, query=query)
    assert_error(reply, 404, "teamspace 'ts_0000' not found")
    # Nothing came into being on the way.
    assert server.request("GET", f"/v4/teamspaces/{server.workspace_id}").json["data"] == []


# -- workspace and verify ---------------------------------------------------------


def test_workspace_lookup_by_name_and_id(server: Running) -> None:
    by_name = server.request("GET", "/v4/workspaces/team")
    by_id = server.request("GET", f"/v4/workspaces/{server.workspace_id}")
    assert by_name.json == by_id.json
    data = by_id.json["data"]
    assert data["workspace_id"] == server.workspace_id
    assert data["name"] == "team"
    assert data["created_by"]["role"] == "owner"
    caller = server.app.tokens.authenticate(server.token)
    assert caller is not None
    assert data["self"]["user_id"] == caller.id
    assert data["self"]["username"] == "test-admin"
    assert data["self"]["role"] == "admin"
    assert_error(server.request("GET", "/v4/workspaces/other"), 404, "workspace 'other' not found")


def test_credentials_by_workspace_name(server: Running) -> None:
    assert server.request("POST", server.credentials_path(workspace="team"),
                          body=aws_role_body("n")).status == 201  # fmt: skip
    assert server.request("GET", server.credentials_path("n")).status == 200


@pytest.mark.sqlite_only
def test_a_workspace_is_looked_up_once_by_name_and_once_by_id(server: Running) -> None:
    server.request("GET", server.credentials_path())  # the pool has its connections now
    with traced(server.app.store) as statements:
        for workspace in ("team", server.workspace_id, "team", server.workspace_id):
            reply = server.request("GET", server.credentials_path(workspace=workspace))
            assert reply.status == 200, reply.raw
    lookups = [s for s in statements if "FROM workspaces" in s]
    # The first request cached the id: only the name is looked up, and only once.
    assert len(lookups) == 1, statements
    assert_error(server.request("GET", server.credentials_path(workspace="other")), 404,
                 "workspace 'other' not found")  # fmt: skip


def test_verify_good_and_bad(server: Running) -> None:
    good = {**aws_role_body("v"), "workspace_id": server.workspace_id}
    reply = server.request("POST", "/v4/actions/credentials/verify", body=good)
    assert (reply.status, reply.json) == (200, {"data": {"status": "verified"}})
    bad = aws_key_body("v", CANARY_SECRET)
    bad["credential"]["aws"]["access_key_id"] = "short"
    reply = server.request("POST", "/v4/actions/credentials/verify", body=bad)
    assert reply.status == 422
    assert reply.json["message"].startswith("credential.aws.access_key_id")
    assert CANARY_SECRET.encode() not in reply.raw
    # Nothing is stored by verification.
    assert server.request("GET", server.credentials_path()).json["data"] == []


def test_a_malformed_url_is_a_422_naming_the_field_and_fails_in_listings(
    server: Running,
) -> None:
    body = {"name": "u", "provider": "AZURE",
            "token": {"azure_entra_id": {"blob_endpoint": "https://[bad"}}}  # fmt: skip
    reply = server.request("POST", "/v4/actions/credentials/verify", body=body)
    assert_error(
        reply, 422, "token.azure_entra_id.blob_endpoint: not an https URL (https://<host>)"
    )
    assert server.request("POST", server.credentials_path(), body=body).status == 201
    assert server.request("POST", server.credentials_path(), body=aws_role_body("v")).status == 201
    reply = server.request("GET", server.credentials_path(), query=[("verify", "true")])
    assert reply.status == 200, reply.raw
    assert [(c["name"], c["status"]) for c in reply.json["data"]] == [
        ("u", "failed"), ("v", "verified")
    ]  # fmt: skip


def test_verify_in_another_workspace_or_missing_teamspace_is_404(server: Running) -> None:
    body = {**aws_role_body("v"), "workspace_id": "ws_other"}
    reply = server.request("POST", "/v4/actions/credentials/verify", body=body)
    assert_error(reply, 404, "workspace 'ws_other' not found")
    body = {**aws_role_body("v"), "teamspace_id": "ts_none"}
    reply = server.request("POST", "/v4/actions/credentials/verify", body=body)
    assert_error(reply, 404, "teamspace 'ts_none' not found")


# -- isolation and read-only tokens -------------------------------------------------


def test_two_workspaces_are_isolated(running_server: Any, tmp_path: Path) -> None:
    home = tmp_path / "shared"
    first: Running = running_server(home, workspace="first")
    # A second workspace in the same store, with its own token.
    second_ws = first.app.store.create_workspace("second")
    _record, second_token = first.app.tokens.create(second_ws.id, "second-admin")
    assert first.request("POST", first.credentials_path(), body=aws_role_body("mine")).status == 201
    make_teamspace(first, "ml")

    for path in (
        first.credentials_path(),
        first.credentials_path("mine"),
        first.credentials_path(workspace="first"),
        f"/v4/teamspaces/{first.workspace_id}",
        f"/v4/teamspaces/{first.workspace_id}/ml",
        f"/v4/workspaces/{first.workspace_id}",
        "/v4/workspaces/first",
    ):
        reply = first.request("GET", path, token=second_token)
        ident = path.split("/")[3]
        assert_error(reply, 404, f"workspace {ident!r} not found")
    for method, body in (("PATCH", {"name": "stolen"}), ("DELETE", None)):
        reply = first.request(method, first.credentials_path("mine"), token=second_token, body=body)
        assert_error(reply, 404, f"workspace {first.workspace_id!r} not found")
    reply = first.request("POST", first.credentials_path(), token=second_token,
                          body=aws_role_body("planted"))  # fmt: skip
    assert_error(reply, 404, f"workspace {first.workspace_id!r} not found")
    # The second token sees only its own (empty) workspace, and the first is untouched.
    own = first.request("GET", first.credentials_path(workspace=second_ws.id), token=second_token)
    assert own.json["data"] == []
    assert [c["name"] for c in first.request("GET", first.credentials_path()).json["data"]] == [
        "mine"
    ]


def test_read_only_token_reads_but_cannot_write(server: Running) -> None:
    server.request("POST", server.credentials_path(), body=aws_role_body("r"))
    _record, reader = server.app.tokens.create(server.workspace_id, "reader", read_only=True)
    assert server.request("GET", server.credentials_path("r"), token=reader).status == 200
    assert server.request("GET", server.credentials_path(), token=reader).status == 200
    assert (
        server.request("GET", f"/v4/teamspaces/{server.workspace_id}", token=reader).status == 200
    )
    verify = server.request("POST", "/v4/actions/credentials/verify", token=reader,
                            body=aws_role_body("r"))  # fmt: skip
    assert verify.status == 200
    me = server.request("GET", f"/v4/workspaces/{server.workspace_id}", token=reader)
    assert me.json["data"]["self"]["role"] == "member"
    for method, path, body in (
        ("POST", server.credentials_path(), aws_role_body("w")),
        ("PATCH", server.credentials_path("r"), {"name": "w"}),
        ("DELETE", server.credentials_path("r"), None),
        ("POST", f"/v4/teamspaces/{server.workspace_id}", {"name": "t", "visibility": "private"}),
    ):
        reply = server.request(method, path, token=reader, body=body)
        assert_error(reply, 403, "this API token is read-only")
    assert [c["name"] for c in server.request("GET", server.credentials_path()).json["data"]] == [
        "r"
    ]


def test_revoked_token_is_401_at_once(server: Running) -> None:
    record, text = server.app.tokens.create(server.workspace_id, "short-lived")
    assert server.request("GET", server.credentials_path(), token=text).status == 200
    server.app.tokens.revoke(record.id)
    assert_error(server.request("GET", server.credentials_path(), token=text), 401,
                 "unknown or revoked API token")  # fmt: skip


@pytest.mark.sqlite_only
def test_the_store_holds_no_token_text(server: Running) -> None:
    for path in server.home.iterdir():
        content = path.read_bytes()
        assert server.token.encode() not in content
        assert server.token.rsplit("-", 1)[1].encode() not in content
    # The tokens live in the store, beside the credentials, readable by its owner only.
    assert not (server.home / "server-tokens.sqlite3").exists()
    assert (server.home / "tilecred.db").stat().st_mode & 0o777 == 0o600


@pytest.mark.sqlite_only
def test_store_failure_is_a_500_with_the_details_in_the_log_only(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    server.app.store.close()  # every store call now fails
    reply = server.request("GET", server.credentials_path("x"))
    assert_error(reply, 500, "the credential store failed; the server log has the details")
    assert str(server.home) not in reply.raw.decode()
    request_id = reply.headers["X-Request-Id"]
    (record,) = [r for r in caplog.records if r.name == "tilecred.server"]
    assert record.getMessage() == (
        f"store failure in request {request_id}: the local store "
        f"{server.home / 'tilecred.db'} is closed"
    )


@pytest.mark.sqlite_only
def test_a_token_revoked_from_the_command_line_stops_working_at_once(server: Running) -> None:
    from tests.test_cli_support import cli_env, run

    record, text = server.app.tokens.create(server.workspace_id, "ci")
    assert server.request("GET", server.credentials_path(), token=text).status == 200
    assert run(["token", "revoke", "--home", str(server.home), record.id], cli_env()).code == 0
    reply = server.request("GET", server.credentials_path(), token=text)
    assert_error(reply, 401, "unknown or revoked API token")
