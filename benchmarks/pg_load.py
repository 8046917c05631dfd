"""Requests per second through one and two ``tilecred serve`` instances on
PostgreSQL, against one instance on SQLite, in the same run.

``python -m benchmarks.pg_load [SECONDS] [--rounds N]`` starts a PostgreSQL
cluster of its own (``tests/_postgres.py``: the machine's initdb, 127.0.0.1,
a temporary directory), one ``tilecred serve`` on an SQLite store and two on
one PostgreSQL database, seeds both stores with the same credentials, then
measures get and list requests per second for each setup in turn, rotating
which goes first, for several rounds, and reports the medians.

The load comes from the floor client (``benchmarks/floor.py``: urllib3 and
msgspec, nothing else) in a process of its own: 8 threads, each with one
kept-alive connection to one instance (with two instances, half the threads
on each), so the figures are the servers', not a client's. Every answer is
checked (the right credential, a full page). On this 2-core machine the
servers, the database and the load generator share two CPUs: the point is
the shape, not the absolute figure.
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from .floor import Floor
from .server_load import PER_PAGE, SEED, SERVER_THREADS, in_child, seed, start_server, timed_threads

__all__ = ["SETUPS", "run", "unavailable"]

LOAD_THREADS = 8
SETUPS = ("sqlite_1", "postgres_1", "postgres_2")
_LABELS = {
    "sqlite_1": "SQLite, 1 instance",
    "postgres_1": "PostgreSQL, 1 instance",
    "postgres_2": "PostgreSQL, 2 instances",
}
# Where one setup's requests go: the instances' URLs, a token and its workspace.
Target = tuple[list[str], str, str]


def unavailable() -> str | None:
    """Why this benchmark cannot run here (no psycopg, no initdb), or None."""
    if importlib.util.find_spec("psycopg") is None:
        return "needs the postgres extra (psycopg)"
    from tests._postgres import find_bindir

    if find_bindir() is None:
        return "needs PostgreSQL's initdb (apt-get install postgresql)"
    return None


def _generate(target: Target, kind: str, seconds: float, out: Any) -> None:
    """The load generator's process: threads send one kind of request until the time is up."""
    urls, token, workspace = target
    counts = [0] * LOAD_THREADS
    errors: list[str] = []

    def worker(index: int, start: threading.Barrier) -> None:
        floor = Floor(urls[index % len(urls)], token, workspace, maxsize=1)
        start.wait()
        deadline = time.perf_counter() + seconds
        n = index
        try:
            while time.perf_counter() < deadline:
                if kind == "get":
                    name = f"cred-{n % SEED:04d}"
                    good = floor.get(name).name == name
                else:
                    good = len(floor.page(1 + n % (SEED // PER_PAGE), PER_PAGE)) == PER_PAGE
                if not good:
                    errors.append(f"wrong answer to {kind} #{n}")
                    return
                counts[index] += 1
                n += LOAD_THREADS
        except Exception as exc:
            errors.append(f"{kind}: {type(exc).__name__}: {exc}")
        finally:
            floor.close()

    elapsed = timed_threads(worker, LOAD_THREADS)
    out.put((sum(counts), elapsed, errors))


def _load(target: Target, kind: str, seconds: float) -> float:
    total, elapsed = in_child(_generate, (target, kind, seconds), seconds)
    return total / elapsed


@contextmanager
def _setups(directory: Path) -> Iterator[dict[str, Target]]:
    """The three setups, seeded with the same credentials; everything stopped after."""
    from tests._instances import admin_token, launch, wait_serving
    from tests._postgres import running_cluster
    from tilecred._local._keys import new_key

    with ExitStack() as stack:
        proc, port, token = start_server(directory / "home", "--threads", str(SERVER_THREADS))
        stack.callback(proc.wait, 30)
        stack.callback(proc.send_signal, signal.SIGTERM)
        workspace = token.split("-")[1]
        seed(port, token, workspace)
        cluster = stack.enter_context(running_cluster())
        database, key = cluster.fresh_database("bench"), new_key()
        instances = []
        for name in ("first", "second"):
            instance = wait_serving(launch(database, key, directory, name, threads=SERVER_THREADS))
            stack.callback(instance.stop)
            instances.append(instance)
        pg_token = admin_token(instances[0])
        assert pg_token is not None
        pg_workspace = pg_token.split("-")[1]
        seed(instances[0].port, pg_token, pg_workspace)
        yield {
            "sqlite_1": ([f"http://127.0.0.1:{port}"], token, workspace),
            "postgres_1": ([instances[0].url], pg_token, pg_workspace),
            "postgres_2": ([i.url for i in instances], pg_token, pg_workspace),
        }


def run(seconds: float, rounds: int | None = None) -> dict[str, float]:
    """Medians of get and list requests per second for each setup, ``seconds`` a sample.

    Returns:
        ``{"<setup>_<get|list>_per_second": …}`` for the setups in SETUPS.
    """
    rounds = rounds or (3 if seconds >= 2 else 1)
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, _setups(Path(tmp)) as targets:
        for setup in SETUPS:  # a short warm-up, not counted
            _load(targets[setup], "get", min(1.0, seconds))
        for round_ in range(rounds):
            order = SETUPS[round_ % 3 :] + SETUPS[: round_ % 3]
            for setup in order:
                for kind in ("get", "list"):
                    rate = _load(targets[setup], kind, seconds)
                    samples.setdefault(f"{setup}_{kind}_per_second", []).append(rate)
    return {key: statistics.median(values) for key, values in sorted(samples.items())}


def table(figures: dict[str, float]) -> str:
    """The figures as a Markdown table: a row per request, a column per setup."""
    lines = [
        "| requests per second | " + " | ".join(_LABELS[s] for s in SETUPS) + " |",
        "|---|" + "---:|" * len(SETUPS),
    ]
    for kind, label in (("get", "get one credential"), ("list", f"list a page of {PER_PAGE}")):
        cells = [f"{figures[f'{s}_{kind}_per_second']:,.0f}" for s in SETUPS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pg_load", description=__doc__)
    parser.add_argument("seconds", nargs="?", type=float, default=5.0, help="per sample")
    parser.add_argument("--rounds", type=int, help="rounds of every setup (default 3)")
    args = parser.parse_args()
    reason = unavailable()
    if reason is not None:
        raise SystemExit(f"benchmarks.pg_load {reason}")
    print(table(run(args.seconds, args.rounds)))


if __name__ == "__main__":
    main()
