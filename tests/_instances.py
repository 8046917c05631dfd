"""``tilecred serve`` instances on one PostgreSQL database, started and stopped by the tests.

Each instance is a child process on 127.0.0.1 and a free port (``--port 0``;
its start-up line says which), with the master key in its environment and
its output in files (an access log line per request would fill a pipe).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tilecred._local._keys import encode_key

__all__ = ["Instance", "admin_token", "launch", "running_instances", "wait_serving"]

_START_SECONDS = 60.0
_SERVING = re.compile(r"^tilecred serving .* on http://127\.0\.0\.1:(\d+) ", re.MULTILINE)
_TOKEN = re.compile(r"^  (tc-ws_\S+)$", re.MULTILINE)


@dataclass
class Instance:
    """One ``tilecred serve``: its process, its port once serving, its output files."""

    process: subprocess.Popen[bytes]
    out: Path
    err: Path
    port: int = 0
    stdout: str = field(default="")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: no goodbye, requests in flight cut off."""
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it has not gone within 30 seconds."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def launch(database: str, key: bytes, directory: Path, name: str, *, threads: int = 4) -> Instance:
    """Start ``tilecred serve`` on ``database`` (``TILECRED_DATABASE_URL``) without waiting
    for it (see :func:`wait_serving`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TILEDB_", "TILECRED_"))}
    env["TILECRED_MASTER_KEY"] = encode_key(key)
    # The URL carries the test cluster's password: never on a command line.
    env["TILECRED_DATABASE_URL"] = database
    out, err = directory / f"{name}.out", directory / f"{name}.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "tilecred._server", "serve", "--port", "0",
             "--threads", str(threads)],
            stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, env=env,
        )  # fmt: skip
    return Instance(process, out, err)


def wait_serving(instance: Instance) -> Instance:
    """Wait for the start-up line; the instance with its port and what it printed."""
    deadline = time.monotonic() + _START_SECONDS
    while time.monotonic() < deadline:
        text = instance.out.read_text(errors="replace")
        found = _SERVING.search(text)
        if found:
            instance.port, instance.stdout = int(found.group(1)), text
            return instance
        if instance.process.poll() is not None:
            raise RuntimeError(f"tilecred serve exited: {instance.err.read_text()[-2000:]}")
        time.sleep(0.05)
    instance.kill()
    raise RuntimeError(f"tilecred serve did not start within {_START_SECONDS:.0f} s")


def admin_token(instance: Instance) -> str | None:
    """The admin token the instance printed on the database's first start, if it did."""
    found = _TOKEN.search(instance.stdout)
    return None if found is None else found.group(1)


@contextlib.contextmanager
def running_instances(
    database: str, key: bytes, directory: Path, count: int = 2
) -> Iterator[list[Instance]]:
    """``count`` instances on ``database``, started one after another; stopped after."""
    started: list[Instance] = []
    try:
        for number in range(count):
            started.append(wait_serving(launch(database, key, directory, f"serve-{number}")))
        yield started
    finally:
        for instance in started:
            instance.stop()
