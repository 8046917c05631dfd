"""What masking costs ``tilecred exec``'s output: 100 MB through it, against the command alone.

``python -m benchmarks.exec_output [--mb 100] [--rounds 5]`` makes a throwaway
store with one AWS key and runs, in interleaved rounds, a writer that sends
``--mb`` megabytes of text lines to its stdout (one line in 1,000 holds the
secret) in 64 KiB writes:

- ``alone``: the writer by itself (the floor);
- ``no-masking``: through ``tilecred exec --no-masking`` (stdout passed as it is);
- ``masked``: through ``tilecred exec`` (piped through the masker).

The benchmark reads the output from a pipe and checks its length and, masked,
that the secret never appears. It prints median wall and CPU seconds (CPU:
the process and every child it waited for, which holds up on a busy machine
where wall time does not). ``start`` is ``tilecred exec -- python -c pass``,
the fixed cost of starting; the ratios take it off and compare what is left
to ``alone``; ``own cpu s`` is the CPU time tilecred itself spent on the
output (its start and the writer's time taken off).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tilecred

__all__ = ["measure"]

_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
_KEY = {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": _SECRET}}

# Writes argv[1] MB: 64 KiB blocks of 80-byte lines, one line in 1,000 ending
# with the secret from its environment.
_WRITER = """
import os, sys
secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "none").encode()
line = b"x" * 79 + b"\\n"
block = bytearray()
n = 0
while len(block) < 65536:
    n += 1
    block += (b"key " + secret + b"\\n") if n % 1000 == 0 else line
block = bytes(block[:65536])
total = int(float(sys.argv[1]) * 1_000_000)
sent = 0
while sent < total:
    sent += os.write(1, block[: min(len(block), total - sent)])
"""


def _run(command: list[str], env: dict[str, str], expected: int, masked: bool) -> list[float]:
    """Wall seconds and CPU seconds (the process and every child it waited for)."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    received = 0
    tail = b""
    secret = _SECRET.encode()
    while chunk := os.read(proc.stdout.fileno(), 1 << 20):
        received += len(chunk)
        if masked and secret in tail + chunk:
            raise AssertionError("the secret came through masking")
        tail = chunk[-len(secret) :]
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 or (expected and not masked and received != expected):
        raise AssertionError(f"{command[:3]}: status {status}, {received} of {expected} bytes")
    return [elapsed, usage.ru_utime + usage.ru_stime]


def measure(megabytes: float, rounds: int) -> dict[str, dict[str, float]]:
    """Per way: median wall and CPU seconds, and ratios to ``alone``."""
    with tempfile.TemporaryDirectory(prefix="tilecred-bench-exec-") as scratch:
        home = Path(scratch) / "home"
        with tilecred.Client(home=home) as client:
            client.create_credential("lake", "AWS", credential=_KEY, allowed_in_tasks=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TILEDB_", "TILECRED_"))}
        env["TILECRED_HOME"] = str(home)
        tilecred_exec = [str(Path(sys.executable).parent / "tilecred"), "exec", "lake"]
        writer = [sys.executable, "-c", _WRITER, str(megabytes)]
        size = int(megabytes * 1_000_000)
        ways = {
            "alone": (writer, size, False),
            "no-masking": ([*tilecred_exec, "--no-masking", "--", *writer], size, False),
            "masked": ([*tilecred_exec, "--", *writer], size, True),
            "start": ([*tilecred_exec, "--", sys.executable, "-c", "pass"], 0, False),
        }
        alone_env = env | {"AWS_SECRET_ACCESS_KEY": _SECRET}
        samples: dict[str, list[list[float]]] = {way: [] for way in ways}
        for _ in range(rounds):
            for way, (command, expected, masked) in ways.items():
                run_env = alone_env if way == "alone" else env
                samples[way].append(_run(command, run_env, expected, masked))
    median = {
        way: [statistics.median(s[i] for s in runs) for i in (0, 1)]
        for way, runs in samples.items()
    }
    wall_floor, cpu_floor = median["alone"]
    result: dict[str, dict[str, float]] = {}
    for way, (wall, cpu) in median.items():
        result[way] = {"wall": wall, "cpu": cpu}
        if way in ("no-masking", "masked"):
            # What the output itself costs: tilecred's start taken off.
            start_wall, start_cpu = median["start"]
            result[way]["wall_ratio"] = (wall - start_wall) / wall_floor
            result[way]["cpu_ratio"] = (cpu - start_cpu) / cpu_floor
            spent = cpu - start_cpu - cpu_floor  # tilecred's own CPU on the output
            result[way]["net_cpu"] = spent
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.exec_output", description=__doc__)
    parser.add_argument("--mb", type=float, default=100.0, help="megabytes of output (100)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (5)")
    args = parser.parse_args(argv)
    result = measure(args.mb, max(1, args.rounds))
    print(f"{args.mb:g} MB of output, median of {args.rounds} rounds")
    print(f"{'way':<11} {'wall s':>7} {'cpu s':>7} {'wall x':>7} {'cpu x':>6} {'own cpu s':>9}")
    for way, row in result.items():
        line = f"{way:<11} {row['wall']:7.3f} {row['cpu']:7.3f}"
        if "cpu_ratio" in row:
            line += f" {row['wall_ratio']:7.2f} {row['cpu_ratio']:6.2f}"
            line += f" {row['net_cpu']:9.3f}"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
