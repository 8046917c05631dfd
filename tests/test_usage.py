"""Who uses a credential: the audit log's uses by credential id, summed per actor.

The library's local path against a real store in a temporary directory, and
``tilecred serve`` over real HTTP (raw requests and tilecred's own client).
"""

from __future__ import annotations

import datetime
import getpass
import json
import sqlite3
from pathlib import Path
from typing import Any, cast

import pytest
from pytest_httpserver import HTTPServer

import tilecred
from tests._http_helpers import WORKSPACE, make_client, seen
from tests.test_cli_support import cli_env, run
from tests.test_server_harness import Running, aws_key_body
from tilecred._local import Store
from tilecred._local._audit import AuditEntry
from tilecred._server._tokens import TASK

from .conftest import CANARY_SECRET, CANARY_TOKEN

pytest_plugins = ["tests.test_server_harness"]
# Every test here runs on SQLite and on PostgreSQL (tests/_engines.py), except
# the two that read SQLite's own file or connection.
pytestmark = pytest.mark.usefixtures("engine")

ACTOR = f"local:{getpass.getuser()}"
KEY = {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": CANARY_SECRET}}


def _use(name: str, teamspace: str | None = None) -> None:
    with tilecred.use_credential(name, teamspace=teamspace):
        pass


def _ids(home: Path) -> list[tuple[str, str | None, str, str, str | None]]:
    """(action, credential, outcome, credential_id) of every audit record, in order."""
    with sqlite3.connect(home / "tilecred.db") as conn:
        rows = conn.execute(
            "SELECT a.action, a.credential, a.outcome, a.credential_id, c.name FROM audit a"
            " LEFT JOIN credentials c ON c.id = a.credential_id ORDER BY a.seq"
        ).fetchall()
    conn.close()
    return [(action, cred, outcome, ident and ident[:3], owner)
            for action, cred, outcome, ident, owner in rows]  # fmt: skip


def _uses(name: str) -> list[tilecred.AuditRecord]:
    return [r for r in tilecred.read_audit(credential=name) if r.action == "use"]


# -- the local store ---------------------------------------------------------------


@pytest.mark.sqlite_only
def test_every_record_about_a_credential_carries_its_id(isolated: Path) -> None:
    tilecred.create_credential("lake", "AWS", credential=KEY, allowed_in_tasks=True)
    tilecred.create_credential("shut", "AWS", credential=KEY)
    _use("lake")
    with pytest.raises(tilecred.PermissionDeniedError):
        tilecred.use_credential("shut")
    with pytest.raises(tilecred.NotFoundError):
        tilecred.use_credential("none")
    tilecred.update_credential("lake", name="pond")
    tilecred.delete_credential("shut")
    assert _ids(isolated / "tilecred-home") == [
        ("create", "lake", "ok", "cr_", "pond"),
        ("create", "shut", "ok", "cr_", None),  # deleted since
        ("use", "lake", "ok", "cr_", "pond"),
        ("use", "shut", "denied", "cr_", None),
        ("use", "none", "failed", None, None),
        ("update", "lake", "ok", "cr_", "pond"),
        ("delete", "shut", "ok", "cr_", None),
    ]
    with sqlite3.connect(isolated / "tilecred-home" / "tilecred.db") as conn:
        ids = [row[0] for row in conn.execute("SELECT credential_id FROM audit ORDER BY seq")]
    conn.close()
    assert ids[1] == ids[3] == ids[6] != ids[0]


def test_the_summary_counts_each_actors_uses_and_refusals(isolated: Path) -> None:
    tilecred.create_credential("lake", "AWS", credential=KEY)
    with pytest.raises(tilecred.PermissionDeniedError):
        tilecred.use_credential("lake")
    tilecred.update_credential("lake", allowed_in_tasks=True)
    _use("lake")
    _use("lake")
    records = _uses("lake")
    assert tilecred.audit_summary("lake") == [
        tilecred.UsageSummary(
            actor=ACTOR, uses=2, denied=1, failed=0,
            first_at=records[0].at, last_at=records[2].at, last_request_id=None,
        )
    ]  # fmt: skip
    assert tilecred.audit_summary("lake", since=records[1].at)[0].uses == 2
    assert tilecred.audit_summary("lake", since=records[1].at)[0].denied == 0


def test_a_rename_keeps_the_uses_and_a_new_credential_under_the_old_name_has_none(
    isolated: Path,
) -> None:
    tilecred.create_credential("lake", "AWS", credential=KEY, allowed_in_tasks=True)
    _use("lake")
    tilecred.update_credential("lake", name="pond")
    assert [s.uses for s in tilecred.audit_summary("pond")] == [1]
    with pytest.raises(tilecred.NotFoundError, match="credential not found"):
        tilecred.audit_summary("lake")
    tilecred.create_credential("lake", "AWS", credential=KEY, allowed_in_tasks=True)
    assert tilecred.audit_summary("lake") == []
    tilecred.delete_credential("pond")
    tilecred.create_credential("pond", "AWS", credential=KEY)
    assert tilecred.audit_summary("pond") == []


def test_the_summary_is_per_teamspace(isolated: Path) -> None:
    tilecred.create_credential("lake", "AWS", credential=KEY, allowed_in_tasks=True)
    tilecred.create_credential("lake", "AWS", credential=KEY, allowed_in_tasks=True,
                               teamspace="ml")  # fmt: skip
    _use("lake", teamspace="ml")
    assert tilecred.audit_summary("lake") == []
    assert [s.uses for s in tilecred.audit_summary("lake", teamspace="ml")] == [1]
    with pytest.raises(tilecred.NotFoundError, match="teamspace 'nope' not found"):
        tilecred.audit_summary("lake", teamspace="nope")


@pytest.mark.sqlite_only
def test_arguments_are_rejected_before_any_io(isolated: Path) -> None:
    with pytest.raises(tilecred.InvalidArgumentError):
        tilecred.audit_summary("")
    with pytest.raises(tilecred.InvalidArgumentError, match="since must"):
        tilecred.audit_summary("lake", since="yesterday")  # type: ignore[arg-type]
    assert not (isolated / "tilecred-home").exists()


# -- tilecred serve ----------------------------------------------------------------


def _summary_path(server: Running) -> str:
    return f"/tilecred/v1/audit/{server.workspace_id}/summary"


def _summary(server: Running, **query: str) -> Any:
    reply = server.request("GET", _summary_path(server), query=list(query.items()))
    assert reply.status == 200, reply.raw
    return reply.json["data"]


def _create(server: Running, name: str, teamspace: str | None = None) -> int:
    body = aws_key_body(name, CANARY_SECRET, allowed_in_tasks=True)
    query = [] if teamspace is None else [("teamspace_id", teamspace)]
    return server.request("POST", server.credentials_path(), body=body, query=query).status


def _use_path(server: Running, name: str) -> str:
    return f"/tilecred/v1/credentials/{server.workspace_id}/{name}/use"


def test_the_server_counts_uses_and_refusals_per_token(server: Running) -> None:
    assert _create(server, "lake") == 201
    runner, runner_text = server.app.tokens.create(server.workspace_id, "runner", kind=TASK)
    other, other_text = server.app.tokens.create(
        server.workspace_id, "other", kind=TASK, credentials=["elsewhere"], allow_missing=True
    )
    ids = []
    for token in (runner_text, other_text, runner_text):
        used = server.request("POST", _use_path(server, "lake"), token=token)
        ids.append(used.headers["X-Request-Id"])
    # A management token is refused by the route itself, before any lookup.
    assert server.request("POST", _use_path(server, "lake")).status == 403
    admin = server.app.tokens.authenticate(server.token)
    assert admin is not None
    records = [r for r in _records(server) if r["action"] == "use"]
    assert [r["outcome"] for r in records] == ["ok", "denied", "ok", "denied"]
    assert _summary(server, credential="lake") == [
        {"actor": admin.actor, "uses": 0, "denied": 1, "failed": 0,
         "first_at": records[3]["at"], "last_at": records[3]["at"],
         "last_request_id": records[3]["request_id"]},
        {"actor": runner.actor, "uses": 2, "denied": 0, "failed": 0,
         "first_at": records[0]["at"], "last_at": records[2]["at"], "last_request_id": ids[2]},
        {"actor": other.actor, "uses": 0, "denied": 1, "failed": 0,
         "first_at": records[1]["at"], "last_at": records[1]["at"], "last_request_id": ids[1]},
    ]  # fmt: skip
    assert runner.actor == f"token:{runner.id} (runner)"


def _records(server: Running) -> list[dict[str, Any]]:
    reply = server.request("GET", f"/tilecred/v1/audit/{server.workspace_id}")
    assert reply.status == 200
    records: list[dict[str, Any]] = reply.json["data"]
    return records


def test_the_servers_summary_through_the_client(server: Running) -> None:
    server.request("POST", f"/v4/teamspaces/{server.workspace_id}",
                   body={"name": "ml", "visibility": "private"})  # fmt: skip
    assert _create(server, "lake", teamspace="ml") == 201
    runner, text = server.app.tokens.create(server.workspace_id, "runner", kind=TASK)
    used = server.request(
        "POST", _use_path(server, "lake"), token=text, query=[("teamspace_id", "ml")]
    )
    assert used.status == 200
    with tilecred.Client(host=server.url, token=server.token, retries=0) as client:
        summary = client.audit_summary("lake", teamspace="ml")
        assert [(s.actor, s.uses, s.last_request_id) for s in summary] == [
            (runner.actor, 1, used.headers["X-Request-Id"])
        ]
        with pytest.raises(tilecred.NotFoundError, match="credential not found"):
            client.audit_summary("lake")
    with (
        tilecred.Client(host=server.url, token=text, retries=0) as task,
        pytest.raises(tilecred.PermissionDeniedError),
    ):
        task.audit_summary("lake", teamspace="ml")


def test_the_summary_route_refuses_what_it_cannot_answer(server: Running) -> None:
    missing = server.request("GET", _summary_path(server))
    assert (missing.status, missing.json["message"]) == (
        400, "query parameter credential is required: the credential's name"
    )  # fmt: skip
    assert missing.json["validation_error"]["fields"][0]["field"] == "credential"
    unknown = server.request("GET", _summary_path(server), query=[("credential", "nope")])
    assert (unknown.status, unknown.json["message"]) == (404, "credential not found")
    since = server.request(
        "GET", _summary_path(server), query=[("credential", "x"), ("since", "yesterday")]
    )
    assert since.status == 400
    other = server.request("GET", "/tilecred/v1/audit/elsewhere/summary",
                           query=[("credential", "x")])  # fmt: skip
    assert (other.status, other.json["message"]) == (404, "workspace 'elsewhere' not found")


# -- last used and used by ---------------------------------------------------------


def test_get_and_list_show_the_newest_successful_use(isolated: Path) -> None:
    tilecred.create_credential("lake", "AWS", credential=KEY, allowed_in_tasks=True)
    tilecred.create_credential("shut", "AWS", credential=KEY)
    tilecred.create_credential("idle", "AWS", credential=KEY, allowed_in_tasks=True)
    fresh = tilecred.get_credential("lake")
    assert (fresh.last_used_at, fresh.last_used_by) == (None, None)
    _use("lake")
    _use("lake")
    with pytest.raises(tilecred.PermissionDeniedError):
        tilecred.use_credential("shut")  # a refusal is no use
    newest = _uses("lake")[-1].at
    lake = tilecred.get_credential("lake")
    assert (lake.last_used_at, lake.last_used_by) == (newest, ACTOR)
    listed = {c.name: (c.last_used_at, c.last_used_by) for c in tilecred.list_credentials()}
    assert listed == {"idle": (None, None), "lake": (newest, ACTOR), "shut": (None, None)}


def test_a_rename_keeps_the_last_use_and_a_new_credential_has_none(isolated: Path) -> None:
    tilecred.create_credential("lake", "AWS", credential=KEY, allowed_in_tasks=True)
    _use("lake")
    used = _uses("lake")[-1].at
    tilecred.update_credential("lake", name="pond")
    assert tilecred.get_credential("pond").last_used_at == used
    tilecred.create_credential("lake", "AWS", credential=KEY, allowed_in_tasks=True)
    assert tilecred.get_credential("lake").last_used_at is None
    tilecred.delete_credential("pond")
    tilecred.create_credential("pond", "AWS", credential=KEY, allowed_in_tasks=True)
    again = tilecred.get_credential("pond")
    assert (again.last_used_at, again.last_used_by) == (None, None)


@pytest.mark.sqlite_only
def test_a_page_costs_one_query_for_its_last_uses(isolated: Path) -> None:
    with Store(isolated / "store") as store:
        workspace = store.create_workspace("team").id
        for i in range(5):
            request = tilecred.CredentialCreateRequest(
                name=f"c{i}", provider=tilecred.CloudProvider.AWS, allowed_in_tasks=True,
                credential=tilecred.Credential(aws=tilecred.AWSCredential(
                    access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key=CANARY_SECRET)),
            )  # fmt: skip
            store.create_credential(workspace, None, request)
            entry = AuditEntry(actor=f"local:user{i}", workspace_id=workspace, action="use")
            store.use_credential(workspace, None, f"c{i}", audit=entry)
        statements: list[str] = []
        # The one connection a single-threaded caller gets.
        conn = cast(sqlite3.Connection, store.engine.acquire())
        conn.set_trace_callback(statements.append)
        store.engine.release(conn)
        page = store.list_credentials(workspace, None, per_page=4)
        conn.set_trace_callback(None)
    assert [c.last_used_by for c in page.items] == [f"local:user{i}" for i in range(4)]
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 3  # the count, the page, and its last uses
    assert sum("FROM audit" in s for s in reads) == 1


def test_the_server_sends_last_used_on_get_and_list(server: Running) -> None:
    assert _create(server, "lake") == 201
    assert _create(server, "idle") == 201
    runner, text = server.app.tokens.create(server.workspace_id, "runner", kind=TASK)
    _limited, other = server.app.tokens.create(
        server.workspace_id, "limited", kind=TASK, credentials=["idle"], allow_missing=True
    )
    assert server.request("POST", _use_path(server, "lake"), token=text).status == 200
    assert server.request("POST", _use_path(server, "lake"), token=other).status == 403
    use = [r for r in _records(server) if r["outcome"] == "ok" and r["action"] == "use"][-1]
    got = server.request("GET", server.credentials_path("lake")).json["data"]
    assert (got["last_used_at"], got["last_used_by"]) == (use["at"], runner.actor)
    assert runner.actor == f"token:{runner.id} (runner)"
    listed = server.request("GET", server.credentials_path()).json["data"]
    assert [(c["name"], c.get("last_used_at"), c.get("last_used_by")) for c in listed] == [
        ("idle", None, None), ("lake", use["at"], runner.actor)
    ]  # fmt: skip
    assert "last_used_at" not in listed[0]  # omitted, not null
    with tilecred.Client(host=server.url, token=server.token, retries=0) as client:
        lake = client.get_credential("lake")
        assert lake.last_used_by == runner.actor
        assert lake.last_used_at is not None
        assert lake.last_used_at.isoformat().replace("+00:00", "Z") == use["at"]
        assert [c.last_used_by for c in client.list_credentials()] == [None, runner.actor]


# -- the command line --------------------------------------------------------------


def test_the_cli_shows_the_last_use_and_who_uses_a_credential(isolated: Path) -> None:
    tilecred.create_credential("lake", "AWS", credential=KEY, allowed_in_tasks=True)
    tilecred.create_credential("shut", "AWS", credential=KEY)
    tilecred.create_credential("idle", "AWS", credential=KEY, allowed_in_tasks=True)
    _use("lake")
    with pytest.raises(tilecred.PermissionDeniedError):
        tilecred.use_credential("shut")
    used = _uses("lake")[-1].at
    env = cli_env()
    results = [
        listed := run(["list"], env),
        got := run(["get", "lake"], env),
        as_json := run(["get", "lake", "--json"], env),
        summary := run(["audit", "--credential", "lake", "--summary"], env),
        refused := run(["audit", "--credential", "shut", "--summary", "--json"], env),
        never := run(["audit", "--credential", "idle", "--summary"], env),
    ]
    assert [(r.code, r.err) for r in results[:5]] == [(0, "")] * 5

    header, idle, lake, shut = listed.out.splitlines()
    assert header.split()[-4:] == ["LAST", "USED", "USED", "BY"]
    assert lake.index(ACTOR) == header.index("USED BY")
    assert lake[header.index("LAST USED") :].split()[:2] == used.strftime("%Y-%m-%d %H:%M").split()
    assert idle.split()[-2:] == shut.split()[-2:] == ["-", "-"]
    assert f"last used         {used:%Y-%m-%d %H:%M} UTC\nused by           {ACTOR}\n" in got.out
    shown = json.loads(as_json.out)
    assert (shown["last_used_at"], shown["last_used_by"]) == (_stamp(used), ACTOR)

    head, row = summary.out.splitlines()
    assert head.split() == ["ACTOR", "USES", "DENIED", "FAILED", "FIRST", "LAST", "LAST", "REQUEST"]
    at = f"{used:%Y-%m-%d %H:%M:%S}"
    assert row.split() == [ACTOR, "1", "0", "0", *at.split(), *at.split(), "-"]
    assert [row[head.index(c)] for c in ("USES", "DENIED", "FAILED")] == ["1", "0", "0"]
    denied = _uses("shut")[-1].at
    assert [json.loads(line) for line in refused.out.splitlines()] == [
        {"actor": ACTOR, "uses": 0, "denied": 1, "failed": 0,
         "first_at": _stamp(denied), "last_at": _stamp(denied)}
    ]  # fmt: skip
    assert (never.code, never.out, never.err) == (0, "", "no uses of credential 'idle'\n")
    for result in results:
        assert CANARY_SECRET not in result.both


def _stamp(moment: datetime.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_the_summary_options_are_checked_before_anything_is_read(isolated: Path) -> None:
    env = cli_env()
    alone = run(["audit", "--summary"], env)
    limited = run(["audit", "--credential", "x", "--summary", "--limit", "5"], env)
    scoped = run(["audit", "--teamspace", "ml"], env)
    missing = run(["audit", "--credential", "x", "--summary"], env)
    assert [(r.code, r.out, r.err.splitlines()[-1]) for r in (alone, limited, scoped)] == [
        (2, "", "tilecred audit: error: --summary needs --credential NAME: the credential to "
                "summarize"),
        (2, "", "tilecred audit: error: --limit does not go with --summary: every use is "
                "counted"),
        (2, "", "tilecred audit: error: --teamspace goes with --summary (records name their "
                "teamspace)"),
    ]  # fmt: skip
    assert (missing.code, missing.out) == (1, "")
    assert missing.err.startswith(
        "error: could not summarize the uses of credential 'x': 404 Not Found: credential not found"
    )


# -- the HTTP client's requests ----------------------------------------------------


def test_the_summary_request_and_a_service_without_it(httpserver: HTTPServer) -> None:
    row = {
        "actor": "token:tok_1 (ci)", "uses": 3, "denied": 1, "failed": 0,
        "first_at": "2026-11-01T10:00:00Z", "last_at": "2026-11-02T10:00:00Z",
        "last_request_id": "r9", "added_later": 1,
    }  # fmt: skip
    httpserver.expect_request(f"/tilecred/v1/audit/{WORKSPACE}/summary").respond_with_json(
        {"data": [row]}
    )
    since = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
    with make_client(httpserver) as client:
        (got,) = client.audit_summary("lake", teamspace="ts_0123456789abcdef", since=since)
    assert got == tilecred.UsageSummary(
        actor="token:tok_1 (ci)", uses=3, denied=1, failed=0,
        first_at=datetime.datetime(2026, 11, 1, 10, tzinfo=datetime.UTC),
        last_at=datetime.datetime(2026, 11, 2, 10, tzinfo=datetime.UTC), last_request_id="r9",
    )  # fmt: skip
    (request,) = seen(httpserver)
    assert (request.method, dict(request.query)) == ("GET", {
        ("credential", "lake"): 1, ("teamspace_id", "ts_0123456789abcdef"): 1,
        ("since", "2026-11-01T00:00:00+00:00"): 1,
    })  # fmt: skip

    with (
        tilecred.Client(host="https://api.tiledb.com", token=CANARY_TOKEN) as hosted,
        pytest.raises(tilecred.ConfigurationError) as refused,
    ):
        hosted.audit_summary("lake")
    assert refused.value.message.startswith(
        "the service at https://api.tiledb.com cannot summarize tilecred's audit log: "
    )
