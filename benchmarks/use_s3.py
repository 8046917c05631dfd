"""From a credential's name to a first S3 request, against the floor.

Run with ``python -m benchmarks.use_s3 [rounds]`` in an environment with
boto3 and moto (``nox -s services`` makes one: ``.nox/services/bin/python``).
moto's server runs as a child process on 127.0.0.1 with authentication on;
every figure is the median wall time, in a warm process (imports done and one
untimed round first), of:

- ``floor``: ``boto3.Session`` on the key, given directly, ``client("s3")``,
  ``get_object``;
- ``access``: ``CredentialAccess`` on the credential, ``boto3_session()``,
  ``client("s3")``, ``get_object``;
- ``use_credential``: ``Client.use_credential`` on the local store (the gate,
  decryption, the audit record), then as ``access``;

and of each path without the request ("client only"), which leaves out the
server. Each round makes a new session, as a task that starts would, and runs
every path once, in a rotating order.
"""

from __future__ import annotations

import datetime
import functools
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["run"]

_BUCKET = "bench"
_KEY = "seed.txt"
_START_TIMEOUT = 60.0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _start_moto(port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3", "AWS_EC2_METADATA_DISABLED": "true"}
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2).close()
            return process
        except urllib.error.HTTPError:
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("moto did not start")


def _bootstrap(url: str) -> tuple[str, str]:
    """An IAM user with a key (the three unauthenticated calls), and a bucket."""
    import boto3

    iam = boto3.client(
        "iam", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="AKIABOOTSTRAP0000000", aws_secret_access_key="bootstrap",
    )  # fmt: skip
    iam.create_user(UserName="bench")
    policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
    iam.put_user_policy(UserName="bench", PolicyName="all", PolicyDocument=policy)
    key = iam.create_access_key(UserName="bench")["AccessKey"]
    s3 = boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
    )  # fmt: skip
    s3.create_bucket(Bucket=_BUCKET)
    s3.put_object(Bucket=_BUCKET, Key=_KEY, Body=b"x")
    return key["AccessKeyId"], key["SecretAccessKey"]


def _medians_ms(
    rounds: int, paths: dict[str, Callable[[], object]]
) -> dict[str, tuple[float, float]]:
    """Median wall and CPU milliseconds of each path.

    Each path runs once per round, in an order that rotates, so that drift in
    the server or the machine falls on every path alike. CPU time is this
    process's own (the server's is not in it): on a busy machine it is the
    steadier measure of what the client does.
    """
    names = list(paths)
    for name in names:
        paths[name]()  # warm: this path's modules and data loaded once, untimed
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            # A boto3 client is a web of cycles: collected now, and not in
            # the middle of whichever path runs next (as timeit does).
            gc.collect()
            gc.disable()
            try:
                start, start_cpu = time.perf_counter(), time.process_time()
                paths[name]()
                cpu[name].append(time.process_time() - start_cpu)
                wall[name].append(time.perf_counter() - start)
            finally:
                gc.enable()
    return {
        name: (statistics.median(wall[name]) * 1000, statistics.median(cpu[name]) * 1000)
        for name in names
    }


def _paths(url: str, key_id: str, secret: str, home: Path) -> dict[str, Callable[[], object]]:
    import boto3

    import tilecred
    from tilecred._access import CredentialAccess

    aws = {"access_key_id": key_id, "secret_access_key": secret, "endpoint": url,
           "use_path_style": True}  # fmt: skip
    client = tilecred.Client(home=home)
    client.create_credential("lake", "AWS", allowed_in_tasks=True, credential={"aws": aws})
    stored = client.use_credential("lake").credential

    def floor(request: bool) -> Any:
        session = boto3.Session(
            aws_access_key_id=key_id, aws_secret_access_key=secret, region_name="us-east-1"
        )
        s3 = session.client("s3", endpoint_url=url)
        return s3.get_object(Bucket=_BUCKET, Key=_KEY)["Body"].read() if request else s3

    def access(request: bool) -> Any:
        with CredentialAccess(stored) as used:
            s3 = used.boto3_session().client("s3")
            return s3.get_object(Bucket=_BUCKET, Key=_KEY)["Body"].read() if request else s3

    def use_credential(request: bool) -> Any:
        with client.use_credential("lake") as used:
            s3 = used.boto3_session().client("s3")
            return s3.get_object(Bucket=_BUCKET, Key=_KEY)["Body"].read() if request else s3

    paths = {"floor": floor, "access": access, "use_credential": use_credential}
    timed: dict[str, Callable[[], object]] = {}
    for name, path in paths.items():
        timed[name] = functools.partial(path, True)
        timed[f"{name} (client only)"] = functools.partial(path, False)
    return timed


def run(rounds: int = 30) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) milliseconds per path."""
    with tempfile.TemporaryDirectory(prefix="tilecred-bench-") as work:
        os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
        port = _free_port()
        process = _start_moto(port, Path(work) / "moto.log")
        try:
            url = f"http://127.0.0.1:{port}"
            key_id, secret = _bootstrap(url)
            paths = _paths(url, key_id, secret, Path(work) / "home")
            results = _medians_ms(rounds, paths)
        finally:
            process.terminate()
            process.wait(timeout=10)
    return results


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    load = os.getloadavg()[0]
    results = run(rounds)
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"use_s3: to a first S3 request, warm process, medians of {rounds} rounds; {when}")
    print(f"1-minute load average {load:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"{'path':<30} {'wall ms':>9} {'÷ floor':>8} {'CPU ms':>9} {'÷ floor':>8}")
    for name, (wall, cpu) in results.items():
        floor = "floor (client only)" if name.endswith("(client only)") else "floor"
        floor_wall, floor_cpu = results[floor]
        print(f"{name:<30} {wall:9.1f} {wall / floor_wall:8.2f} {cpu:9.1f} {cpu / floor_cpu:8.2f}")


if __name__ == "__main__":
    main()
