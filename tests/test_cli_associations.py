"""``tilecred associate``, ``dissociate``, ``associations`` and ``exec --url`` on a
real local store."""

from __future__ import annotations

import json
import subprocess
import sys

import tilecred
from tests.conftest import CANARY_SECRET
from tests.test_cli_support import SCRIPT, cli_env, run

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
# The child prints the key id it was given and whether the secret came too.
CHILD = (
    "import os; print(os.environ['AWS_ACCESS_KEY_ID'], "
    "os.environ['AWS_SECRET_ACCESS_KEY'] == os.environ['EXPECTED'])"
)


def _store(*names: str) -> None:
    secret = {"aws": {"access_key_id": KEY_ID, "secret_access_key": CANARY_SECRET}}
    for name in names:
        tilecred.create_credential(name, "AWS", allowed_in_tasks=True, credential=secret)


def test_associate_list_and_dissociate_print_what_they_did() -> None:
    _store("lake")
    env = cli_env()
    made = run(["associate", "lake", "s3://lake/raw/", "--default"], env)
    assert (made.code, made.out, made.err) == (
        0, "associated credential 'lake' with 's3://lake/raw/' as its default\n", "",
    )  # fmt: skip
    assert run(["associate", "lake", "dag:etl"], env).code == 0
    table = run(["associations"], env)
    lines = table.out.splitlines()
    assert lines[0].split() == ["TARGET", "NAME", "DEFAULT", "CREATED"]
    assert [line.split()[:3] for line in lines[1:]] == [
        ["dag:etl", "lake", "no"], ["s3://lake/raw/", "lake", "yes"],
    ]  # fmt: skip
    listed = run(["associations", "lake", "--target", "dag:etl", "--json"], env)
    (row,) = [json.loads(line) for line in listed.out.splitlines()]
    assert (row["name"], row["target"], row["default"]) == ("lake", "dag:etl", False)
    gone = run(["dissociate", "lake", "dag:etl"], env)
    assert gone.out == "dissociated credential 'lake' from 'dag:etl'\n"
    again = run(["dissociate", "lake", "dag:etl"], env)
    assert (again.code, again.err) == (
        1, "error: could not dissociate credential 'lake': 404 Not Found: "
        "credential 'lake' is not associated with 'dag:etl'\n",
    )  # fmt: skip
    bad = run(["associate", "lake", "://x"], env)
    assert (bad.code, bad.err) == (
        2,
        "error: target '://x' has no scheme: a URL starts with one, e.g. s3://bucket/\n",
    )
    assert CANARY_SECRET not in table.both + listed.both + made.both


def test_exec_by_url_runs_with_the_credential_the_longest_prefix_chooses() -> None:
    _store("lake", "raw")
    tilecred.associate_credential("lake", "s3://lake/")
    tilecred.associate_credential("raw", "s3://lake/raw/")
    done = subprocess.run(
        [*SCRIPT, "exec", "--url", "s3://lake/raw/x.parquet", "--", sys.executable, "-c", CHILD],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env=cli_env(None, EXPECTED=CANARY_SECRET),
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{KEY_ID} True\n", "")
    used = tilecred.read_audit()[-1]
    assert (used.credential, used.action, used.detail) == (
        "raw", "use", "url=s3://lake/raw/x.parquet",
    )  # fmt: skip
    both = subprocess.run(
        [*SCRIPT, "exec", "lake", "--url", "s3://lake/", "--", "true"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, env=cli_env(None),
    )  # fmt: skip
    assert both.returncode == 2
    assert both.stderr.endswith(
        "error: name the credentials to use, or give --url or --target to choose one "
        "(exactly one)\n"
    )
