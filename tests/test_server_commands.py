"""``serve``: through argparse, and a real process (``token``, ``teamspace``: test_cli_tokens)."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from tilecred._errors import (
    CredentialsError,
    InvalidArgumentError,
)
from tilecred._server import create_app
from tilecred._server._commands import add_commands, bootstrap

TOKEN = re.compile(r"^tc-ws_[0-9a-f]+-[0-9a-f]{64}$")


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="tilecred")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    code: int = args.handler(args)
    return code


def test_importing_the_commands_does_not_import_cheroot() -> None:
    code = "import sys, tilecred._server._commands; print('cheroot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "False\n"


def test_serve_rejects_bad_numbers_before_opening_anything(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError) as threads:
        run("serve", "--home", str(tmp_path / "h"), "--threads", "0")
    assert threads.value.message == "--threads must be at least 1, not 0"
    with pytest.raises(InvalidArgumentError):
        run("serve", "--home", str(tmp_path / "h"), "--port", "70000")
    assert not (tmp_path / "h").exists()


def _execute(database: Path, sql: str) -> None:
    with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as db:
        db.execute(sql)


def test_a_first_start_that_fails_issues_the_admin_token_on_the_next(tmp_path: Path) -> None:
    home = tmp_path / "home"
    app = create_app(home)
    try:
        # Real failures of each write: the workspace, then the token.
        refuse = "CREATE TRIGGER refused BEFORE INSERT ON {} BEGIN SELECT RAISE(ABORT, 'full'); END"
        _execute(home / "tilecred.db", refuse.format("workspaces"))
        with pytest.raises(CredentialsError) as failed:
            bootstrap(app)
        assert failed.value.message == (
            f"the local store {home / 'tilecred.db'} refused a write: full"
        )
        _execute(home / "tilecred.db", "DROP TRIGGER refused")
        _execute(home / "tilecred.db", refuse.format("tokens"))
        with pytest.raises(CredentialsError) as info:
            bootstrap(app)
        assert info.value.message == f"the local store {home / 'tilecred.db'} refused a write: full"
        assert (app.tokens.bootstrapped(), app.tokens.list()) == (False, [])
        _execute(home / "tilecred.db", "DROP TRIGGER refused")

        text = bootstrap(app)
        assert text is not None
        assert TOKEN.match(text)
        record = app.tokens.authenticate(text)
        workspace = app.store.find_workspace("default")
        assert record is not None
        assert workspace is not None
        assert (record.name, record.workspace_id, record.read_only) == (
            "admin",
            workspace.id,
            False,
        )
        assert bootstrap(app) is None
        assert [token.id for token in app.tokens.list()] == [record.id]
    finally:
        app.close()


def test_a_revocation_the_store_refuses_changes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    app = create_app(home)
    try:
        # Read-only: revoking it is not refused by the lockout rule first.
        workspace = app.store.create_workspace("w").id
        record, _text = app.tokens.create(workspace, "ci", read_only=True)
        _execute(
            home / "tilecred.db",
            "CREATE TRIGGER refused BEFORE UPDATE ON tokens BEGIN SELECT RAISE(ABORT, 'full'); END",
        )
        with pytest.raises(CredentialsError) as info:
            app.tokens.revoke(record.id)
        assert info.value.message == f"the local store {home / 'tilecred.db'} refused a write: full"
        assert [token.revoked_at for token in app.tokens.list()] == [None]
    finally:
        app.close()


def _start(
    data: Path | None, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], list[str], int]:
    """``tilecred serve`` on a free port over ``data`` (None: as ``env`` says), once it answers."""
    if env is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TILEDB_", "TILECRED_"))}
    home = [] if data is None else ["--home", str(data)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tilecred._server", "serve", *home, "--port", "0",
         "--threads", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("tilecred serving"):
            break
    found = re.search(r"on http://127\.0\.0\.1:(\d+) ", lines[-1])
    assert found, lines
    return proc, lines, int(found.group(1))


def _get(port: int, path: str, token: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"X-TILEDB-REST-API-KEY": token})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_the_admin_token_once_and_stops_cleanly(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    data = tmp_path / "home"
    proc, lines, port = _start(data)
    assert lines[0] == "First start: created an admin API token for workspace 'default'."
    assert lines[1] == "It is shown only this once; keep it somewhere safe:"
    token = lines[2].strip()
    assert TOKEN.match(token)
    status, body = _get(port, "/v4/workspaces/default", token)
    assert status == 200
    workspace = msgspec.json.decode(body)["data"]
    assert token.split("-")[1] == workspace["workspace_id"]
    proc.send_signal(stop_signal)
    proc.send_signal(stop_signal)  # impatience: a second signal still stops cleanly
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert out == "tilecred stopped\n"
    assert f"received {stop_signal.name}, stopping" in err
    # One access-log line for the one request, and never the token.
    access = [line for line in err.splitlines() if "tilecred.server.access" in line]
    assert len(access) == 1
    assert '"GET /v4/workspaces/default" 200' in access[0]
    assert token not in err
    assert token.rsplit("-", 1)[1] not in err

    # The second start prints no token; the first one still works.
    proc, lines, port = _start(data)
    assert len(lines) == 1
    assert _get(port, "/healthz", "")[0] == 200
    assert _get(port, f"/v4/credentials/{workspace['workspace_id']}", token)[0] == 200
    proc.send_signal(signal.SIGTERM)
    out, _err = proc.communicate(timeout=30)
    assert (proc.returncode, out) == (0, "tilecred stopped\n")


def test_serve_has_examples_and_takes_bind_not_host(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="tilecred")
    add_commands(parser.add_subparsers(dest="command", required=True))
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    text = subparsers.choices["serve"].format_help()
    assert "examples:\n  tilecred serve" in text
    assert "--bind ADDRESS" in text
    assert "--home DIR" in text
    assert "--host" not in text
    # The data directory is --home; --database names a PostgreSQL store instead.
    assert re.search(r"--data(?!base URL)", text) is None
    assert "--database URL" in text
