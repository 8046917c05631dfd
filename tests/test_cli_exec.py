"""``tilecred exec``: the installed console script, run as a real process.

The process boundary is what is tested: the child's environment, its exit
status and signals, and what ``ps`` (``/proc/*/cmdline``), stdout and stderr
show. Each credential lives in a real local store in the test's directory.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tilecred
from tests.conftest import CANARY_SECRET
from tests.test_cli_support import SCRIPT, cli_env, run
from tests.test_server_harness import Running
from tilecred._cli._exec import (
    child_environment,
    handed_out,
    merged_environment,
    split_command,
    withheld,
)
from tilecred._cli._failures import UsageError

pytest_plugins = ["tests.test_server_harness"]

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
STORE_LOGIN = "store-login-5e2d0b"  # a password that opens tilecred itself
PY = sys.executable


# The child: finds the secret only in its environment, counts this test run's
# processes (tilecred and itself: see MARKER) whose arguments show it, and
# exits with the status it is given.
CHILD = """
import os, pathlib, sys
secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
marker = ("TILECRED_CLI_TEST_RUN=" + os.environ["TILECRED_CLI_TEST_RUN"]).encode()
shown = 0
for entry in pathlib.Path("/proc").iterdir():
    try:
        ours = marker in (entry / "environ").read_bytes().split(b"\\0")
        shown += ours and bool(secret) and secret.encode() in (entry / "cmdline").read_bytes()
    except OSError:
        pass
print(os.environ.get("AWS_ACCESS_KEY_ID"), secret == os.environ["EXPECTED"], shown)
sys.exit(int(sys.argv[1]))
"""


def _aws(secret: str = CANARY_SECRET) -> dict[str, Any]:
    return {"aws": {"access_key_id": KEY_ID, "secret_access_key": secret}}


def _store(*names: str, allowed: bool = True) -> None:
    for name in names:
        tilecred.create_credential(name, "AWS", allowed_in_tasks=allowed, credential=_aws())


def _exec(args: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SCRIPT, "exec", *args], capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL, env=cli_env(None, EXPECTED=CANARY_SECRET, **extra),
    )  # fmt: skip


def test_the_child_gets_the_variables_and_its_status_comes_back() -> None:
    _store("lake")
    done = _exec(["lake", "--", PY, "-c", CHILD, "7"])
    assert (done.returncode, done.stdout, done.stderr) == (7, f"{KEY_ID} True 0\n", "")
    assert CANARY_SECRET not in done.stdout + done.stderr
    ok = _exec(["lake", "--", PY, "-c", CHILD, "0"])
    assert ok.returncode == 0
    records = tilecred.read_audit(credential="lake")
    assert [(r.action, r.outcome) for r in records][-2:] == [("use", "ok"), ("use", "ok")]


def test_the_child_gets_no_key_that_opens_more_than_its_credentials() -> None:
    _store("lake")
    show = (
        "import os; "
        "print(sorted(k for k in os.environ if k.startswith(('TILECRED_M', 'TILEDB_REST'))))"
    )
    done = _exec(["lake", "--", PY, "-c", show], TILEDB_REST_PASSWORD=CANARY_SECRET)
    assert (done.returncode, done.stdout, done.stderr) == (0, "[]\n", "")


# Prints every variable of the child's environment that could open tilecred,
# and whether any value at all holds one of the secrets given as arguments.
SHOW_OPENERS = """
import os, sys
names = [k for k in os.environ if k.startswith(("TILECRED_", "TILEDB_REST", "PG", "MY_"))]
print(sorted(k for k in names if k != "TILECRED_CLI_TEST_RUN"))
print(any(secret in v for v in os.environ.values() for secret in sys.argv[1:]))
"""


def test_the_child_gets_nothing_that_opens_a_local_or_postgresql_store(isolated: Path) -> None:
    _store("lake")
    home = str(isolated / "tilecred-home")
    done = subprocess.run(
        [*SCRIPT, "--home", home, "exec", "lake", "--", PY, "-c", SHOW_OPENERS, STORE_LOGIN],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env=cli_env(None, TILECRED_DATABASE_URL=f"postgresql://u:{STORE_LOGIN}@127.0.0.1:9/db",
                    PGPASSWORD=STORE_LOGIN, PGUSER="tilecred", PGHOST="127.0.0.1",
                    PGPASSFILE="/srv/pgpass", PGSERVICE="store"),
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "[]\nFalse\n"


def test_the_child_gets_no_api_token_and_other_databases_logins_pass(server: Running) -> None:
    admin = tilecred.Client(host=server.url, token=server.token)
    admin.create_credential("lake", "AWS", allowed_in_tasks=True, credential=_aws())
    admin.close()
    _record, task = server.app.tokens.create(server.workspace_id, "nightly", kind="task")
    done = subprocess.run(
        [*SCRIPT, "--token-env", "MY_TASK_TOKEN", "exec", "lake", "--", PY, "-c", SHOW_OPENERS,
         task, server.token, STORE_LOGIN],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env=cli_env(None, TILEDB_REST_SERVER_ADDRESS=server.url, MY_TASK_TOKEN=task,
                    TILEDB_REST_TOKEN=server.token, TILEDB_REST_PASSWORD=STORE_LOGIN,
                    PGHOST="warehouse", PGUSER="analyst"),
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    # No PostgreSQL store here: PG* is some other database's login, the child's to use.
    assert done.stdout == "['PGHOST', 'PGUSER', 'TILEDB_REST_SERVER_ADDRESS']\nFalse\n"


def test_a_variable_a_credential_sets_passes_even_if_tilecred_withholds_its_name() -> None:
    environ = {"TILECRED_DATABASE_URL": "postgresql://store", "PGPASSWORD": "store's",
               "PGHOST": "store", "MY_TOKEN": "t", "TILECRED_HOME": "/h",
               "PATH": "/bin"}  # fmt: skip
    assert withheld(environ, "MY_TOKEN") == {
        "TILECRED_DATABASE_URL", "PGPASSWORD", "PGHOST", "MY_TOKEN", "TILECRED_HOME"
    }  # fmt: skip
    assert child_environment(environ, {"PGPASSWORD": "the login's"}, "MY_TOKEN") == {
        "PATH": "/bin", "PGPASSWORD": "the login's"
    }  # fmt: skip


def test_a_signal_that_ends_the_child_is_128_plus_its_number() -> None:
    _store("lake")
    done = _exec(
        ["lake", "--", PY, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"]
    )
    assert (done.returncode, done.stdout, done.stderr) == (128 + signal.SIGTERM, "", "")


def test_two_credentials_setting_one_variable_are_refused_before_the_start(
    tmp_path: Path,
) -> None:
    _store("lake", "backup")
    marker = tmp_path / "started"
    done = _exec(["lake", "backup", "--", PY, "-c", f"open({str(marker)!r}, 'w')"])
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.endswith(
        "tilecred exec: error: credentials 'lake' and 'backup' both set AWS_ACCESS_KEY_ID: "
        "run them in separate commands (nothing was started)\n"
    )
    assert not marker.exists()
    assert CANARY_SECRET not in done.stderr


def test_a_credential_not_allowed_in_tasks_starts_nothing(tmp_path: Path) -> None:
    _store("lake", allowed=False)
    marker = tmp_path / "started"
    done = _exec(["lake", "--", PY, "-c", f"open({str(marker)!r}, 'w')"])
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith(
        "error: could not use credential 'lake': 403 Forbidden: credential 'lake' is not "
        "allowed in tasks"
    )
    assert not marker.exists()
    assert [(r.action, r.outcome) for r in tilecred.read_audit(credential="lake")][-1] == (
        "use", "denied"
    )  # fmt: skip


def test_a_signal_to_tilecred_is_passed_on_to_the_child() -> None:
    _store("lake")
    child = ("import signal, sys, time\n"
             "signal.signal(signal.SIGINT, lambda *a: sys.exit(42))\n"
             "print('ready', flush=True)\n"
             "time.sleep(60)\n")  # fmt: skip
    proc = subprocess.Popen(
        [*SCRIPT, "exec", "lake", "--", PY, "-c", child], stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(),
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGINT)  # to tilecred only, as `kill -INT` would
    out, err = proc.communicate(timeout=60)
    assert (proc.returncode, out, err) == (42, "", "")


def test_a_key_file_is_private_and_gone_once_the_child_exits(tmp_path: Path) -> None:
    key = {"type": "service_account", "client_email": "sa@p.iam.gserviceaccount.com",
           "private_key_id": "k1", "private_key": CANARY_SECRET}  # fmt: skip
    gcp = {"account_id": key["client_email"], "key_id": "k1", "key_text": json.dumps(key)}
    tilecred.create_credential("gcs", "GCP", allowed_in_tasks=True, token={"gcp": gcp})
    show = ("import os, stat; p = os.environ['GOOGLE_APPLICATION_CREDENTIALS']; "
            "print(p, oct(stat.S_IMODE(os.stat(p).st_mode)))")  # fmt: skip
    done = _exec(["gcs", "--", PY, "-c", show])
    assert done.returncode == 0, done.stderr
    path, mode = done.stdout.split()
    assert mode == "0o600"
    assert not Path(path).exists()
    assert CANARY_SECRET not in done.stdout + done.stderr


def test_usage_mistakes_exit_2_and_start_nothing(isolated: Path) -> None:
    env = cli_env()
    missing = run(["exec", "lake"], env)
    empty = run(["exec", "lake", "--"], env)
    twice = run(["exec", "lake", "lake", "--", "true"], env)
    assert [(r.code, r.err.splitlines()[-1]) for r in (missing, empty, twice)] == [
        (2, "tilecred exec: error: give the command to run after --: "
            "tilecred exec NAME -- COMMAND [ARG…]"),
        (2, "tilecred exec: error: give the command to run after --: "
            "tilecred exec NAME -- COMMAND [ARG…]"),
        (2, "tilecred exec: error: credential 'lake' is named twice"),
    ]  # fmt: skip
    assert not (isolated / "tilecred-home").exists()


def test_a_command_that_does_not_exist_is_127() -> None:
    _store("lake")
    done = _exec(["lake", "--", "no-such-command-tilecred-test"])
    assert (done.returncode, done.stdout) == (127, "")
    assert done.stderr == "tilecred exec: no-such-command-tilecred-test: command not found\n"


def test_the_command_line_is_split_at_the_first_double_dash() -> None:
    assert split_command(["exec", "a", "--", "cmd", "--", "x"]) == (
        ["exec", "a"], ["cmd", "--", "x"]
    )  # fmt: skip
    assert split_command(["exec", "a"]) == (["exec", "a"], None)
    assert merged_environment(["a", "b"], [{"X": "1"}, {"Y": "2"}]) == {"X": "1", "Y": "2"}
    with pytest.raises(UsageError) as clash:
        merged_environment(["a", "b"], [{"X": CANARY_SECRET}, {"X": "2"}])
    assert CANARY_SECRET not in clash.value.message


def test_exec_with_a_task_token_against_tilecred_serve(server: Running) -> None:
    admin = tilecred.Client(host=server.url, token=server.token)
    admin.create_credential("lake", "AWS", allowed_in_tasks=True, credential=_aws())
    _record, task = server.app.tokens.create(server.workspace_id, "nightly", kind="task")
    done = subprocess.run(
        [*SCRIPT, "exec", "lake", "--", PY, "-c", CHILD, "3"], capture_output=True, text=True,
        timeout=60, stdin=subprocess.DEVNULL,
        env=cli_env(None, EXPECTED=CANARY_SECRET, TILEDB_REST_SERVER_ADDRESS=server.url,
                    TILEDB_REST_TOKEN=task),
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (3, f"{KEY_ID} True 0\n", "")
    used = [r for r in admin.audit(credential="lake") if r.action == "use"]
    admin.close()
    assert [(r.outcome, r.actor.endswith("(nightly)")) for r in used] == [("ok", True)]


def test_what_exec_masks_is_each_secret_it_handed_out_as_output_would_show_it() -> None:
    key = {"private_key": "-----BEGIN KEY-----\nabc\n", "private_key_id": "k1-long-id",
           "client_email": "sa@p.example"}  # fmt: skip
    added = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": "é" * 5,
             "AWS_SESSION_TOKEN": "tok/123", "AZURE_STORAGE_KEY": "short",
             "KEY_TEXT": json.dumps(key)}  # fmt: skip
    # Not the key id (an id), nor values under 6 characters, whatever their bytes.
    assert handed_out([], added) == {
        b"tok/123",
        json.dumps(key).encode(), json.dumps(json.dumps(key))[1:-1].encode(),
        b"-----BEGIN KEY-----\nabc\n", b"-----BEGIN KEY-----\\nabc\\n",
    }  # fmt: skip
