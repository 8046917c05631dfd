"""Running the real ``tilecred`` command: in a subprocess, on pipes or on a terminal.

No tests here; the ``test_cli_*`` modules share these helpers. Every run is a
new process started the way a user starts it (``python -m tilecred`` or the
installed console script), with the environment pointing at a real server.
"""

from __future__ import annotations

import dataclasses
import os
import select
import subprocess
import sys
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer

from tests._http_helpers import base_url
from tests.conftest import CANARY_TOKEN

__all__ = [
    "CLI",
    "CREDENTIALS",
    "SCRIPT",
    "WORKSPACE",
    "Result",
    "Terminal",
    "cli_env",
    "list_json",
    "processes_with",
    "run",
    "run_all",
]

CLI = (sys.executable, "-m", "tilecred")
SCRIPT = (str(Path(sys.executable).parent / "tilecred"),)
WORKSPACE = "ws_canary"  # the workspace CANARY_TOKEN is bound to
CREDENTIALS = f"/v4/credentials/{WORKSPACE}"
# Every command this test process starts carries this in its environment, so
# processes_with() looks only at them: other test runs on the machine may use
# the same canaries on purpose.
MARKER = f"TILECRED_CLI_TEST_RUN={uuid.uuid4().hex}"


@dataclasses.dataclass(frozen=True)
class Result:
    """What one run left behind."""

    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


def cli_env(server: HTTPServer | None = None, **extra: str) -> dict[str, str]:
    """The test's clean environment, plus the server's address and the canary token."""
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    name, _, value = MARKER.partition("=")
    env[name] = value
    if server is not None:
        env["TILEDB_REST_SERVER_ADDRESS"] = base_url(server)
        env["TILEDB_REST_TOKEN"] = CANARY_TOKEN
    env.update(extra)
    return env


def run(
    args: Sequence[str],
    env: dict[str, str],
    *,
    stdin: str | None = None,
    command: Sequence[str] = CLI,
) -> Result:
    """Run ``tilecred`` to the end; stdin is a pipe with ``stdin``, else /dev/null."""
    proc = subprocess.run(
        [*command, *args],
        input=None if stdin is None else stdin.encode(),
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        env=env,
        timeout=60,
    )
    return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def run_all(runs: Sequence[Sequence[str]], env: dict[str, str]) -> list[Result]:
    """Run several independent commands side by side; results in the same order.

    Only for commands whose order does not matter: the server may see their
    requests in any order.
    """
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda args: run(args, env), runs))


def list_json(server_items: list[dict[str, Any]], page: int = 1, pages: int = 1) -> dict[str, Any]:
    """A list response body with pagination metadata."""
    return {
        "data": server_items,
        "pagination_metadata": {
            "page": page,
            "per_page": 2,
            "total_pages": pages,
            "total_items": len(server_items) if pages == 1 else 3,
        },
    }


def processes_with(text: str) -> list[int]:
    """Our commands (see MARKER) whose argument list contains ``text``, as ``ps`` shows it."""
    needle, marker = text.encode(), MARKER.encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ours = marker in (entry / "environ").read_bytes().split(b"\0")
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # gone, or not ours to read
        if ours and needle in cmdline:
            found.append(int(entry.name))
    return found


class Terminal:
    """``tilecred`` with a pseudo-terminal as its stdin, stdout and stderr.

    The child starts a new session, so it has no controlling terminal of its
    own and ``getpass`` turns echo off on stdin, the pseudo-terminal.
    """

    def __init__(self, args: Sequence[str], env: dict[str, str]) -> None:
        self._master, slave = os.openpty()
        self.proc = subprocess.Popen(
            [*CLI, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self._output = b""

    @property
    def output(self) -> str:
        """Everything the child wrote so far, newlines as ``\\n``."""
        return self._output.decode(errors="replace").replace("\r\n", "\n")

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self._master], [], [], wait)
        if not ready:
            return True
        try:
            chunk = os.read(self._master, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        self._output += chunk
        return bool(chunk)

    def expect(self, text: str) -> None:
        """Read until ``text`` has been written (a prompt, say)."""
        for _ in range(400):  # a guard against a hung test, not a timing check
            if text in self.output:
                return
            if not self._read(0.05) and text not in self.output:
                break
        raise AssertionError(f"{text!r} never appeared; output so far: {self.output!r}")

    def send(self, text: str) -> None:
        """Type ``text`` at the terminal."""
        os.write(self._master, text.encode())

    def finish(self) -> tuple[int, str]:
        """Read to the end; the exit status and all output."""
        while self._read(1.0):
            if self.proc.poll() is not None and not select.select([self._master], [], [], 0)[0]:
                break
        code = self.proc.wait(timeout=60)
        os.close(self._master)
        return code, self.output
