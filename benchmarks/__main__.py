"""``python -m benchmarks [--smoke] [--rounds N] [--out DIR] [--update-docs]``.

Prints a table, writes the results as JSON under ``benchmarks/results/`` and,
with ``--update-docs``, puts the table into ``docs/benchmarks.md``. Nothing
here judges time: a missed target is reported, never a failure. The exit
status is 1 only when a benchmark could not run (a wrong answer, a script
that raised).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import shlex
import sys
from pathlib import Path

from .fixed_server import ROOT
from .harness import FULL, SMOKE, run
from .report import save, table, update_docs


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="tilecred against the floor"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: seconds, for CI")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 7; smoke 2)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results", help="where the JSON goes"
    )
    parser.add_argument(
        "--update-docs", action="store_true", help="put the table into docs/benchmarks.md"
    )
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    if args.rounds is not None:
        sizes = dataclasses.replace(sizes, rounds=max(1, args.rounds))
    command = "python -m benchmarks " + shlex.join(sys.argv[1:] if argv is None else argv)
    report = {
        "when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command.strip(),
        "smoke": args.smoke,
        **run(sizes, _log),
    }
    print(table(report))
    for path in save(report, args.out, args.smoke):
        _log(f"wrote {path}")
    if args.update_docs:
        update_docs(ROOT / "docs" / "benchmarks.md", report)
        _log("updated docs/benchmarks.md")
    failed = any(
        "error" in report[key]
        for key in ("local_store", "server", "postgres", "scale", "local_listing")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
