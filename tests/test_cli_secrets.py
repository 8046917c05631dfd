"""A canary secret given to ``tilecred`` through every input path reaches the
server and nowhere else: not stdout, not stderr, not any process's argument list."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests._http_helpers import base_url, seen
from tests.conftest import CANARY_SECRET, CANARY_TOKEN
from tests.test_cli_support import CREDENTIALS, Result, cli_env, list_json, processes_with, run

PEM = f"-----BEGIN PRIVATE KEY-----\n{CANARY_SECRET}\n-----END PRIVATE KEY-----\n"


def _watch(httpserver: HTTPServer, method: str, answer: Response) -> list[list[int]]:
    """Answer every request with ``answer``, noting which processes show a canary in ``ps``."""
    found: list[list[int]] = []

    def handler(request: Request) -> Response:
        # The command is alive and waiting for this answer: its argument
        # list, and every other process's, is there to read.
        found.append(processes_with(CANARY_SECRET) + processes_with(CANARY_TOKEN))
        return answer

    httpserver.expect_request(CREDENTIALS, method=method).respond_with_handler(handler)
    return found


def _assert_hidden(results: list[Result], *canaries: str) -> None:
    for result in results:
        for canary in canaries:
            assert canary not in result.both, result


def test_secret_from_env_file_stdin_and_key_files(httpserver: HTTPServer, tmp_path: Path) -> None:
    in_ps = _watch(httpserver, "POST", Response("", status=201))
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(CANARY_SECRET + "\n")
    pem = tmp_path / "key.p8"
    pem.write_text(PEM)
    env = cli_env(httpserver, S=CANARY_SECRET, P=CANARY_SECRET)
    aws = ["--provider", "aws", "--access-key-id", "AKIA1"]
    snowflake = ["--provider", "snowflake", "--account", "acme", "--user", "svc"]

    results = [
        # A real process for some: ps can only show the arguments of one.
        run(["create", "env", *aws, "--secret-env", "S"], env, process=True),
        run(["create", "file", *aws, "--secret-file", str(secret_file)], env),
        run(["create", "dash", *aws, "--secret-file", "-"], env, stdin=CANARY_SECRET + "\n"),
        run(["create", "stdin", *aws, "--secret-stdin"], env, stdin=CANARY_SECRET + "\r\n",
            process=True),
        run(["create", "pp-env", *snowflake, "--key-file", str(pem), "--passphrase-env", "P"], env),
        run(["create", "pp-file", *snowflake, "--key-file", str(pem),
             "--passphrase-file", str(secret_file)], env),
        run(["create", "pp-stdin", *snowflake, "--key-file", str(pem), "--passphrase-stdin"], env,
            stdin=CANARY_SECRET),
        run(["create", "key-stdin", *snowflake, "--key-file", "-"], env, stdin=PEM),
    ]  # fmt: skip

    assert [r.code for r in results] == [0] * len(results), results
    _assert_hidden(results, CANARY_SECRET)
    assert in_ps == [[]] * len(results)
    aws_secrets = [r.json()["credential"]["aws"]["secret_access_key"] for r in seen(httpserver)[:4]]
    assert aws_secrets == [CANARY_SECRET] * 4
    snowflake_keys = [r.json()["token"]["snowflake"] for r in seen(httpserver)[4:]]
    assert snowflake_keys == [
        {"account": "acme", "user": "svc", "private_key_raw": PEM,
         "private_key_passphrase": CANARY_SECRET},
    ] * 3 + [{"account": "acme", "user": "svc", "private_key_raw": PEM}]  # fmt: skip


def test_secret_in_a_json_body_and_in_an_echoing_error(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    echo = json.dumps({"code": 400, "message": f"bad key {CANARY_SECRET} for {CANARY_TOKEN}",
                       "request_id": "r-9"})  # fmt: skip
    in_ps = _watch(httpserver, "POST", Response(echo, status=400, content_type="application/json"))
    body = {
        "name": "from-json",
        "provider": "AWS",
        "credential": {"aws": {"access_key_id": "AKIA1", "secret_access_key": CANARY_SECRET}},
    }
    path = tmp_path / "body.json"
    path.write_text(json.dumps(body))
    env = cli_env(httpserver)

    results = [
        run(["create", "--from-json", str(path)], env),
        run(["create", "--from-json", "-"], env, stdin=json.dumps(body)),
        # --debug logs to stderr in a process of its own (here, pytest takes the log).
        run(["create", "--from-json", str(path), "--debug"], env, process=True),
    ]

    assert [r.code for r in results] == [1, 1, 1]
    assert results[0].err == (
        "error: could not create credential 'from-json': 400 Bad Request: "
        "bad key *** for *** (request id r-9)\n"
    )
    _assert_hidden(results, CANARY_SECRET, CANARY_TOKEN)
    assert in_ps == [[]] * 3
    assert [r.json() for r in seen(httpserver)] == [body] * 3


def test_token_from_env_file_and_stdin(httpserver: HTTPServer, tmp_path: Path) -> None:
    in_ps = _watch(httpserver, "GET", Response(json.dumps(list_json([])), status=200,
                                               content_type="application/json"))  # fmt: skip
    token_file = tmp_path / "token"
    token_file.write_text(CANARY_TOKEN + "\n")
    env = cli_env(T=CANARY_TOKEN, TILEDB_REST_SERVER_ADDRESS=base_url(httpserver))

    results = [
        run(["list", "--token-env", "T", "--debug"], env, process=True),
        run(["list", "--token-file", str(token_file)], env),
        run(["--token", "list"], env, stdin=CANARY_TOKEN + "\n", process=True),
        run(["--token-env", "T", "config"], env),
        run(["--token-env", "T", "config", "--json"], env),
    ]

    assert [r.code for r in results] == [0] * 5, results
    _assert_hidden(results, CANARY_TOKEN)
    assert "tc-ws_canary-***" in results[3].out
    assert in_ps == [[]] * 3
    assert [r.headers["x-tiledb-rest-api-key"] for r in seen(httpserver)] == [CANARY_TOKEN] * 3


def test_missing_and_empty_secret_sources_fail_without_sending(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    env = cli_env(httpserver, BLANK="")
    aws = ["create", "x", "--provider", "aws", "--access-key-id", "AKIA1"]

    results = [
        run([*aws, "--secret-env", "UNSET_VARIABLE"], env),
        run([*aws, "--secret-file", str(tmp_path / "nope.txt")], env),
        run([*aws, "--secret-file", str(empty)], env),
        run([*aws, "--secret-env", "BLANK"], env),
        run([*aws, "--secret-stdin"], env, stdin=""),
        run(["create", "x", "--provider", "gcp", "--kind", "service-account",
             "--key-file", str(empty)], env),
        run(["create", "x", "--provider", "gcp", "--kind", "service-account", "--key-file", "-"],
            env, stdin=CANARY_SECRET),
    ]  # fmt: skip

    assert [(r.code, r.out, r.err) for r in results] == [
        # The command line names a variable that is not there: a usage error.
        (2, "", "usage: tilecred create NAME --provider P [--kind KIND] [kind and secret "
                "options] [other options]\ntilecred create: error: cannot read the AWS secret "
                "access key: environment variable UNSET_VARIABLE is not set\n"),
        (1, "", f"error: cannot read the AWS secret access key from {tmp_path / 'nope.txt'}: "
                "No such file or directory\n"),
        (1, "", f"error: the AWS secret access key from file {empty} is empty\n"),
        (1, "", "error: the AWS secret access key from environment variable BLANK is empty\n"),
        (1, "", "error: the AWS secret access key from standard input is empty\n"),
        (1, "", f"error: the GCP service-account key from file {empty} is empty\n"),
        (1, "", "error: the GCP service-account key is not a JSON object\n"),
    ]  # fmt: skip
    assert seen(httpserver) == []


def test_the_ps_check_does_see_an_argument() -> None:
    # The checks above pass because nothing shows the canary, not because
    # processes_with cannot see it: a process given it as an argument is found.
    with subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()", CANARY_SECRET],
        stdin=subprocess.PIPE,
        env=cli_env(),
    ) as proc:
        try:
            assert proc.pid in processes_with(CANARY_SECRET)
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
