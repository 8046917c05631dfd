"""Server CPU time per request: what ``tilecred serve`` spends on one get.

``python -m benchmarks.server_cpu [SECONDS]`` starts ``tilecred serve`` and
the load generator of :mod:`benchmarks.server_load` (8 threads, kept-alive
connections, gets of 200 credentials) and reports requests per second and
the server process's CPU time (user + system, from ``/proc``, Linux only)
divided by the requests it answered. On a machine shared with other work,
requests per second move with the load and with which run goes first;
CPU time per request moves much less, so it is the figure to compare two
versions with (run them alternately, each with its own ``PYTHONPATH``).
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from pathlib import Path

from .server_load import SEED, SERVER_THREADS, measure, seed, start_server

__all__ = ["run"]


def _cpu_seconds(pid: int) -> float:
    # Fields 14 and 15 of /proc/PID/stat, counted after the command's ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(seconds: float) -> dict[str, float]:
    """Gets per second and server CPU microseconds per get, over ``seconds``."""
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, token = start_server(Path(tmp) / "home", "--threads", str(SERVER_THREADS))
        try:
            workspace = token.split("-")[1]
            seed(port, token, workspace)
            gets = [f"/v4/credentials/{workspace}/cred-{index:04d}" for index in range(SEED)]
            measure(port, token, gets, min(1.0, seconds))  # warm-up, not counted
            before = _cpu_seconds(proc.pid)
            total, elapsed = measure(port, token, gets, seconds)
            used = _cpu_seconds(proc.pid) - before
            return {"get_per_second": total / elapsed, "server_cpu_us_per_get": used * 1e6 / total}
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


if __name__ == "__main__":
    result = run(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
    for key, value in result.items():
        print(f"  {key}: {value:,.0f}")
