"""pytest fixtures for code that uses tilecred: an isolated store, and a real server.

Enable them in a ``conftest.py``::

    pytest_plugins = ["tilecred.testing"]

``tilecred_store`` gives each test an embedded store of its own (a temporary
home with its own master key), and points every tilecred call in the test,
and in the processes the test starts, at it. ``tilecred_server`` starts a
real ``tilecred serve`` on a free loopback port over a temporary store and
stops it after the test. Both work under ``pytest -n`` (pytest-xdist): every
test gets its own directory and port.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from . import _api
from ._client import Client
from ._errors import ConfigurationError, InvalidArgumentError

__all__ = ["TilecredServer", "tilecred_server", "tilecred_store"]

_START_SECONDS = 60.0
_STOP_SECONDS = 30.0
_SERVING = re.compile(r"^tilecred serving .* on http://127\.0\.0\.1:(\d+) ", re.MULTILINE)
_TOKEN = re.compile(r"^  (tc-ws_\S+)$", re.MULTILINE)
_TOKEN_ALONE = re.compile(r"^(tc-ws_\S+)$", re.MULTILINE)


def _forget_default_client() -> None:
    client, _api._default = _api._default, None
    if client is not None:
        client.close()


def _isolate(monkeypatch: pytest.MonkeyPatch, root: Path) -> Path:
    """Remove every TileDB and tilecred setting; the home and TileDB's profiles in ``root``."""
    for variable in list(os.environ):
        if variable.startswith(("TILEDB_", "TILECRED_")):
            monkeypatch.delenv(variable)
    home = root / "tilecred-home"
    monkeypatch.setenv("TILECRED_HOME", str(home))
    # An empty profile directory: a profile on the developer's machine is not read.
    monkeypatch.setenv("TILEDB_PROFILE_DIR", str(root / "tiledb-profiles"))
    return home


@pytest.fixture
def tilecred_store(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Client]:
    """An embedded store of the test's own, and a ``Client`` on it.

    Every module function (``tilecred.create_credential``, ...) and every
    ``tilecred`` command the test runs uses this store, with a master key
    made for it; nothing from the machine's TileDB or tilecred settings is
    read. Undone after the test.
    """
    home = _isolate(monkeypatch, tmp_path_factory.mktemp("tilecred-store"))
    _forget_default_client()
    client = Client(home=home)
    try:
        yield client
    finally:
        client.close()
        _forget_default_client()


def _duration(expires: datetime.timedelta | str) -> str:
    if isinstance(expires, str):
        return expires
    seconds = int(expires.total_seconds())
    if seconds <= 0:
        raise InvalidArgumentError(f"a task token must expire in the future, not in {expires}")
    return f"{seconds}s"


@dataclasses.dataclass
class TilecredServer:
    """A running ``tilecred serve``.

    Attributes:
        url: where it listens (``http://127.0.0.1:PORT``).
        admin_token: the API token with every right the server grants
            (made on the store's first start).
        home: the store's directory.
    """

    url: str
    admin_token: str = dataclasses.field(repr=False)
    home: Path
    process: subprocess.Popen[bytes] = dataclasses.field(repr=False)

    def client(self, token: str | None = None) -> Client:
        """A ``Client`` on this server (the admin token unless ``token`` is given)."""
        return Client(host=self.url, token=token or self.admin_token)

    def task_token(
        self,
        teamspace: str | None = None,
        credentials: Sequence[str] | None = None,
        expires: datetime.timedelta | str | None = None,
    ) -> str:
        """Issue a task token: it lists, gets and uses credentials, never changes one.

        Parameters:
            teamspace: only this teamspace's credentials.
            credentials: only these credentials (names, which must exist).
            expires: when it stops working: a ``timedelta`` or a duration
                such as ``"8h"``.
        """
        command = ["token", "create", "--task", "--name", "tilecred.testing"]
        if teamspace is not None:
            command += ["--teamspace", teamspace]
        for name in credentials or ():
            command += ["--credential", name]
        if expires is not None:
            command += ["--expires", _duration(expires)]
        out = _run_cli(self.home, command)
        found = _TOKEN_ALONE.search(out) or _TOKEN.search(out)
        if found is None:
            raise ConfigurationError("tilecred token create printed no token")
        return found.group(1)

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it has not gone in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=_STOP_SECONDS)


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TILEDB_", "TILECRED_"))}
    env["TILECRED_HOME"] = str(home)
    return env


def _run_cli(home: Path, arguments: list[str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tilecred", *arguments, "--home", str(home)],
        capture_output=True, text=True, env=_environment(home), timeout=_START_SECONDS,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        # Its last line is the error; the lines before it (a usage) would not fit one line.
        said = (done.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1]
        raise ConfigurationError(f"tilecred {' '.join(arguments[:2])} failed: {said}")
    return done.stdout


def _wait_serving(process: subprocess.Popen[bytes], out: Path, err: Path) -> tuple[int, str]:
    deadline = time.monotonic() + _START_SECONDS
    while time.monotonic() < deadline:
        text = out.read_text(errors="replace")
        serving = _SERVING.search(text)
        if serving is not None:
            token = _TOKEN.search(text)
            if token is None:
                raise ConfigurationError("tilecred serve printed no admin token on its first start")
            return int(serving.group(1)), token.group(1)
        if process.poll() is not None:
            raise ConfigurationError(f"tilecred serve exited: {err.read_text()[-2000:]}")
        time.sleep(0.05)
    raise ConfigurationError(f"tilecred serve did not start within {_START_SECONDS:.0f} s")


@pytest.fixture
def tilecred_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TilecredServer]:
    """A real ``tilecred serve`` on 127.0.0.1 and a free port, over a temporary store.

    Stopped, with everything it started, after the test.
    """
    directory = tmp_path_factory.mktemp("tilecred-server")
    home = directory / "home"
    out, err = directory / "serve.out", directory / "serve.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "tilecred", "serve", "--home", str(home),
             "--bind", "127.0.0.1", "--port", "0", "--threads", "4"],
            stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, env=_environment(home),
        )  # fmt: skip
    server: TilecredServer | None = None
    try:
        port, token = _wait_serving(process, out, err)
        server = TilecredServer(f"http://127.0.0.1:{port}", token, home, process)
        yield server
    finally:
        if server is not None:
            server.stop()
        elif process.poll() is None:
            process.kill()
            process.wait(timeout=_STOP_SECONDS)
