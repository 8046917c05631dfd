"""Instructions per operation, counted by valgrind: a measure other load cannot blur.

``python -m benchmarks.instructions`` runs each operation in a child process
under ``valgrind --tool=callgrind`` (the fixed-answer server runs outside it)
and reports how many instructions the client executes per call: tilecred
against the floor. The count of ``N`` calls minus the count of none is divided
by ``N``, so start-up, imports and the first connection cancel out; each
count is the least of two runs. On a
shared machine, where wall-clock ratios swing by ten points from run to run,
these ratios move by one or two: use them to tell whether a change to tilecred
helped. They are not the targets (those are in time); they follow them closely
for this CPU-bound client.

Needs ``valgrind`` on the PATH (``apt-get install valgrind``); without it,
says so and exits 1.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys

from .cases import CHILD_CWD, IMPORTS, child_env, contenders
from .fixed_server import FixedServer

__all__ = ["main"]

LIST_TOTAL = 10_000
PER_PAGE = 1000
# (operation, calls counted): enough calls that one-off costs are noise.
OPERATIONS = (("get", 500), ("list", 3))
# Each count is the least of this many runs: anything that happens only
# sometimes (a reconnection, a full garbage collection) only ever adds.
RUNS = 2
_COLLECTED = re.compile(r"Collected : (\d+)")


def _instructions(argv: list[str]) -> int:
    """Instructions the child process ``argv`` executes, by callgrind."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        capture_output=True,
        text=True,
        cwd=CHILD_CWD,
        env=child_env(),
        check=True,
    )
    found = _COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind reported no count for {argv}: {done.stderr[-500:]}")
    return int(found.group(1))


def _per_call(url: str, who: str, operation: str, calls: int) -> float:
    def run(n: int) -> int:
        child = [sys.executable, "-m", "benchmarks.instructions", "--child", url, who, operation]
        return min(_instructions([*child, str(n)]) for _ in range(RUNS))

    return (run(calls) - run(0)) / calls


def _import(who: str) -> float:
    # Bytecode written first, as an installed package has it.
    subprocess.run([sys.executable, "-c", IMPORTS[who]], cwd=CHILD_CWD, env=child_env(), check=True)
    bare = min(_instructions([sys.executable, "-c", "pass"]) for _ in range(RUNS))
    return min(_instructions([sys.executable, "-c", IMPORTS[who]]) for _ in range(RUNS)) - bare


def _child(url: str, who: str, operation: str, calls: int) -> None:
    """Inside valgrind: one warm-up call, then ``calls`` more."""
    pair = {c.name: c for c in contenders(url)}
    contender = pair[who]

    def once() -> object:
        if operation == "get":
            return contender.get()
        return contender.count(LIST_TOTAL, PER_PAGE)

    once()
    for _ in range(calls):
        once()


def main(argv: list[str] | None = None) -> int:
    """Print instructions per operation for tilecred and the floor, as a Markdown table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions")
    parser.add_argument("--child", nargs=4, metavar=("URL", "WHO", "OPERATION", "CALLS"))
    args = parser.parse_args(argv)
    if args.child:
        url, who, operation, calls = args.child
        _child(url, who, operation, int(calls))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt-get install valgrind", file=sys.stderr)
        return 1
    rows = [("`import`", _import("tilecred"), _import("floor"))]
    with FixedServer(prerender=(LIST_TOTAL,), per_page=PER_PAGE) as server:
        for operation, calls in OPERATIONS:
            label = (
                "`get_credential`"
                if operation == "get"
                else f"list {LIST_TOTAL:,} (`per_page={PER_PAGE}`)"
            )
            ours = _per_call(server.url, "tilecred", operation, calls)
            floor = _per_call(server.url, "floor", operation, calls)
            rows.append((label, ours, floor))
    print("| instructions per call | tilecred | floor | tilecred ÷ floor |")
    print("|---|---:|---:|---:|")
    for label, ours, floor in rows:
        print(f"| {label} | {ours:,.0f} | {floor:,.0f} | {ours / floor:.3f} |")
    print(f"\n`python -m benchmarks.instructions`, tilecred from {CHILD_CWD}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
