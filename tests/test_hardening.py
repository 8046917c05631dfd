"""``serve`` and ``exec`` leave no core file and cannot be dumped, in real started processes.

Each process starts with core files allowed (a 1 MiB limit), as a user's shell
may allow them; the command must take that away itself. Whether a process is
dumpable can only be asked by the process itself (``PR_GET_DUMPABLE``), so a
small driver runs the real command in its own process and asks from there.
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest

import tilecred
from tests.conftest import CANARY_SECRET
from tests.test_cli_support import cli_env

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux prctl")

ALLOWED_CORE = 1 << 20

# Reports {"dumpable": PR_GET_DUMPABLE, "core": RLIMIT_CORE} of its own process.
REPORT = """
import ctypes, json, resource
def report():
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    core = list(resource.getrlimit(resource.RLIMIT_CORE))
    return {"dumpable": prctl(3, 0, 0, 0, 0), "core": core}
"""

# Runs `tilecred serve`; a second thread reports once start-up has hardened the
# process (or after 20 s without that), then ends the process.
SERVE = (
    REPORT
    + """
import os, sys, threading, time
from tilecred._cli._main import main
def watch():
    deadline = time.monotonic() + 20
    while report()["dumpable"] == 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    sys.stderr.write("REPORT " + json.dumps(report()) + "\\n")
    sys.stderr.flush()
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
main(["serve", "--home", sys.argv[1], "--port", "0", "--threads", "2"])
"""
)

# Runs `tilecred exec` with a child that reports its own core limit and tilecred's
# (from /proc), then reports this process's state once exec has returned.
EXEC = (
    REPORT
    + """
import sys
from tilecred._cli._main import main
child = (
    "import os, resource; "
    "limits = open(f'/proc/{os.getppid()}/limits').read(); "
    "print('CHILD', *resource.getrlimit(resource.RLIMIT_CORE), "
    "*[l.split()[4:6] for l in limits.splitlines() if l.startswith('Max core file size')][0])"
)
status = main(["exec", "lake", "--", sys.executable, "-c", child])
print("REPORT " + json.dumps(report()), "status", status)
"""
)


def _allow_cores() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (ALLOWED_CORE, resource.RLIM_INFINITY))


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL, env=cli_env(), preexec_fn=_allow_cores,
    )  # fmt: skip


def _report(text: str) -> dict[str, object]:
    found = re.search(r"^REPORT (\{.*\})", text, re.MULTILINE)
    assert found, text
    loaded: dict[str, object] = json.loads(found.group(1))
    return loaded


def test_the_driver_starts_with_core_files_allowed_and_dumpable() -> None:
    done = _run(REPORT + "print('REPORT ' + json.dumps(report()))")
    assert _report(done.stdout) == {"dumpable": 1, "core": [ALLOWED_CORE, resource.RLIM_INFINITY]}


def test_serve_leaves_no_core_file_and_cannot_be_dumped(tmp_path: Path) -> None:
    done = _run(SERVE, str(tmp_path / "home"))
    assert _report(done.stderr) == {"dumpable": 0, "core": [0, 0]}
    assert done.returncode == 0, done.stderr


def test_exec_leaves_no_core_file_and_cannot_be_dumped() -> None:
    aws = {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": CANARY_SECRET}}
    tilecred.create_credential("lake", "AWS", allowed_in_tasks=True, credential=aws)
    done = _run(EXEC)
    assert done.returncode == 0, done.stderr
    # The command holds the secrets too: it inherits the limit (it is dumpable
    # again, being a new program, but writes no core file).
    assert done.stdout.splitlines()[0] == "CHILD 0 0 0 0"  # its own limit, and tilecred's
    assert _report(done.stdout) == {"dumpable": 0, "core": [0, 0]}
    assert done.stdout.rstrip().endswith("status 0")
