"""What is timed: each measure once, for tilecred and for the floor.

Each function returns one sample; the harness interleaves the two contenders
over several rounds and takes medians. Every sample also checks its answer
(the right credential, the right number of items), so a fast wrong client
cannot win and the CI smoke run still proves the harness works.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import tilecred

from .fixed_server import ROOT, WORKSPACE
from .floor import Floor
from .payloads import teamspace_for

__all__ = [
    "CHILD_CWD",
    "IMPORTS",
    "NAME",
    "TOKEN",
    "Contender",
    "Timing",
    "child_env",
    "contenders",
    "import_seconds",
    "list_seconds",
    "memory_growth",
    "per_call_seconds",
    "threaded_calls_per_second",
]

TOKEN = "bench-token"
NAME = "bench-cred"
# What the fixed server's credential is called; both clients must read it back.
EXPECTED_NAME = "bench-00000000"

IMPORTS = {"tilecred": "import tilecred", "floor": "import urllib3, msgspec"}


@dataclass(frozen=True)
class Timing:
    """One sample: the wall-clock figure and, where it means something, this
    process's CPU time over the same span (the client's own work, which other
    load on the machine and the server's share do not inflate)."""

    wall: float
    cpu: float | None = None


@dataclass(frozen=True)
class Contender:
    """One client under test: how it gets one credential and walks a listing."""

    name: str
    get: Callable[[], object]
    count: Callable[[int, int], int]  # (total, per_page) -> items seen


def contenders(url: str) -> tuple[Contender, Contender]:
    """tilecred through its module functions on the default client, and the floor."""
    tilecred.configure(host=url, token=TOKEN, workspace=WORKSPACE)
    floor = Floor(url, TOKEN, WORKSPACE)

    def tilecred_get() -> object:
        return tilecred.get_credential(NAME)

    def tilecred_count(total: int, per_page: int) -> int:
        return sum(1 for _ in tilecred.list_credentials(teamspace_for(total), per_page=per_page))

    def floor_get() -> object:
        return floor.get(NAME)

    def floor_count(total: int, per_page: int) -> int:
        return sum(1 for _ in floor.items(teamspace_for(total), per_page))

    return (
        Contender("tilecred", tilecred_get, tilecred_count),
        Contender("floor", floor_get, floor_count),
    )


def _check_get(value: object, who: str) -> None:
    name = getattr(value, "name", None)
    if name != EXPECTED_NAME:
        raise AssertionError(f"{who} returned credential {name!r}, not {EXPECTED_NAME!r}")


# Child interpreters start here, so they import the very tilecred this process
# did (the checkout, or a patched copy being compared with it) ...
CHILD_CWD = Path(tilecred.__file__).resolve().parent.parent


def child_env() -> dict[str, str]:
    """The environment for child interpreters.

    ... and find ``benchmarks`` on the path. Bytecode may be cached: an
    installed package has its ``.pyc`` files, but with PYTHONDONTWRITEBYTECODE
    an editable checkout would be compiled from source on every import.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    paths = [str(CHILD_CWD), str(ROOT), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


def import_seconds(contender: str) -> Timing:
    """Seconds ``import`` takes in a fresh interpreter (startup itself not counted)."""
    code = (
        "import time; t = time.perf_counter(); "
        f"{IMPORTS[contender]}; print(time.perf_counter() - t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        cwd=CHILD_CWD,
        env=child_env(),
    )
    return Timing(float(out.stdout))


def per_call_seconds(contender: Contender, calls: int) -> Timing:
    """Mean seconds per ``get`` over ``calls`` calls on one keep-alive connection."""
    get = contender.get
    _check_get(get(), contender.name)
    cpu, started = time.process_time(), time.perf_counter()
    for _ in range(calls):
        get()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Timing(wall / calls, cpu / calls)


def list_seconds(contender: Contender, total: int, per_page: int, walks: int = 1) -> Timing:
    """Mean seconds to walk a listing of ``total`` items, ``per_page`` at a time.

    ``walks`` walks make one sample, so a short listing is not a single
    30 ms window at the mercy of one garbage collection or one context switch.
    """
    cpu, started = time.process_time(), time.perf_counter()
    for _ in range(walks):
        seen = contender.count(total, per_page)
        if seen != total:
            raise AssertionError(f"{contender.name} listed {seen} items, not {total}")
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Timing(wall / walks, cpu / walks)


def threaded_calls_per_second(contender: Contender, threads: int, calls: int) -> Timing:
    """``get`` calls per second from ``threads`` threads sharing one client."""
    get = contender.get
    start = threading.Barrier(threads + 1)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            for _ in range(calls - 1):
                get()
            _check_get(get(), contender.name)
        except BaseException as exc:  # reported below, in the main thread
            failures.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise failures[0]
    return Timing(threads * calls / elapsed)


def memory_growth(contender: str, url: str, total: int, per_page: int) -> dict[str, float]:
    """Peak RSS growth while a child process walks a listing; see :mod:`benchmarks.memory`."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", contender, url, str(total), str(per_page)],
        check=True,
        capture_output=True,
        text=True,
        cwd=CHILD_CWD,
        env=child_env(),
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result
