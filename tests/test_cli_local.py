"""``tilecred`` against the embedded default (the local store) and against a
real ``tilecred serve``: whole sessions, as a person would type them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import CANARY_SECRET
from tests.test_cli_support import cli_env, run

pytest_plugins = ["tests.test_server_harness"]

ARN = "arn:aws:iam::123456789012:role/demo"
COLUMNS = [
    "NAME", "PROVIDER", "KIND", "DEFAULT", "TASKS", "ACTIVE", "STATUS", "EXPIRES", "UPDATED",
    "LAST USED", "USED BY",
]  # fmt: skip


def _table(out: str) -> list[list[str]]:
    """Table rows split into cells, the UPDATED time (two cells) and the last use
    (none in these sessions: "-" and "-") left out."""
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == " ".join(COLUMNS).split()
    assert all(row[-2:] == ["-", "-"] for row in rows[1:])
    return [row[:-4] for row in rows[1:]]


def _session(env: dict[str, str], *, extra: list[str]) -> list[Any]:
    """Create, list, get, update, verify and delete, checking each step."""
    created = [
        run(["create", "prod-role", "--provider", "aws", "--kind", "role", "--role-arn", ARN,
             "--default", *extra], env),
        run(["create", "prod-keys", "--provider", "aws", "--access-key-id",
             "AKIAIOSFODNN7EXAMPLE", "--secret-stdin", "--allow-in-tasks", *extra], env,
            stdin=CANARY_SECRET),
        run(["create", "blobs", "--provider", "azure", "--kind", "sas", "--account-name",
             "acct", "--secret-env", "SAS", *extra], env),
    ]  # fmt: skip
    assert [(r.code, r.err) for r in created] == [(0, "")] * 3
    taken = run(["create", "prod-role", "--provider", "aws", "--kind", "role", "--role-arn", ARN,
                 *extra], env)  # fmt: skip
    assert (taken.code, taken.out) == (1, "")
    assert taken.err.startswith("error: could not create credential 'prod-role'")
    assert "409 Conflict" in taken.err

    listed = run(["list", *extra], env)
    assert (listed.code, listed.err) == (0, "")
    assert sorted(_table(listed.out)) == [
        ["blobs", "AZURE", "sas", "no", "no", "yes", "-", "-"],
        ["prod-keys", "AWS", "keys", "no", "yes", "yes", "-", "-"],
        ["prod-role", "AWS", "role", "yes", "no", "yes", "-", "-"],
    ]
    got = run(["get", "prod-keys", "--json", *extra], env)
    shown = json.loads(got.out)
    assert shown["credential"] == {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE"}}
    assert (shown["name"], shown["provider"], shown["allowed_in_tasks"]) == (
        "prod-keys", "AWS", True
    )  # fmt: skip

    renamed = run(["update", "prod-keys", "--name", "old-keys", "--default", *extra], env)
    assert (renamed.code, renamed.err) == (0, "")
    # A stored credential verified by name, and a verifying listing.
    stored = run(["verify", "prod-role", *extra], env)
    absent = run(["verify", "nothing", *extra], env)
    checked = run(["list", "--verify", *extra], env)
    assert (stored.code, stored.out, stored.err) == (
        0, "credential 'prod-role'" + _where(extra).rstrip("\n") + " verified\n", ""
    )  # fmt: skip
    assert (absent.code, absent.out) == (1, "")
    assert "could not get credential 'nothing'" in absent.err
    assert "404 Not Found" in absent.err
    assert sorted(row[0] + ":" + row[6] for row in _table(checked.out)) == [
        "blobs:failed", "old-keys:verified", "prod-role:verified"
    ]  # fmt: skip
    # The canary is no SAS token: verification fails, with exit status 1.
    failed = run(["verify", "blobs", *extra], env)
    assert (failed.code, failed.out) == (1, "")
    assert failed.err == (
        "error: credential 'blobs'" + _where(extra).rstrip("\n") + " failed verification\n"
    )
    verified = run(["verify", "check", "--provider", "aws", "--kind", "role", "--role-arn", ARN,
                    *extra], env)  # fmt: skip
    rejected = run(["verify", "check", "--provider", "aws", "--kind", "role",
                    "--role-arn", "not-an-arn", *extra], env)  # fmt: skip
    assert (verified.code, verified.out) == (0, "credential 'check' verified" + _where(extra))
    assert (rejected.code, rejected.out) == (1, "")
    assert rejected.err.startswith("error: could not verify credential 'check'")

    deleted = run(["delete", "old-keys", "--yes", *extra], env)
    missing = run(["get", "old-keys", *extra], env)
    assert (deleted.code, deleted.out) == (0, "deleted credential 'old-keys'" + _where(extra))
    assert missing.code == 1
    assert "404 Not Found" in missing.err
    outputs = [*created, taken, listed, got, renamed, verified, rejected,
               deleted, missing]  # fmt: skip
    for result in outputs:
        assert CANARY_SECRET not in result.both
    return outputs


def _where(extra: list[str]) -> str:
    return (f" in teamspace {extra[1]!r}" if extra else "") + "\n"


def test_a_session_on_the_embedded_default(isolated: Path) -> None:
    env = cli_env(SAS=CANARY_SECRET)
    config = json.loads(run(["config", "--json"], env).out)
    assert config["backend"] == "local"

    _session(env, extra=[])
    # A teamspace comes into being with its first credential.
    scoped = run(["create", "r", "--provider", "aws", "--kind", "role", "--role-arn", ARN,
                  "--teamspace", "ml"], env)  # fmt: skip
    listed = run(["list", "--teamspace", "ml", "--json"], env)
    assert (scoped.code, scoped.out) == (0, "created credential 'r' in teamspace 'ml'\n")
    assert [json.loads(line)["name"] for line in listed.out.splitlines()] == ["r"]

    # Secrets are encrypted at rest: the canary is nowhere in the store's files.
    home = isolated / "tilecred-home"
    files = [p for p in home.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert CANARY_SECRET.encode() not in path.read_bytes(), path


def test_a_session_against_tilecred_serve(server: Any, tmp_path: Path) -> None:
    env = cli_env(
        SAS=CANARY_SECRET,
        TILEDB_REST_SERVER_ADDRESS=server.url,
        TILEDB_REST_TOKEN=server.token,
    )
    # Teamspace commands go where every other command goes: to the server.
    team = run(["teamspace", "create", "ml"], env)
    assert (team.code, team.err) == (0, ""), team

    _session(env, extra=["--teamspace", "ml"])
    unknown = run(["list", "--teamspace", "nope"], env)
    assert (unknown.code, unknown.out) == (1, "")
    assert "teamspace 'nope' not found" in unknown.err
