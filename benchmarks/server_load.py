"""Requests per second that ``tilecred serve`` answers: get and list.

``python -m benchmarks.server_load [SECONDS]`` starts ``tilecred serve`` in its
own process over a fresh data directory, seeds it with credentials, then runs
a load generator in another process: 8 threads, each with one kept-alive
connection, sending one kind of request as fast as the answers come back.
Every answer is checked (status 200, expected body start); a wrong answer
stops the run. Figures depend on the machine; nothing here judges them.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = ["in_child", "measure", "run", "seed", "start_server", "timed_threads"]

SEED = 200  # credentials in the store
PER_PAGE = 20  # a list request's page size
SERVER_THREADS = 8
LOAD_THREADS = 8
ROLE_ARN = "arn:aws:iam::123456789012:role/bench"


def start_server(
    home: Path, *extra: str, log: IO[str] | None = None
) -> tuple[subprocess.Popen[str], int, str]:
    """``tilecred serve`` over ``home`` on a free port: the process, the port, the admin token.

    ``log`` takes the server's log (its access log included); by default it is dropped.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TILEDB_", "TILECRED_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tilecred._server", "serve", "--home", str(home), "--port", "0",
         *extra],
        stdout=subprocess.PIPE, stderr=log or subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    token = ""
    for line in proc.stdout:
        if line.startswith("  tc-"):
            token = line.strip()
        found = re.search(r"on https?://127\.0\.0\.1:(\d+) ", line)
        if found:
            return proc, int(found.group(1)), token
    raise RuntimeError("tilecred serve did not start")


def _call(conn: http.client.HTTPConnection, method: str, path: str, token: str,
          body: bytes | None = None) -> tuple[int, bytes]:  # fmt: skip
    headers = {"X-TILEDB-REST-API-KEY": token, "Content-Type": "application/json"}
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    return resp.status, resp.read()


def seed(port: int, token: str, workspace: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for index in range(SEED):
        body = json.dumps({"name": f"cred-{index:04d}", "provider": "AWS",
                           "role": {"aws": {"role_arn": ROLE_ARN}}}).encode()  # fmt: skip
        status, data = _call(conn, "POST", f"/v4/credentials/{workspace}", token, body)
        if status != 201:
            raise RuntimeError(f"seeding failed: {status} {data[:200]!r}")
    conn.close()


def timed_threads(worker: Callable[[int, threading.Barrier], None], count: int) -> float:
    """Run ``worker(i, start)`` in ``count`` threads; seconds from ``start`` to the last one done.

    Each worker waits on ``start`` (a barrier) when it is ready, so set-up is not timed.
    """
    start = threading.Barrier(count + 1)
    threads = [threading.Thread(target=worker, args=(i, start)) for i in range(count)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def _generate(port: int, token: str, paths: list[str], seconds: float, out: object) -> None:
    """The load generator's process: threads send GETs until the time is up."""
    counts = [0] * LOAD_THREADS
    errors: list[str] = []

    def worker(index: int, start: threading.Barrier) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        start.wait()
        deadline = time.perf_counter() + seconds
        n = index
        try:
            while time.perf_counter() < deadline:
                status, data = _call(conn, "GET", paths[n % len(paths)], token)
                if status != 200 or not data.startswith(b'{"data":'):
                    errors.append(f"{status} {data[:200]!r}")
                    return
                counts[index] += 1
                n += LOAD_THREADS
        finally:
            conn.close()

    elapsed = timed_threads(worker, LOAD_THREADS)
    out.put((sum(counts), elapsed, errors))  # type: ignore[attr-defined]


def in_child(
    generate: Callable[..., None], args: tuple[Any, ...], seconds: float
) -> tuple[int, float]:
    """Run ``generate(*args, queue)`` in a process of its own: the requests answered and
    the seconds taken, as it puts them on the queue. A wrong answer it reports raises."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    proc = context.Process(target=generate, args=(*args, queue))
    proc.start()
    total, elapsed, errors = queue.get(timeout=seconds + 120)
    proc.join()
    if errors:
        raise RuntimeError(f"wrong answer under load: {errors[0]}")
    return int(total), float(elapsed)


def measure(port: int, token: str, paths: list[str], seconds: float) -> tuple[int, float]:
    """Run the load generator for ``seconds``: requests answered, seconds taken."""
    return in_child(_generate, (port, token, paths, seconds), seconds)


def _load(port: int, token: str, paths: list[str], seconds: float) -> float:
    total, elapsed = measure(port, token, paths, seconds)
    return total / elapsed


def run(seconds: float) -> dict[str, float]:
    """Requests per second for get and for list, each measured for ``seconds``.

    Returns:
        ``{"get_per_second": …, "list_per_second": …}``.
    """
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, token = start_server(Path(tmp) / "home", "--threads", str(SERVER_THREADS))
        try:
            workspace = token.split("-")[1]
            seed(port, token, workspace)
            base = f"/v4/credentials/{workspace}"
            gets = [f"{base}/cred-{index:04d}" for index in range(SEED)]
            pages = SEED // PER_PAGE
            lists = [f"{base}?page={p + 1}&per_page={PER_PAGE}" for p in range(pages)]
            # A short warm-up, not counted: connections, caches, first imports.
            _load(port, token, gets, min(1.0, seconds))
            return {
                "get_per_second": _load(port, token, gets, seconds),
                "list_per_second": _load(port, token, lists, seconds),
            }
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    result = run(seconds)
    print(f"tilecred serve, {SERVER_THREADS} server threads, {LOAD_THREADS} client threads, "
          f"{SEED} credentials, list pages of {PER_PAGE}:")  # fmt: skip
    for key, value in result.items():
        print(f"  {key}: {value:,.0f}")
