"""``tilecred exec`` and its key files: every signal that would end it, and SIGKILL.

A GCP credential makes ``exec`` write a key file (0600, in a directory of its
own). Whatever signal comes, the file is gone once ``exec`` has exited; after
a SIGKILL, which nothing can catch, the next ``exec`` removes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import tilecred
from tests.conftest import CANARY_SECRET
from tests.test_cli_support import SCRIPT, cli_env

PY = sys.executable

# Ends with status 100 on the signal it is given; says where its key file is.
CHILD = """
import os, signal, sys, time
signal.signal(int(sys.argv[1]), lambda *a: sys.exit(100))
print(os.getpid(), os.environ["GOOGLE_APPLICATION_CREDENTIALS"], flush=True)
time.sleep(60)
"""


@pytest.fixture
def tmpdir_env(tmp_path: Path) -> dict[str, str]:
    """The environment, with a temporary directory of the test's own."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    return cli_env(None, TMPDIR=str(temporary))


def _gcp() -> None:
    key = {"type": "service_account", "client_email": "sa@p.iam.gserviceaccount.com",
           "private_key_id": "k1", "private_key": CANARY_SECRET}  # fmt: skip
    gcp = {"account_id": key["client_email"], "key_id": "k1", "key_text": json.dumps(key)}
    tilecred.create_credential("gcs", "GCP", allowed_in_tasks=True, token={"gcp": gcp})


_ONCE_UNFORWARDED = ["SIGALRM", "SIGVTALRM", "SIGPROF", "SIGXCPU", "SIGIO", "SIGPWR", "SIGRTMIN"]


@pytest.mark.parametrize("name", _ONCE_UNFORWARDED)
def test_a_signal_that_would_end_tilecred_reaches_the_command_and_the_key_file_goes(
    name: str, tmpdir_env: dict[str, str]
) -> None:
    signum = int(getattr(signal, name))
    _gcp()
    proc = subprocess.Popen(
        [*SCRIPT, "exec", "gcs", "--", PY, "-c", CHILD, str(signum)], stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=tmpdir_env,
    )  # fmt: skip
    assert proc.stdout is not None
    child_pid, key_file = proc.stdout.readline().split()
    try:
        assert re.search(rf"/tilecred-{proc.pid}-\w+/", key_file)  # named for its process
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
        assert (proc.returncode, out, err) == (100, "", "")
        assert not Path(key_file).exists()
        assert not Path(key_file).parent.exists()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(child_pid), signal.SIGKILL)  # an orphan, before the fix


# Uses the credential, makes the key file, then ends with SIGKILL; or, given
# "wait", stays alive until its stdin closes.
KILLED = """
import os, signal, sys, tilecred
access = tilecred.use_credential("gcs")
print(access.env()["GOOGLE_APPLICATION_CREDENTIALS"], flush=True)
if sys.argv[1:] == ["wait"]:
    sys.stdin.read()
else:
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_next_exec_removes_what_a_killed_process_left_and_nothing_in_use(
    tmpdir_env: dict[str, str],
) -> None:
    _gcp()
    killed = subprocess.run(
        [PY, "-c", KILLED], capture_output=True, text=True, timeout=60, env=tmpdir_env
    )
    assert killed.returncode == -signal.SIGKILL
    left = Path(killed.stdout.strip())
    assert left.exists()  # SIGKILL: nothing could remove it
    alive = subprocess.Popen(
        [PY, "-c", KILLED, "wait"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env=tmpdir_env,
    )  # fmt: skip
    assert alive.stdout is not None
    in_use = Path(alive.stdout.readline().strip())
    unrelated = Path(tmpdir_env["TMPDIR"]) / "tilecred-notes"
    unrelated.mkdir()
    try:
        done = subprocess.run(
            [*SCRIPT, "exec", "gcs", "--", PY, "-c", "pass"], capture_output=True, text=True,
            timeout=60, stdin=subprocess.DEVNULL, env=tmpdir_env,
        )  # fmt: skip
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
        assert not left.parent.exists()
        assert in_use.exists()
        assert unrelated.exists()
    finally:
        alive.communicate("", timeout=60)
    assert not in_use.exists()  # closed by its own process on the way out
    assert sorted(p.name for p in Path(tmpdir_env["TMPDIR"]).iterdir()) == ["tilecred-notes"]
