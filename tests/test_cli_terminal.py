"""``tilecred`` at a terminal: no-echo prompts, delete confirmation, colour.

The command runs on a pseudo-terminal, as when a person types it.
"""

from __future__ import annotations

import json
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests._http_helpers import base_url, credential_json, seen
from tests.conftest import CANARY_SECRET, CANARY_TOKEN
from tests.test_cli_support import CREDENTIALS, Terminal, cli_env, list_json, processes_with


def test_the_secret_prompt_does_not_echo(httpserver: HTTPServer) -> None:
    httpserver.expect_request(CREDENTIALS, method="POST").respond_with_data("", status=201)
    terminal = Terminal(
        ["create", "typed", "--provider", "aws", "--access-key-id", "AKIA1"], cli_env(httpserver)
    )

    terminal.expect("AWS secret access key: ")
    terminal.send(CANARY_SECRET + "\n")
    code, output = terminal.finish()

    assert code == 0
    assert output == "AWS secret access key: \ncreated credential 'typed'\n"
    assert CANARY_SECRET not in output
    assert seen(httpserver)[0].json()["credential"]["aws"]["secret_access_key"] == CANARY_SECRET


def test_the_passphrase_prompt_does_not_echo(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request(CREDENTIALS, method="POST").respond_with_data("", status=201)
    pem = tmp_path / "key.p8"
    pem.write_text(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nabc\n-----END ENCRYPTED PRIVATE KEY-----\n"
    )
    terminal = Terminal(
        ["create", "sf", "--provider", "snowflake", "--account", "acme", "--user", "svc",
         "--key-file", str(pem), "--passphrase-prompt"],
        cli_env(httpserver),
    )  # fmt: skip

    terminal.expect("key passphrase: ")
    terminal.send(CANARY_SECRET + "\n")
    code, output = terminal.finish()

    assert (code, output) == (0, "key passphrase: \ncreated credential 'sf'\n")
    sent = seen(httpserver)[0].json()["token"]["snowflake"]
    assert (sent["private_key_raw"], sent["private_key_passphrase"]) == (
        pem.read_text(), CANARY_SECRET
    )  # fmt: skip


def test_the_token_prompt_does_not_echo(httpserver: HTTPServer) -> None:
    httpserver.expect_request(CREDENTIALS).respond_with_json(list_json([]))
    env = cli_env(TILEDB_REST_SERVER_ADDRESS=base_url(httpserver))
    terminal = Terminal(["--token", "list"], env)

    terminal.expect("API token: ")
    assert processes_with(CANARY_TOKEN) == []
    terminal.send(CANARY_TOKEN + "\n")
    code, output = terminal.finish()

    assert (code, output) == (0, "API token: \nno credentials\n")
    assert seen(httpserver)[0].headers["x-tiledb-rest-api-key"] == CANARY_TOKEN


def test_delete_asks_on_a_terminal(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{CREDENTIALS}/old-s3", method="DELETE").respond_with_data(
        "", status=204
    )
    prompt = "Delete credential 'old-s3'? [y/N] "
    env = cli_env(httpserver, NO_COLOR="1")

    declined = Terminal(["delete", "old-s3"], env)
    declined.expect(prompt)
    declined.send("n\n")
    declined_result = declined.finish()
    # Declining is an answer, not a failure.
    assert declined_result == (0, f"{prompt}n\ncredential 'old-s3' not deleted\n")
    assert seen(httpserver) == []

    accepted = Terminal(["delete", "old-s3"], env)
    accepted.expect(prompt)
    accepted.send("y\n")
    assert accepted.finish() == (0, f"{prompt}y\ndeleted credential 'old-s3'\n")
    assert [(r.method, r.path) for r in seen(httpserver)] == [("DELETE", f"{CREDENTIALS}/old-s3")]


def test_colour_only_on_a_terminal_and_never_with_no_color(httpserver: HTTPServer) -> None:
    cred = credential_json(status="verified")
    httpserver.expect_request(CREDENTIALS).respond_with_json(list_json([cred]))
    httpserver.expect_request(f"{CREDENTIALS}/missing").respond_with_json(
        {"code": 404, "message": "credential not found", "request_id": "r-1"}, status=404
    )

    coloured = Terminal(["list"], cli_env(httpserver)).finish()
    plain = Terminal(["list"], cli_env(httpserver, NO_COLOR="1")).finish()
    error = Terminal(["get", "missing"], cli_env(httpserver)).finish()
    json_lines = Terminal(["list", "--json"], cli_env(httpserver)).finish()

    bold, green, reset = "\x1b[1m", "\x1b[32m", "\x1b[0m"
    header = "  ".join(
        f"{bold}{name}{reset}{' ' * (width - len(name))}"
        for name, width in (("NAME", 7), ("PROVIDER", 8), ("KIND", 4), ("DEFAULT", 7),
                            ("TASKS", 5), ("ACTIVE", 6), ("STATUS", 8), ("EXPIRES", 7),
                            ("UPDATED", 16), ("LAST USED", 9))
    ) + f"  {bold}USED BY{reset}"  # fmt: skip
    row = (
        f"prod-s3  AWS       role  yes      no     -       {green}verified{reset}  -        "
        "2026-11-02 10:00  -          -"
    )
    assert coloured == (0, f"{header}\n{row}\n")
    assert plain == (
        0,
        "NAME     PROVIDER  KIND  DEFAULT  TASKS  ACTIVE  STATUS    EXPIRES  UPDATED           "
        "LAST USED  USED BY\n"
        "prod-s3  AWS       role  yes      no     -       verified  -        2026-11-02 10:00  "
        "-          -\n",
    )
    assert error[0] == 1
    assert error[1].startswith("\x1b[31merror:\x1b[0m could not get credential 'missing': 404")
    assert json_lines[0] == 0
    assert "\x1b[" not in json_lines[1]
    assert json.loads(json_lines[1])["name"] == "prod-s3"
