"""Running the real ``tilecred`` command: in this process, in a subprocess, on a terminal.

No tests here; the ``test_cli_*`` modules share these helpers. A run calls
``tilecred._cli.main`` in this process, with its own environment, standard
streams and arguments, unless it asks for a process (``process=True``, or a
``command``): tests of the process boundary (arguments as ``ps`` shows them,
exit statuses, signals, the installed console script, a terminal) start one
the way a user does. Either way the environment points at a real server.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import select
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer

import tilecred._api
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


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    """``os.environ`` is ``env`` inside, and as it was after."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _in_process(args: Sequence[str], env: dict[str, str], stdin: str | None) -> Result:
    from tilecred._cli import main

    out, err = io.StringIO(), io.StringIO()
    # A byte stream underneath, as a pipe has: --from-json - reads sys.stdin.buffer.
    given = io.TextIOWrapper(io.BytesIO((stdin or "").encode()), encoding="utf-8")
    logger = logging.getLogger("tilecred")
    level = logger.level
    try:
        with (
            _environment(env),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            contextlib.ExitStack() as stack,
        ):
            saved_stdin, sys.stdin = sys.stdin, given
            stack.callback(setattr, sys, "stdin", saved_stdin)
            code = main(list(args))
    finally:
        logger.setLevel(level)  # --debug turns it up
        client, tilecred._api._default = tilecred._api._default, None
        if client is not None:
            client.close()
    return Result(code, out.getvalue(), err.getvalue())


def run(
    args: Sequence[str],
    env: dict[str, str],
    *,
    stdin: str | None = None,
    command: Sequence[str] | None = None,
    process: bool = False,
) -> Result:
    """Run ``tilecred`` to the end; stdin is ``stdin`` (a pipe in a process), else empty.

    In this process unless ``process`` or ``command`` (``CLI`` or ``SCRIPT``) is given.
    """
    if command is None and not process:
        return _in_process(args, env, stdin)
    proc = subprocess.run(
        [*(command or CLI), *args],
        input=None if stdin is None else stdin.encode(),
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        env=env,
        timeout=60,
    )
    return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def run_all(runs: Sequence[Sequence[str]], env: dict[str, str]) -> list[Result]:
    """Run several independent commands, in this process, one after another."""
    return [run(args, env) for args in runs]


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
