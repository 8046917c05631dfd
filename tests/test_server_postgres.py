"""``tilecred serve`` on PostgreSQL: choosing the database, its password kept out
of sight, and a clean 503 when the database goes away mid-request."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests._engines import TEST_KEY
from tests.test_server_commands import TOKEN, _get, _start, run
from tests.test_server_harness import Running, aws_role_body
from tests.test_server_routes import assert_error
from tilecred._config import DATABASE_ENV, MASTER_KEY_ENV
from tilecred._errors import ConfigurationError, InvalidArgumentError
from tilecred._local._keys import encode_key
from tilecred._local._postgres import redact_url

# Only the postgres session installs the driver; elsewhere these tests are
# deselected, and the module must still import.
psycopg = pytest.importorskip("psycopg")

pytestmark = pytest.mark.postgres
pytest_plugins = ["tests.test_server_harness"]

UNAVAILABLE = "the credential store is unavailable; try again shortly"


def test_serve_takes_the_database_from_the_environment_and_never_shows_its_password(
    postgres_url: str, tmp_path: Path
) -> None:
    shown, password = redact_url(postgres_url)
    assert password
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TILEDB_", "TILECRED_"))}
    env |= {DATABASE_ENV: postgres_url, MASTER_KEY_ENV: encode_key(TEST_KEY)}
    proc, lines, port = _start(None, env)
    try:
        assert lines[0] == "First start: created an admin API token for workspace 'default'."
        admin = lines[2].strip()
        assert TOKEN.match(admin)
        assert lines[3] == (
            f"tilecred serving {shown} on http://127.0.0.1:{port} (2 threads); "
            f"console http://127.0.0.1:{port}/console/"
        )
        status, _body = _get(port, "/v4/credentials/default", admin)
        assert status == 200
        # A second instance on the same database: no second admin token, same answers.
        other, other_lines, other_port = _start(None, env)
        try:
            assert other_lines == [f"tilecred serving {shown} on http://127.0.0.1:{other_port}"
                                   f" (2 threads); console http://127.0.0.1:{other_port}/console/"
                                   ]  # fmt: skip
            assert _get(other_port, "/v4/credentials/default", admin)[0] == 200
        finally:
            other.terminate()
            other_out, other_err = other.communicate(timeout=30)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    for text in ("\n".join(lines), out, err, "\n".join(other_lines), other_out, other_err):
        assert password not in text
    assert not (tmp_path / "home").exists()


def test_a_password_on_the_command_line_is_refused_unread(
    postgres_url: str, tmp_path: Path
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        run("serve", "--database", postgres_url, "--port", "0")
    assert info.value.message == (
        "--database must not carry a password: the command line is visible to every user of "
        f"this machine; put the URL in {DATABASE_ENV}, or the password in ~/.pgpass or PGPASSWORD"
    )
    shown, _ = redact_url(postgres_url)
    with pytest.raises(InvalidArgumentError) as both:
        run("serve", "--database", shown, "--home", str(tmp_path), "--port", "0")
    assert both.value.message == "give --database or --home, not both"
    with pytest.raises(InvalidArgumentError) as not_a_url:
        run("serve", "--database", str(tmp_path), "--port", "0")
    assert not_a_url.value.message == "--database must be a postgresql:// URL"


def test_a_connection_lost_mid_request_is_a_503_with_its_request_id_and_the_next_one_works(
    postgres_url: str,
    running_server: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(DATABASE_ENV, postgres_url)
    monkeypatch.setenv(MASTER_KEY_ENV, encode_key(TEST_KEY))
    server: Running = running_server(tmp_path / "unused")
    # The database drops the connection of whoever inserts a credential, as a
    # restart or a network failure would, in the middle of the request.
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(
            "CREATE FUNCTION drop_me() RETURNS trigger LANGUAGE plpgsql AS"
            " $$BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END$$"
        )
        admin.execute(
            "CREATE TRIGGER drop_me BEFORE INSERT ON credentials"
            " FOR EACH ROW EXECUTE FUNCTION drop_me()"
        )
        reply = server.request("POST", server.credentials_path(), body=aws_role_body("lost"))
        assert_error(reply, 503, UNAVAILABLE)
        assert reply.headers["Retry-After"] == "1"
        admin.execute("DROP TRIGGER drop_me ON credentials")
    shown, password = redact_url(postgres_url)
    request_id = reply.headers["X-Request-Id"]
    logged = [r.getMessage() for r in caplog.records if r.name == "tilecred.server"]
    assert any(
        m == f"store failure in request {request_id}: 503 Service Unavailable: "
        f"the PostgreSQL store {shown} is unavailable: "
        "terminating connection due to administrator command"
        for m in logged
    ), logged  # fmt: skip
    assert not [m for m in logged if password and password in m]
    made = server.request("POST", server.credentials_path(), body=aws_role_body("after"))
    assert made.status == 201, made.raw
    listed = server.request("GET", server.credentials_path())
    assert [c["name"] for c in listed.json["data"]] == ["after"]


def test_token_commands_use_the_database_in_the_environment(postgres_url: str) -> None:
    from tests.test_cli_support import cli_env
    from tests.test_cli_support import run as cli

    shown, password = redact_url(postgres_url)
    assert password
    env = cli_env() | {DATABASE_ENV: postgres_url, MASTER_KEY_ENV: encode_key(TEST_KEY)}
    created = cli(["token", "create", "--name", "ci", "--create-workspace"], env)
    assert created.code == 0, created.err
    assert created.err.startswith(f"tokens of the store {shown} ({DATABASE_ENV})\n")
    listed = cli(["token", "list"], env)
    assert listed.code == 0, listed.err
    assert " ci " in listed.out
    for text in (created.out, created.err, listed.out, listed.err):
        assert password not in text


def test_key_rotate_re_encrypts_the_database_in_the_environment(postgres_url: str) -> None:
    from tests.test_cli_support import cli_env
    from tests.test_cli_support import run as cli
    from tilecred._local import open_store
    from tilecred._models import CredentialCreateRequest

    new_key = bytes(range(1, 33))
    with open_store(postgres_url, key=TEST_KEY) as store:
        ws = store.create_workspace("w")
        request = msgspec.convert({"name": "k", "provider": "AWS", "credential": {"aws": {
            "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "s" * 40}}},
            CredentialCreateRequest)  # fmt: skip
        store.create_credential(ws.id, None, request)
    shown, _ = redact_url(postgres_url)
    env = cli_env() | {DATABASE_ENV: postgres_url, MASTER_KEY_ENV: encode_key(TEST_KEY),
                       "NEW_KEY": encode_key(new_key)}  # fmt: skip
    rotated = cli(["key", "rotate", "--new-key-env", "NEW_KEY"], env)
    assert (rotated.code, rotated.err) == (0, "")
    assert rotated.out == (
        f"re-encrypted 1 credential(s) in {shown}; "
        "set TILECRED_MASTER_KEY to the new key before the next use\n"
    )
    with open_store(postgres_url, key=new_key) as store:
        found = store.get_credential(ws.id, None, "k", with_secrets=True)
        assert found.credential is not None
        assert found.credential.aws is not None
        assert found.credential.aws.secret_access_key == "s" * 40
    with pytest.raises(ConfigurationError):
        open_store(postgres_url, key=TEST_KEY)
