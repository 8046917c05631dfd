"""The run: interleave tilecred and the floor over several rounds, take medians.

Each round times every measure for both contenders, alternating which goes
first, so drift on a busy machine (other processes, CPU frequency, the page
cache) falls on both alike. Ratios are tilecred's median over the floor's.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import importlib.util
import os
import platform
import statistics
import tempfile
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import msgspec

import tilecred

from .cases import (
    Contender,
    Timing,
    contenders,
    import_seconds,
    list_seconds,
    memory_growth,
    per_call_seconds,
    threaded_calls_per_second,
)
from .fixed_server import CACHE_LIMIT, FixedServer

__all__ = ["FULL", "SMOKE", "Measure", "Sizes", "run"]

# Growth beyond this many pages' worth means the listing is being kept.
RSS_PAGES_ALLOWED = 3


@dataclass(frozen=True)
class Sizes:
    """How much work each measure does; ``SMOKE`` is tiny, for CI."""

    rounds: int
    import_samples: int  # fresh interpreters per contender per round
    get_calls: int
    lists: tuple[int, ...]  # the first one carries the list target
    list_items: int  # a list sample walks its listing until it has seen about this many
    per_page: int
    threads: int
    thread_calls: int  # per thread
    rss_total: int
    local_n: int
    server_seconds: float
    scale_credentials: int  # benchmarks.scale: the store's size (100,000 on its own)


FULL = Sizes(
    rounds=7,
    import_samples=3,
    get_calls=2000,
    lists=(10_000, 100_000),
    list_items=100_000,
    per_page=1000,
    threads=8,
    thread_calls=400,
    rss_total=1_000_000,
    local_n=1000,
    server_seconds=5.0,
    scale_credentials=10_000,
)
SMOKE = Sizes(
    rounds=2,
    import_samples=1,
    get_calls=20,
    lists=(200, 500),
    list_items=500,
    per_page=100,
    threads=8,
    thread_calls=5,
    rss_total=2000,
    local_n=20,
    server_seconds=0.5,
    scale_credentials=500,
)


@dataclass(frozen=True)
class Measure:
    """One row of the table: how to take a sample, and what tilecred must reach."""

    key: str
    label: str
    unit: str
    scale: float  # sample (seconds or per second) times this gives ``unit``
    sample: Callable[[Contender], Timing]
    target: str | None = None  # "<= 1.10" or ">= 0.9", on tilecred ÷ floor


def _lister(total: int, per_page: int, walks: int) -> Callable[[Contender], Timing]:
    def sample(contender: Contender) -> Timing:
        return list_seconds(contender, total, per_page, walks)

    return sample


def measures(sizes: Sizes) -> list[Measure]:
    """The interleaved measures for these sizes."""
    rows = [
        Measure(
            "import",
            "`import` in a fresh interpreter",
            "ms",
            1e3,
            lambda c: Timing(
                statistics.median(import_seconds(c.name).wall for _ in range(sizes.import_samples))
            ),
            "<= 0.60",
        ),
        Measure(
            "get",
            "`get_credential`, per call, one keep-alive connection",
            "µs",
            1e6,
            lambda c: per_call_seconds(c, sizes.get_calls),
            "<= 1.10",
        ),
    ]
    for index, total in enumerate(sizes.lists):
        rows.append(
            Measure(
                f"list_{total}",
                f"list {total:,} items, `per_page={sizes.per_page}`",
                "ms",
                1e3,
                _lister(total, sizes.per_page, max(1, sizes.list_items // total)),
                "<= 1.25" if index == 0 else None,
            )
        )
    rows.append(
        Measure(
            f"threads_{sizes.threads}",
            f"{sizes.threads} threads calling `get_credential`, shared default client",
            "calls/s",
            1.0,
            lambda c: threaded_calls_per_second(c, sizes.threads, sizes.thread_calls),
            ">= 0.90",
        )
    )
    return rows


def _met(ratio: float, target: str | None) -> bool | None:
    if target is None:
        return None
    op, bound = target.split()
    return ratio <= float(bound) if op == "<=" else ratio >= float(bound)


def _summary(measure: Measure, samples: dict[str, list[Timing]]) -> dict[str, Any]:
    ours = statistics.median(t.wall for t in samples["tilecred"])
    floor = statistics.median(t.wall for t in samples["floor"])
    ratio = ours / floor
    summary = {
        "label": measure.label,
        "unit": measure.unit,
        "tilecred": ours * measure.scale,
        "floor": floor * measure.scale,
        "ratio": ratio,
        "target": measure.target,
        "met": _met(ratio, measure.target),
        "samples": {
            name: [t.wall * measure.scale for t in timings] for name, timings in samples.items()
        },
    }
    cpu = {name: [t.cpu for t in timings if t.cpu is not None] for name, timings in samples.items()}
    if all(cpu.values()):
        summary["cpu_ratio"] = statistics.median(cpu["tilecred"]) / statistics.median(cpu["floor"])
        summary["cpu_samples"] = {
            name: [v * measure.scale for v in values] for name, values in cpu.items()
        }
    return summary


def _interleaved(
    sizes: Sizes, pair: tuple[Contender, Contender], log: Callable[[str], None]
) -> dict[str, Any]:
    rows = measures(sizes)
    # Warm-up, not recorded: connections opened, bytecode cached, pages cached.
    for contender in pair:
        import_seconds(contender.name)
        per_call_seconds(contender, max(1, sizes.get_calls // 10))
        list_seconds(contender, sizes.lists[0], sizes.per_page)
    samples: dict[str, dict[str, list[Timing]]] = {
        row.key: {c.name: [] for c in pair} for row in rows
    }
    for number in range(sizes.rounds):
        order = pair if number % 2 == 0 else pair[::-1]
        for row in rows:
            for contender in order:
                samples[row.key][contender.name].append(row.sample(contender))
        log(f"round {number + 1}/{sizes.rounds} done")
    return {row.key: _summary(row, samples[row.key]) for row in rows}


def _memory(url: str, sizes: Sizes) -> dict[str, Any]:
    result: dict[str, Any] = {
        "label": f"peak RSS growth iterating {sizes.rss_total:,} items",
        "unit": "MiB",
        "target": f"<= {RSS_PAGES_ALLOWED} pages",
    }
    for name in ("tilecred", "floor"):
        figures = memory_growth(name, url, sizes.rss_total, sizes.per_page)
        result[name] = figures["growth_kib"] / 1024
        result[f"{name}_detail"] = figures
    detail = result["tilecred_detail"]
    result["met"] = detail["growth_kib"] <= RSS_PAGES_ALLOWED * detail["page_kib"]
    return result


@contextlib.contextmanager
def _scratch_home() -> Iterator[None]:
    """The local store's benchmark runs in a temporary home, never the user's."""
    saved = os.environ.get("TILECRED_HOME")
    with tempfile.TemporaryDirectory(prefix="tilecred-bench-") as home:
        os.environ["TILECRED_HOME"] = home
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("TILECRED_HOME", None)
            else:
                os.environ["TILECRED_HOME"] = saved


def _extra(module: str, argument: float, log: Callable[[str], None]) -> dict[str, Any]:
    """Run another helper's benchmark script, ``benchmarks.<module>.run(argument)``."""
    if importlib.util.find_spec(f"benchmarks.{module}") is None:
        return {"skipped": f"benchmarks/{module}.py does not exist yet"}
    try:
        script = importlib.import_module(f"benchmarks.{module}")
        # A script that needs what the machine lacks (PostgreSQL) says so.
        reason = getattr(script, "unavailable", lambda: None)()
        if reason is not None:
            log(f"benchmarks.{module} skipped: {reason}")
            return {"skipped": reason}
        with _scratch_home():
            figures = script.run(argument)
        return {"figures": {str(k): float(v) for k, v in dict(figures).items()}}
    except Exception as exc:
        log(f"benchmarks.{module} failed:\n{traceback.format_exc()}")
        return {"error": f"{type(exc).__name__}: {exc}"}


def environment() -> dict[str, Any]:
    """What these figures were measured on."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "tilecred": tilecred.__version__,
        "tilecred_path": os.path.dirname(tilecred.__file__),
        "urllib3": importlib.metadata.version("urllib3"),
        "msgspec": msgspec.__version__,
    }


def run(sizes: Sizes, log: Callable[[str], None]) -> dict[str, Any]:
    """Every measure for these sizes; the result is what goes into the JSON file."""
    load_before = os.getloadavg()
    prerender = tuple(total for total in sizes.lists if total <= CACHE_LIMIT)
    with FixedServer(prerender=prerender, per_page=sizes.per_page) as server:
        log(f"fixed-answer server at {server.url}")
        pair = contenders(server.url)
        results = _interleaved(sizes, pair, log)
        log("memory: walking the long listing in child processes")
        results["rss"] = _memory(server.url, sizes)
        tilecred.get_client().close()
    log("local store and server scripts")
    # Other work on the machine blurs wall-clock figures; say how much there was.
    load = {"load_average_before": load_before, "load_average_after": os.getloadavg()}
    return {
        "environment": {**environment(), **load},
        "sizes": asdict(sizes),
        "results": results,
        "local_store": _extra("local_store", sizes.local_n, log),
        "server": _extra("server_load", sizes.server_seconds, log),
        "postgres": _extra("pg_load", sizes.server_seconds, log),
        "scale": _extra("scale", sizes.scale_credentials, log),
        "local_listing": _extra("local_listing", sizes.rounds, log),
    }
