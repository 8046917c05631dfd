"""``tilecred`` list/get/create/update/delete/verify over HTTP: the exact requests,
output and exit status of the real command, run as a subprocess."""

from __future__ import annotations

import collections
import json
import subprocess
import threading
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import tilecred
from tests._http_helpers import ARN, credential_json, seen, teamspace_json
from tests.conftest import CANARY_SECRET, CANARY_TOKEN
from tests.test_cli_support import (
    CLI,
    CREDENTIALS,
    SCRIPT,
    WORKSPACE,
    cli_env,
    list_json,
    run,
    run_all,
)

Q = collections.Counter

AZ_SAS = credential_json(
    "az-sas",
    provider="AZURE",
    provider_default=False,
    allowed_in_tasks=True,
    status="verified",
    role=None,
    token={"azure": {"account_name": "acct", "sas_token": ""}},
    last_used_at="2026-11-30T08:15:00Z",
    last_used_by="token:tok_0123456789abcdef (runner)",
)
GCS = credential_json(
    "gcs-hmac",
    provider="GCP",
    provider_default=None,
    status="failed",
    updated_at=None,
    role=None,
    credential={"gcp": {"access_key_id": "GOOG1"}},
)
TABLE = (
    "NAME     PROVIDER  KIND  DEFAULT  TASKS  ACTIVE  STATUS    EXPIRES  UPDATED           "
    "LAST USED         USED BY\n"
    "prod-s3  AWS       role  yes      no     -       -         -        2026-11-02 10:00  "
    "-                 -\n"
    "az-sas   AZURE     sas   no       yes    -       verified  -        2026-11-02 10:00  "
    "2026-11-30 08:15  token:tok_0123456789abcdef (runner)\n"
    # Widths only grow: the second page's longer name shifts its own row.
    "gcs-hmac  GCP       hmac  -        no     -       failed    -        2026-11-01 10:00  "
    "-                 -\n"
)


def _strip_nulls(value: Any) -> Any:
    # What the wire JSON of a credential looks like once read: unset fields
    # and the "" a server sends for secrets are gone, unknown fields ignored.
    if isinstance(value, dict):
        return {
            k: _strip_nulls(v)
            for k, v in value.items()
            if v not in (None, "") and k != "server_added_field"
        }
    return value


def _pages(httpserver: HTTPServer, hold: threading.Event | None = None) -> list[bool]:
    """Two pages of credentials; with ``hold``, page 2 is answered only once it is set.

    Returns a list that gets, for each page-2 request held, whether ``hold``
    was set before the wait gave up.
    """
    held: list[bool] = []

    def second_page(request: Request) -> Response:
        if hold is not None:
            held.append(hold.wait(timeout=10))
        return Response(json.dumps(list_json([GCS], page=2, pages=2)), 200,
                        content_type="application/json")  # fmt: skip

    httpserver.expect_request(
        CREDENTIALS, method="GET", query_string={"page": "1", "per_page": "2"}
    ).respond_with_json(list_json([credential_json(), AZ_SAS], page=1, pages=2))
    httpserver.expect_request(
        CREDENTIALS, method="GET", query_string={"page": "2", "per_page": "2"}
    ).respond_with_handler(second_page)
    return held


def _start_list(httpserver: HTTPServer) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, "list", "--per-page", "2"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(httpserver),
    )


def test_list_prints_a_table_page_by_page_with_the_installed_script(
    httpserver: HTTPServer,
) -> None:
    _pages(httpserver)

    result = run(["list", "--per-page", "2"], cli_env(httpserver), command=SCRIPT)

    assert (result.code, result.err) == (0, "")
    assert result.out == TABLE
    requests = seen(httpserver)
    assert [(r.method, r.path, r.query) for r in requests] == [
        ("GET", CREDENTIALS, Q({("page", "1"): 1, ("per_page", "2"): 1})),
        ("GET", CREDENTIALS, Q({("page", "2"): 1, ("per_page", "2"): 1})),
    ]
    for request in requests:
        assert request.headers["x-tiledb-rest-api-key"] == CANARY_TOKEN
        assert request.headers["user-agent"] == f"tilecred/{tilecred.__version__}"


def test_list_prints_each_page_before_asking_for_the_next(httpserver: HTTPServer) -> None:
    # Page 2 is answered only once the test has read page 1 from the command's
    # stdout; a command that waited for every page would have printed nothing.
    printed = threading.Event()
    asked_after_printing = _pages(httpserver, hold=printed)

    with _start_list(httpserver) as proc:
        assert proc.stdout is not None
        first = [proc.stdout.readline().decode() for _ in range(3)]
        printed.set()
        rest = proc.stdout.read().decode()
        assert proc.wait(timeout=60) == 0

    assert "".join(first) + rest == TABLE
    assert asked_after_printing == [True]


def test_list_filters_and_json_lines(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"/v4/teamspaces/{WORKSPACE}/ml").respond_with_json(
        teamspace_json("ml", "ts_ml")
    )
    # A server that wrongly returns a secret: the CLI still never prints it.
    leaky = credential_json(
        "leaky",
        role=None,
        credential={"aws": {"access_key_id": "AKIA1", "secret_access_key": CANARY_SECRET}},
    )
    httpserver.expect_request(CREDENTIALS, method="GET").respond_with_json(
        list_json([credential_json(), AZ_SAS, leaky])
    )

    result = run(
        ["list", "--teamspace", "ml", "--provider", "aws", "--provider", "Azure",
         "--exclude-provider", "gcp", "--type", "teamspace", "--page", "1", "--json"],
        cli_env(httpserver),
    )  # fmt: skip

    assert (result.code, result.err) == (0, "")
    assert CANARY_SECRET not in result.out
    lines = [json.loads(line) for line in result.out.splitlines()]
    leaky_shown = _strip_nulls(leaky)
    del leaky_shown["credential"]["aws"]["secret_access_key"]
    assert lines == [_strip_nulls(credential_json()), _strip_nulls(AZ_SAS), leaky_shown]
    assert [(r.method, r.path, r.query) for r in seen(httpserver)] == [
        ("GET", f"/v4/teamspaces/{WORKSPACE}/ml", Q()),
        (
            "GET",
            CREDENTIALS,
            Q([("teamspace_id", "ts_ml"), ("provider", "AWS"), ("provider", "AZURE"),
               ("excl_provider", "GCP"), ("type", "teamspace"), ("page", "1")]),
        ),
    ]  # fmt: skip


def test_list_with_nothing_says_so_on_stderr(httpserver: HTTPServer) -> None:
    httpserver.expect_request(CREDENTIALS).respond_with_json(list_json([]))

    table = run(["list"], cli_env(httpserver))
    lines = run(["list", "--json"], cli_env(httpserver))

    assert (table.code, table.out, table.err) == (0, "", "no credentials\n")
    assert (lines.code, lines.out, lines.err) == (0, "", "")


def test_get_shows_fields_but_never_the_secret(httpserver: HTTPServer) -> None:
    leaky = credential_json(
        "prod-keys",
        role=None,
        credential={"aws": {"access_key_id": "AKIA1", "secret_access_key": CANARY_SECRET,
                            "endpoint": "https://s3.example.com", "use_path_style": True}},
    )  # fmt: skip
    httpserver.expect_request(f"{CREDENTIALS}/prod-keys").respond_with_json({"data": leaky})

    table = run(["get", "prod-keys"], cli_env(httpserver))
    as_json = run(["get", "prod-keys", "--json"], cli_env(httpserver))

    assert (table.code, table.err) == (0, "")
    assert table.out == (
        "name              prod-keys\n"
        "id                cred_prod-keys\n"
        "provider          AWS\n"
        "kind              keys\n"
        "type              workspace\n"
        "default           yes\n"
        "allowed in tasks  no\n"
        "active            -\n"
        "status            -\n"
        "expires           -\n"
        "created           2026-11-01 10:00 UTC\n"
        "updated           2026-11-02 10:00 UTC\n"
        "last used         -\n"
        "used by           -\n"
        "description       -\n"
        "access key id     AKIA1\n"
        "endpoint          https://s3.example.com\n"
        "use path style    true\n"
    )
    assert (as_json.code, as_json.err) == (0, "")
    shown = _strip_nulls(leaky)
    del shown["credential"]["aws"]["secret_access_key"]
    assert json.loads(as_json.out) == shown
    assert as_json.out.count("\n") == 1
    assert CANARY_SECRET not in table.out + as_json.out
    assert [(r.method, r.path) for r in seen(httpserver)] == [
        ("GET", f"{CREDENTIALS}/prod-keys")
    ] * 2


def test_a_failure_is_one_line_on_stderr_and_exit_1(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{CREDENTIALS}/nope").respond_with_json(
        {"code": 404, "message": "credential not found", "request_id": "r-1"}, status=404
    )
    httpserver.expect_request(f"{CREDENTIALS}/boom").respond_with_data(
        "<html>Internal Server Error</html>", status=500, content_type="text/html"
    )

    missing = run(["get", "nope", "--teamspace", "ts_x"], cli_env(httpserver))
    broken = run(["get", "boom"], cli_env(httpserver))
    debug = run(["get", "boom", "--debug"], cli_env(httpserver))

    assert (missing.code, missing.out) == (1, "")
    assert missing.err == (
        "error: could not get credential 'nope' in teamspace 'ts_x': "
        "404 Not Found: credential not found (request id r-1)\n"
    )
    assert (broken.code, broken.out) == (1, "")
    assert broken.err.startswith(
        "error: could not get credential 'boom': 500 Internal Server Error"
    )
    assert broken.err.count("\n") == 1
    # --debug adds the traceback and the request log, still without the token.
    assert debug.code == 1
    assert "Traceback (most recent call last)" in debug.err
    assert debug.err.endswith(broken.err)
    assert "GET" in debug.err
    assert CANARY_TOKEN not in debug.err
    assert seen(httpserver)[0].query == Q([("teamspace_id", "ts_x")])


def test_create_sends_exactly_what_the_options_say(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request(f"/v4/teamspaces/{WORKSPACE}/ml").respond_with_json(
        teamspace_json("ml", "ts_ml")
    )
    httpserver.expect_request(CREDENTIALS, method="POST").respond_with_data("", status=201)
    env = cli_env(httpserver, AWS_SECRET=CANARY_SECRET)

    keys = run(["create", "prod-s3", "--provider", "aws", "--access-key-id", "AKIA1",
                "--secret-env", "AWS_SECRET", "--endpoint", "https://s3.example.com",
                "--use-path-style"], env)  # fmt: skip
    role = run(["create", "prod-role", "--provider", "AWS", "--kind", "role", "--role-arn", ARN,
                "--external-id", "ext-1", "--default", "--no-allow-in-tasks",
                "--teamspace", "ml"], env)  # fmt: skip

    assert (keys.code, keys.out, keys.err) == (0, "created credential 'prod-s3'\n", "")
    assert (role.code, role.out, role.err) == (
        0, "created credential 'prod-role' in teamspace 'ml'\n", ""
    )  # fmt: skip
    requests = seen(httpserver)
    assert [(r.method, r.path, r.query) for r in requests] == [
        ("POST", CREDENTIALS, Q()),
        ("GET", f"/v4/teamspaces/{WORKSPACE}/ml", Q()),
        ("POST", CREDENTIALS, Q([("teamspace_id", "ts_ml")])),
    ]
    assert requests[0].json() == {
        "name": "prod-s3",
        "provider": "AWS",
        "credential": {"aws": {"access_key_id": "AKIA1", "secret_access_key": CANARY_SECRET,
                               "endpoint": "https://s3.example.com", "use_path_style": True}},
    }  # fmt: skip
    assert requests[2].json() == {
        "name": "prod-role",
        "provider": "AWS",
        "provider_default": True,
        "allowed_in_tasks": False,
        "role": {"aws": {"role_arn": ARN, "external_id": "ext-1"}},
    }


def test_every_kind_builds_its_container(httpserver: HTTPServer, tmp_path: Path) -> None:
    key_file = tmp_path / "sa.json"
    key = {"client_email": "sa@p.iam", "private_key_id": "k1", "private_key": CANARY_SECRET}
    key_file.write_text(json.dumps(key))
    pem = tmp_path / "rsa_key.p8"
    pem.write_text(f"-----BEGIN PRIVATE KEY-----\n{CANARY_SECRET}\n-----END PRIVATE KEY-----\n")
    httpserver.expect_request(CREDENTIALS, method="POST").respond_with_data("", status=201)
    env = cli_env(httpserver, S=CANARY_SECRET, PASS="pass-phrase-1")
    cases: list[tuple[list[str], dict[str, Any]]] = [
        (["--provider", "azure", "--account-name", "acct", "--secret-env", "S"],
         {"credential": {"azure": {"account_name": "acct", "account_key": CANARY_SECRET}}}),
        (["--provider", "azure", "--kind", "sas", "--account-name", "acct",
          "--blob-endpoint", "https://acct.blob.core.windows.net", "--secret-env", "S"],
         {"token": {"azure": {"account_name": "acct", "sas_token": CANARY_SECRET,
                              "blob_endpoint": "https://acct.blob.core.windows.net"}}}),
        (["--provider", "azure", "--kind", "entra-id",
          "--blob-endpoint", "https://acct.blob.core.windows.net"],
         {"token": {"azure_entra_id": {"blob_endpoint": "https://acct.blob.core.windows.net"}}}),
        (["--provider", "azure", "--kind", "entra-id-task", "--client-id", "app-1",
          "--tenant-id", "t-1"],
         {"token": {"azure_entra_id_task": {"client_id": "app-1", "tenant_id": "t-1"}}}),
        (["--provider", "gcp", "--access-key-id", "GOOG1", "--secret-env", "S"],
         {"credential": {"gcp": {"access_key_id": "GOOG1", "secret_access_key": CANARY_SECRET}}}),
        (["--provider", "gcp", "--kind", "service-account", "--key-file", str(key_file)],
         {"token": {"gcp": {"account_id": "sa@p.iam", "key_id": "k1",
                            "key_text": key_file.read_text()}}}),
        (["--provider", "gcp", "--kind", "service-account", "--key-file", str(key_file),
          "--account-id", "other@p.iam", "--key-id", "k2"],
         {"token": {"gcp": {"account_id": "other@p.iam", "key_id": "k2",
                            "key_text": key_file.read_text()}}}),
        (["--provider", "snowflake", "--account", "acme", "--user", "svc",
          "--snowflake-role", "loader", "--warehouse", "wh", "--key-file", str(pem),
          "--passphrase-env", "PASS"],
         {"token": {"snowflake": {"account": "acme", "user": "svc", "role": "loader",
                                  "warehouse": "wh", "private_key_raw": pem.read_text(),
                                  "private_key_passphrase": "pass-phrase-1"}}}),
        (["--provider", "databricks", "--databricks-host", "https://dbc.example.com",
          "--client-id", "sp-1", "--secret-env", "S"],
         {"token": {"databricks": {"host": "https://dbc.example.com", "client_id": "sp-1",
                                   "client_secret": CANARY_SECRET}}}),
    ]  # fmt: skip

    results = run_all([["create", f"c{n}", *options] for n, (options, _) in enumerate(cases)], env)
    for number, result in enumerate(results):
        assert (result.code, result.out, result.err) == (0, f"created credential 'c{number}'\n", "")

    bodies = sorted((request.json() for request in seen(httpserver)), key=lambda b: b["name"])
    provider = {"credential": {"azure": "AZURE", "gcp": "GCP"}, "token": {
        "azure": "AZURE", "azure_entra_id": "AZURE", "azure_entra_id_task": "AZURE",
        "gcp": "GCP", "snowflake": "SNOWFLAKE", "databricks": "DATABRICKS"}}  # fmt: skip
    expected = []
    for number, (_, secret) in enumerate(cases):
        ((container, members),) = secret.items()
        ((member, _),) = members.items()
        expected.append({"name": f"c{number}", "provider": provider[container][member], **secret})
    assert bodies == expected


def test_update_rename_flags_and_a_new_secret(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{CREDENTIALS}/prod-s3", method="PATCH").respond_with_data(
        "", status=204
    )
    env = cli_env(httpserver)

    renamed = run(["update", "prod-s3", "--name", "prod-s3-old", "--no-default",
                   "--allow-in-tasks", "--provider", "aws"], env)  # fmt: skip
    new_secret = run(["update", "prod-s3", "--kind", "keys", "--access-key-id", "AKIA2",
                      "--secret-stdin"], env, stdin=CANARY_SECRET + "\n")  # fmt: skip
    nothing = run(["update", "prod-s3"], env)
    no_kind = run(["update", "prod-s3", "--access-key-id", "AKIA2"], env)

    assert (renamed.code, renamed.err) == (0, "")
    assert renamed.out == "updated credential 'prod-s3' (now 'prod-s3-old')\n"
    assert (new_secret.code, new_secret.out, new_secret.err) == (
        0, "updated credential 'prod-s3'\n", ""
    )  # fmt: skip
    assert (nothing.code, nothing.out) == (2, "")
    assert nothing.err == (
        "error: nothing to update for credential 'prod-s3': give at least one change\n"
    )
    assert (no_kind.code, no_kind.out) == (2, "")
    assert no_kind.err.endswith(
        "tilecred update: error: --access-key-id changes the secret: give --kind too\n"
    )
    requests = seen(httpserver)
    assert [r.json() for r in requests] == [
        {
            "name": "prod-s3-old",
            "provider_default": False,
            "allowed_in_tasks": True,
            "provider": "AWS",
        },
        {"credential": {"aws": {"access_key_id": "AKIA2", "secret_access_key": CANARY_SECRET}}},
    ]


def test_delete_with_yes_and_refusal_without_a_terminal(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{CREDENTIALS}/old-s3", method="DELETE").respond_with_data(
        "", status=204
    )
    env = cli_env(httpserver)

    refused = run(["delete", "old-s3"], env)
    assert (refused.code, refused.out) == (2, "")
    assert refused.err.endswith(
        "tilecred delete: error: not deleting credential 'old-s3': standard input is not a "
        "terminal to confirm at; pass --yes to delete without asking\n"
    )
    assert seen(httpserver) == []

    deleted = run(["delete", "old-s3", "--yes"], env)
    assert (deleted.code, deleted.out, deleted.err) == (0, "deleted credential 'old-s3'\n", "")
    assert [(r.method, r.path) for r in seen(httpserver)] == [("DELETE", f"{CREDENTIALS}/old-s3")]


def test_verify_sends_the_workspace_and_reports_failure(httpserver: HTTPServer) -> None:
    verify = "/v4/actions/credentials/verify"
    httpserver.expect_ordered_request(verify, method="POST").respond_with_data("", status=200)
    httpserver.expect_ordered_request(verify, method="POST").respond_with_json(
        {"code": 400, "message": f"AccessDenied for secret {CANARY_SECRET}", "request_id": "r-2"},
        status=400,
    )
    env = cli_env(httpserver, S=CANARY_SECRET)
    options = ["--provider", "aws", "--access-key-id", "AKIA1", "--secret-env", "S"]

    good = run(["verify", "prod-s3", *options], env)
    bad = run(["verify", "prod-s3", *options], env)

    assert (good.code, good.out, good.err) == (0, "credential 'prod-s3' verified\n", "")
    assert (bad.code, bad.out) == (1, "")
    # The server echoed the secret back; the message shows *** instead.
    assert bad.err == (
        "error: could not verify credential 'prod-s3': 400 Bad Request: "
        "AccessDenied for secret *** (request id r-2)\n"
    )
    body = {
        "name": "prod-s3",
        "provider": "AWS",
        "credential": {"aws": {"access_key_id": "AKIA1", "secret_access_key": CANARY_SECRET}},
        "workspace_id": WORKSPACE,
    }
    assert [r.json() for r in seen(httpserver)] == [body, body]


def test_from_json_takes_a_whole_body_and_options_win(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request(CREDENTIALS, method="POST").respond_with_data("", status=201)
    body = {
        "name": "from-file",
        "provider": "aws",
        "allowed_in_tasks": True,
        "credential": {"aws": {"access_key_id": "AKIA1", "secret_access_key": CANARY_SECRET}},
    }
    path = tmp_path / "body.json"
    path.write_text(json.dumps(body))
    env = cli_env(httpserver)

    from_file = run(["create", "--from-json", str(path)], env)
    from_stdin = run(["create", "renamed", "--no-allow-in-tasks", "--from-json", "-"], env,
                     stdin=json.dumps(body))  # fmt: skip
    unknown = run(["create", "--from-json", "-"], env, stdin='{"name": "x", "workspace_id": "w"}')
    mixed = run(["create", "--from-json", str(path), "--secret-env", "S"], env)
    broken = run(["create", "--from-json", "-"], env, stdin='{"name": ' + CANARY_SECRET)

    assert (from_file.code, from_file.out, from_file.err) == (
        0, "created credential 'from-file'\n", ""
    )  # fmt: skip
    assert (from_stdin.code, from_stdin.out) == (0, "created credential 'renamed'\n")
    assert [r.json() for r in seen(httpserver)] == [
        {**body, "provider": "AWS"},
        {**body, "provider": "AWS", "name": "renamed", "allowed_in_tasks": False},
    ]
    assert unknown.code == 2
    assert unknown.err.endswith(
        "tilecred create: error: --from-json: unknown field 'workspace_id' in standard input "
        "(known: allowed_in_tasks, credential, description, name, provider, provider_default, "
        "role, token)\n"
    )
    assert mixed.code == 2
    assert mixed.err.endswith(
        "tilecred create: error: --from-json carries the secret: "
        "do not combine it with --secret-env\n"
    )
    assert broken.code == 2
    assert broken.err.endswith(
        "tilecred create: error: --from-json: standard input line 1 column 10: Expecting value\n"
    )
    assert CANARY_SECRET not in broken.err
    assert len(seen(httpserver)) == 2


def test_from_json_mistakes_give_line_column_and_the_field_meant(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    env = cli_env(httpserver)
    path = tmp_path / "body.json"
    path.write_text('{\n  "name": "x",\n  "provider": "AWS"\n  "role": {}\n}\n')
    cases = {
        str(path): f"{path} line 4 column 3: Expecting ',' delimiter",
        "-": "unknown field 'provder' in standard input (did you mean 'provider'?)",
    }
    broken = run(["create", "--from-json", str(path)], env)
    misspelt = run(["create", "--from-json", "-"], env, stdin='{"name": "x", "provder": "AWS"}')
    nested = run(["create", "--from-json", "-"], env, stdin=json.dumps(
        {"name": "x", "provider": "AWS",
         "credential": {"aws": {"acess_key_id": "A", "secret_access_key": CANARY_SECRET}}}
    ))  # fmt: skip
    member = run(["verify", "--from-json", "-"], env, stdin=json.dumps(
        {"name": "x", "provider": "AWS", "role": {"awss": {}}}
    ))  # fmt: skip
    listed = run(["create", "--from-json", "-"], env, stdin="[1, 2]")
    prefix = "tilecred {}: error: --from-json: "
    for result, command, message in (
        (broken, "create", cases[str(path)]),
        (misspelt, "create", cases["-"]),
        (nested, "create", "unknown field 'credential.aws.acess_key_id' in standard input "
                           "(did you mean 'access_key_id'?)"),
        (member, "verify", "unknown field 'role.awss' in standard input (did you mean 'aws'?)"),
        (listed, "create", "standard input holds a JSON list, not an object"),
    ):  # fmt: skip
        assert (result.code, result.out) == (2, "")
        assert result.err.endswith(prefix.format(command) + message + "\n"), result.err
        assert CANARY_SECRET not in result.err
    assert seen(httpserver) == []


def test_usage_errors_exit_2_and_send_nothing(httpserver: HTTPServer) -> None:
    env = cli_env(httpserver, S=CANARY_SECRET)
    cases = {
        ("lst",): "tilecred: error: argument COMMAND: invalid choice: 'lst' (choose from",
        ("create", "x", "--provider", "oracle"): "tilecred create: error: argument --provider: "
        "invalid provider 'oracle' (choose from AWS, AZURE, GCP, SNOWFLAKE, DATABRICKS, "
        "GENERIC, in any case)",
        ("create", "x", "--provider", "gcp", "--kind", "role"):
        "tilecred create: error: --kind role is for provider AWS, not GCP",
        ("create", "x", "--provider", "aws", "--role-arn", ARN):
        "tilecred create: error: --role-arn does not apply to --kind keys",
        ("create", "x", "--provider", "aws", "--secret-env", "S"):
        "tilecred create: error: --kind keys needs --access-key-id",
        ("create", "x", "--provider", "aws", "--access-key-id", "AKIA1"):
        "tilecred create: error: no AWS secret access key given: use --secret-stdin, "
        "--secret-file FILE or --secret-env VAR (standard input is not a terminal, "
        "so there is no prompt)",
        ("create", "x", "--provider", "aws", "--kind", "role", "--role-arn", ARN,
         "--secret-env", "S"): "tilecred create: error: --secret-env: --kind role holds no secret",
        ("create", "x", "--provider", "aws", "--access-key-id", "A", "--secret-env", "S",
         "--passphrase-env", "S"):
        "tilecred create: error: --passphrase-env applies only to --kind key-pair",
        ("create", "x", "--provider", "aws", "--access-key-id", "A", "--secret-stdin",
         "--token"): "tilecred create: error: only one option can read standard input, "
        "not --token and --secret-stdin",
        ("create", "x", "--provider", "aws", "--access-key-id", "A", "--secret-stdin",
         "--secret-env", "S"): "tilecred create: error: argument --secret-env: not allowed "
        "with argument --secret-stdin",
        ("--token-env", "A", "list", "--token-file", "B"):
        "tilecred list: error: give only one of --token-env and --token-file",
        ("get", "a/b"): "error: name 'a/b' must not contain '/'",
        ("list", "--per-page", "0"): "tilecred list: error: argument --per-page: "
        "must be a whole number of at least 1, not '0'",
        ("delete",): "tilecred delete: error: the following arguments are required: NAME",
        (): "tilecred: error: the following arguments are required: COMMAND",
    }  # fmt: skip
    for (args, message), result in zip(cases.items(), run_all(list(cases), env), strict=True):
        assert (result.code, result.out) == (2, ""), args
        assert result.err.splitlines()[-1].startswith(message), (args, result.err)
    assert seen(httpserver) == []


def test_global_options_before_or_after_the_command(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/v4/credentials/ws_other").respond_with_json(list_json([]))
    token_file = tmp_path / "token"
    token_file.write_text("file-token\n")
    # Nothing configured in the environment: the options say it all.
    env = cli_env(MY_TOKEN="env-token")
    host = f"http://127.0.0.1:{httpserver.port}"

    runs = [
        run(["--host", host, "--token-env", "MY_TOKEN", "--workspace", "ws_other", "list"], env),
        run(["list", "--host", host, "--token-file", str(token_file),
             "--workspace", "ws_other"], env),
        run(["--host", host, "list", "--workspace", "ws_other", "--token"], env,
            stdin="piped-token\n"),
    ]  # fmt: skip

    assert [(r.code, r.out, r.err) for r in runs] == [(0, "", "no credentials\n")] * 3
    assert [r.headers["x-tiledb-rest-api-key"] for r in seen(httpserver)] == [
        "env-token",
        "file-token",
        "piped-token",
    ]


def test_a_token_typed_as_an_argument_is_not_echoed(httpserver: HTTPServer) -> None:
    result = run(["--token", CANARY_TOKEN, "list"], cli_env(httpserver))
    attached = run(["list", f"--token={CANARY_TOKEN}"], cli_env(httpserver))

    for outcome in (result, attached):
        assert (outcome.code, outcome.out) == (2, "")
        assert CANARY_TOKEN not in outcome.err
        assert "--token takes no value" in outcome.err
    assert seen(httpserver) == []


def test_a_secret_typed_as_an_argument_is_not_echoed(httpserver: HTTPServer) -> None:
    base = ["create", "lake", "--provider", "aws", "--access-key-id", "AKIAIOSFODNN7EXAMPLE"]
    env = cli_env(httpserver)
    typed = [
        run([*base, "--secret-stdin", CANARY_SECRET], env, stdin="x"),
        run([*base, f"--secret-stdin={CANARY_SECRET}"], env, stdin="x"),
        run([*base, "--secret-env", CANARY_SECRET], env),
        run(["--token-env", CANARY_TOKEN, "list"], env),
    ]
    for outcome in typed:
        assert (outcome.code, outcome.out) == (2, "")
        assert CANARY_SECRET not in outcome.err
        assert CANARY_TOKEN not in outcome.err
    assert "(--secret-stdin takes no value: secrets are read from" in typed[0].err
    assert "(--secret-stdin takes no value: secrets are read from" in typed[1].err
    assert typed[2].err.endswith(
        "error: --secret-env takes the name of an environment variable, and what was given "
        "is not a variable name (not shown, in case it is the secret itself)\n"
    )
    assert "--token-env takes the name of an environment variable" in typed[3].err
    assert seen(httpserver) == []


def test_help_on_every_command_has_examples() -> None:
    env = cli_env()
    commands = [[], ["list"], ["get"], ["create"], ["update"], ["delete"], ["verify"],
                ["config"], ["config", "save"], ["config", "show"]]  # fmt: skip
    results = run_all([[*command, "--help"] for command in commands], env)
    for command, result in zip(commands, results, strict=True):
        assert (result.code, result.err) == (0, ""), command
        assert result.out.startswith(f"usage: {' '.join(['tilecred', *command])}"), command
        assert "\nexamples:\n  tilecred " in result.out, command
    version = run(["--version"], env)
    assert (version.code, version.out) == (0, f"tilecred {tilecred.__version__}\n")


def test_a_reader_that_leaves_early_gets_no_traceback(httpserver: HTTPServer) -> None:
    closed = threading.Event()  # page 2 comes once the reader has gone, like `| head -1`
    _pages(httpserver, hold=closed)

    with _start_list(httpserver) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        assert proc.stdout.readline().decode().startswith("NAME ")
        proc.stdout.close()
        closed.set()
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=60)

    assert (code, err) == (141, "")
