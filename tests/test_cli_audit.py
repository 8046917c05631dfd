"""``tilecred audit`` on the local store, in this process."""

from __future__ import annotations

import argparse
import datetime
import getpass
import json
from pathlib import Path

import pytest

import tilecred
from tests.conftest import CANARY_SECRET
from tests.test_cli_support import cli_env, run
from tests.test_server_harness import Running
from tilecred._cli._audit import parse_when

pytest_plugins = ["tests.test_server_harness"]

ACTOR = f"local:{getpass.getuser()}"
ARN = "arn:aws:iam::123456789012:role/demo"
COLUMNS = ["TIME", "ACTOR", "ACTION", "OUTCOME", "TEAMSPACE", "CREDENTIAL", "DETAIL"]


def _history() -> None:
    aws = {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": CANARY_SECRET}}
    tilecred.create_credential("lake", "AWS", credential=aws)
    tilecred.create_credential("role", "AWS", role={"aws": {"role_arn": ARN}}, teamspace="ml")
    with pytest.raises(tilecred.PermissionDeniedError):
        tilecred.use_credential("lake")


def test_the_audit_table_and_json_lines(isolated: Path) -> None:
    _history()
    env = cli_env()
    table = run(["audit"], env)
    lines = run(["audit", "--credential", "lake", "--json"], env)

    assert (table.code, table.err) == (0, "")
    rows = [line.split() for line in table.out.splitlines()]
    assert rows[0] == COLUMNS
    # TIME is two cells (date and time, UTC); DETAIL may be several words.
    assert [row[2:7] for row in rows[1:]] == [
        [ACTOR, "create", "ok", "-", "lake"],
        [ACTOR, "create", "ok", "ml", "role"],
        [ACTOR, "use", "denied", "-", "lake"],
    ]
    header = table.out.splitlines()[0]
    assert [header.index(c) for c in COLUMNS[1:4]] == [
        rows_line.index(v) for rows_line, v in zip(
            [table.out.splitlines()[1]] * 3, [ACTOR, "create", "ok"], strict=True)
    ]  # fmt: skip

    assert lines.code == 0
    records = [json.loads(line) for line in lines.out.splitlines()]
    assert [(r["action"], r["outcome"], r["credential"], r["actor"]) for r in records] == [
        ("create", "ok", "lake", ACTOR),
        ("use", "denied", "lake", ACTOR),
    ]
    assert set(records[0]) >= {"at", "actor", "workspace", "action", "outcome"}
    assert CANARY_SECRET not in table.out + lines.out


def test_since_takes_an_age_or_a_time(isolated: Path) -> None:
    _history()
    env = cli_env()
    recent = run(["audit", "--since", "1h", "--limit", "2"], env)
    future = run(["audit", "--since", "2999-01-01T00:00"], env)
    bad = run(["audit", "--since", "yesterday"], env)
    assert len(recent.out.splitlines()) == 3  # the header and the newest two
    assert recent.out.splitlines()[-1].split()[3:5] == ["use", "denied"]
    assert (future.code, future.out, future.err) == (0, "", "no audit records\n")
    assert bad.code == 2
    assert bad.err.endswith(
        "tilecred audit: error: argument --since: 'yesterday' is neither a time like "
        "2026-12-01T09:00 (ISO 8601, UTC unless it has a zone) nor a duration like 30m, 8h, "
        "7d or 2w\n"
    )


def test_parse_when() -> None:
    assert parse_when("7d") == datetime.timedelta(days=7)
    assert parse_when("8h") == datetime.timedelta(hours=8)
    assert parse_when("30m") == datetime.timedelta(minutes=30)
    assert parse_when("2w") == datetime.timedelta(weeks=2)
    assert parse_when("2026-12-01T09:00") == datetime.datetime(
        2026, 12, 1, 9, tzinfo=datetime.UTC
    )  # fmt: skip
    zoned = parse_when("2026-12-01T09:00+02:00")
    assert isinstance(zoned, datetime.datetime)
    assert zoned.utcoffset() == datetime.timedelta(hours=2)
    for bad in ("0d", "7", "d", "-1h", "7y", "999999999w"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_when(bad)


def test_audit_over_http_from_tilecred_serve(server: Running) -> None:
    env = cli_env(TILEDB_REST_SERVER_ADDRESS=server.url, TILEDB_REST_TOKEN=server.token)
    created = run(["create", "r", "--provider", "aws", "--kind", "role", "--role-arn", ARN], env)
    listed = run(["audit", "--credential", "r", "--json"], env)
    assert created.code == 0, created.err
    assert listed.code == 0, listed.err
    records = [json.loads(line) for line in listed.out.splitlines()]
    assert [(r["action"], r["outcome"], r["credential"]) for r in records] == [
        ("create", "ok", "r")
    ]
    assert records[0]["actor"].startswith("token:tok_")
    assert records[0]["request_id"]
