"""Real services for the access tests: moto (S3, STS, IAM) and Azurite.

Each runs as a child process on 127.0.0.1 and a free port, and is stopped
by its pid. A service that cannot run here skips its tests, except under
``CI=true``, where it fails them: CI installs everything they need.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests._http_helpers import free_port

__all__ = [
    "AZURITE_VERSION",
    "Service",
    "azurite_command",
    "free_port",
    "isolate_aws",
    "moto_command",
    "start",
    "tiledb_round_trip",
    "tiledb_without_profile",
    "unavailable",
]

AZURITE_VERSION = "3.37.0"
REPO = Path(__file__).resolve().parent.parent
# Where .ci/run (or the first test run) installs Azurite; ignored by git.
AZURITE_DIR = REPO / ".cache" / f"azurite-{AZURITE_VERSION}"
_START_TIMEOUT = 60.0


def unavailable(why: str) -> None:
    """Skip the test, or fail it under CI, where every service must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why} (CI must run the real-service tests)")
    pytest.skip(why)


def isolate_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS configuration from this machine, and no AWS call past 127.0.0.1.

    Without credentials botocore refuses to sign, so nothing is sent; STS,
    the one service a role reaches by default, points at a closed port.
    """
    for variable in list(os.environ):
        if variable.startswith("AWS_"):
            monkeypatch.delenv(variable)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@dataclass
class Service:
    """A running service: its base URL and its process."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered: up
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start within {_START_TIMEOUT:.0f} s")


@contextmanager
def start(
    argv: list[str], port: int, probe: str, log: Path, env: dict[str, str] | None = None
) -> Iterator[Service]:
    """Run ``argv`` until the block ends; ``probe`` is the path that says it is up."""
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
    try:
        _wait_ready(url + probe, process, log)
        yield Service(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def moto_command(port: int) -> list[str]:
    """moto's server, from the Python running the tests."""
    return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


def azurite_command(location: Path, port: int) -> list[str] | None:
    """Azurite's blob service, installed under .cache when npm can; None when not."""
    binary = AZURITE_DIR / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists() and shutil.which("npm") is not None:
        AZURITE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(AZURITE_DIR),
             f"azurite@{AZURITE_VERSION}"],
            check=False, capture_output=True, timeout=600,
        )  # fmt: skip
    if not binary.exists() or shutil.which("node") is None:
        return None
    return [
        str(binary), "--blobHost", "127.0.0.1", "--blobPort", str(port),
        "--location", str(location), "--disableTelemetry", "--skipApiVersionCheck",
        "--loose", "--silent",
    ]  # fmt: skip


def tiledb_without_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A TileDB profile used by nothing, for TileDB-Py to load.

    TileDB-Py loads the profile TILEDB_PROFILE_DIR names when it makes a
    context, and fails when there is none; this one sends TileDB's REST
    client (unused) to a closed port. tilecred reads the same file, so a test
    that calls this must not use a tilecred backend after it.
    """
    profiles = tmp_path / "tiledb-only-profiles"
    profiles.mkdir()
    (profiles / "profiles.json").write_text(
        json.dumps({"default": {"rest.server_address": "http://127.0.0.1:9"}, "version": 1})
    )
    monkeypatch.setenv("TILEDB_PROFILE_DIR", str(profiles))


def tiledb_round_trip(config: dict[str, str], uri: str, values: list[int]) -> list[int]:
    """Create a small dense array at ``uri`` with ``config``, write ``values``, read them."""
    tiledb: Any = pytest.importorskip("tiledb")
    np: Any = pytest.importorskip("numpy")
    ctx = tiledb.Ctx(tiledb.Config(config))
    dim = tiledb.Dim(name="i", domain=(0, len(values) - 1), tile=len(values), dtype=np.int32)
    schema = tiledb.ArraySchema(
        domain=tiledb.Domain(dim), attrs=[tiledb.Attr(name="v", dtype=np.int64)], ctx=ctx
    )
    tiledb.Array.create(uri, schema, ctx=ctx)
    with tiledb.open(uri, "w", ctx=ctx) as array:
        array[:] = np.array(values, dtype=np.int64)
    with tiledb.open(uri, "r", ctx=ctx) as array:
        read: list[int] = array[:]["v"].tolist()
    return read
