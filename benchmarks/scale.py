"""Costs that must stay linear in the store's size (issue #22).

``python -m benchmarks.scale [--credentials N] [--uses N] [--postgres]``
builds a store of N credentials in the workspace ``default``, N/10 in its
teamspace ``small`` and a log of ``--uses`` use records
(:mod:`benchmarks.big_store`; 100,000 and 1,000,000 by default), then
measures, on the store directly and through ``tilecred serve``:

- **walk**: CPU to list every credential of the teamspace (N/10) and of the
  workspace (N), 1,000 a page, and their ratio (linear: 10);
- **first / last page**: CPU for page 1 and for the last page of the
  workspace, 100 a page, each asked for on its own (as ``pager[-1]`` does),
  and their ratio;
- **usage summary** of a credential with ten use records and of one with
  ``--hot`` of them, and ``get_credential`` of that busy one ("last used").

CPU is this process's (``time.process_time``) on the store, and the server
process's from ``/proc`` through ``tilecred serve`` (the client's is not
counted). With ``--postgres`` the same store is copied into a PostgreSQL
cluster of its own (``tests/_postgres.py``) and measured there too.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import tilecred
from tilecred._config import DATABASE_ENV, MASTER_KEY_ENV
from tilecred._local._listing import PageKeys

from .big_store import SMALL_TEAMSPACE, WORKSPACE, build, build_postgres, name
from .server_cpu import _cpu_seconds
from .server_load import start_server

__all__ = ["run"]

_ROUNDS = 7


def _median_cpu(action: Callable[[], object], rounds: int, clock: Callable[[], float]) -> float:
    """The median CPU seconds of one ``action``: each sample repeats it until
    ``clock`` has moved by 50 ms (``/proc`` counts a process's CPU in 10 ms ticks)."""
    action()
    samples = []
    for _ in range(rounds):
        start, count = clock(), 0
        while True:
            action()
            count += 1
            used = clock() - start
            if used >= 0.05:
                break
        samples.append(used / count)
    return statistics.median(samples)


def _walk(client: tilecred.Client, teamspace: str | None, expected: int) -> None:
    count = sum(1 for _ in client.list_credentials(teamspace=teamspace, per_page=1000))
    assert count == expected, (count, expected)


def _measure(client: tilecred.Client, clock: Callable[[], float], fresh: Callable[[], None],
             credentials: int, hot: int) -> dict[str, float]:  # fmt: skip
    """The figures through ``client``, timed by ``clock`` (``fresh`` forgets page keys)."""
    small = credentials // 10
    last = -(-credentials // 100)
    rounds = 3 if credentials >= 50_000 or credentials < 5000 else 5
    samples = 3 if credentials < 5000 else _ROUNDS  # a smoke run: a few seconds
    figures = {
        "walk_small_ms": _median_cpu(lambda: _walk(client, SMALL_TEAMSPACE, small), rounds, clock),
        "walk_all_ms": _median_cpu(lambda: _walk(client, None, credentials), rounds, clock),
    }

    def page(number: int) -> None:
        fresh()
        found = client.list_credentials(per_page=100, page=number).data
        assert found[0].name == name((number - 1) * 100), number

    figures["first_page_ms"] = _median_cpu(lambda: page(1), samples, clock)
    figures["last_page_ms"] = _median_cpu(lambda: page(last), samples, clock)
    figures["usage_10_ms"] = _median_cpu(
        lambda: client.audit_summary(name(credentials // 2)), samples, clock
    )
    figures["usage_hot_ms"] = _median_cpu(lambda: client.audit_summary(name(0)), samples, clock)
    figures["get_hot_ms"] = _median_cpu(lambda: client.get_credential(name(0)), samples, clock)
    figures = {key: value * 1e3 for key, value in figures.items()}
    figures["walk_ratio"] = figures["walk_all_ms"] / figures["walk_small_ms"]
    figures["last_over_first"] = figures["last_page_ms"] / figures["first_page_ms"]
    return figures


def _local(credentials: int, hot: int, home: Path | None = None) -> dict[str, float]:
    """Through the library's local store (``home``, else ``TILECRED_DATABASE_URL``)."""
    with tilecred.Client(home=home, workspace=WORKSPACE) as client:
        client.get_credential(name(0))  # opens the store

        def fresh() -> None:
            client._get_backend().store._page_keys = PageKeys()  # type: ignore[attr-defined]

        return _measure(client, time.process_time, fresh, credentials, hot)


def _served(home: Path, credentials: int, hot: int) -> tuple[dict[str, float], str]:
    """Through ``tilecred serve`` on the SQLite store in ``home``; the figures and the token."""
    proc, port, token = start_server(home)
    try:
        return _through(port, token, proc.pid, credentials, hot), token
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def _through(port: int, token: str, pid: int, credentials: int, hot: int) -> dict[str, float]:
    url = f"http://127.0.0.1:{port}"
    with tilecred.Client(host=url, token=token, workspace=WORKSPACE) as client:
        client.get_credential(name(0))
        # The server forgets its page keys only when the listing changes:
        # a page asked for on its own is one the walk before did not end on.
        return _measure(client, lambda: _cpu_seconds(pid), lambda: None, credentials, hot)


def _served_pg(directory: Path, url: str, key: bytes, token: str, *args: int) -> dict[str, float]:
    """Through ``tilecred serve`` on PostgreSQL (its tokens copied with the store)."""
    from tests._instances import launch, wait_serving

    instance = wait_serving(launch(url, key, directory, "scale"))
    try:
        assert instance.port is not None
        return _through(instance.port, token, instance.process.pid, *args)
    finally:
        instance.stop()


@contextlib.contextmanager
def _postgres(home: Path) -> Iterator[tuple[str, bytes]]:
    """The store in ``home`` copied into a new cluster's database, the environment set."""
    from tests._postgres import running_cluster
    from tilecred._local._keys import read_key_file

    source = read_key_file(home / "key")
    assert source is not None
    with running_cluster() as cluster:
        url = cluster.fresh_database("scale")
        build_postgres(home, url)
        cluster.psql("VACUUM ANALYZE", "scale")
        saved = {k: os.environ.get(k) for k in (DATABASE_ENV, MASTER_KEY_ENV)}
        os.environ[DATABASE_ENV] = url
        os.environ[MASTER_KEY_ENV] = base64.b64encode(source.key).decode()
        try:
            yield url, source.key
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def run(credentials: float, uses: int | None = None, hot: int | None = None,
        postgres: bool = False) -> dict[str, float]:  # fmt: skip
    """Every figure, keyed ``<where>_<figure>`` (local, served; pg_local, pg_served)."""
    count = int(credentials)
    uses = count * 10 if uses is None else uses
    hot = min(10_000, uses // 10) if hot is None else hot
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        figures["build_s"] = build(home, count, uses, hot)
        figures.update({f"local_{k}": v for k, v in _local(count, hot, home).items()})
        _show(figures)
        served, token = _served(home, count, hot)
        figures.update({f"served_{k}": v for k, v in served.items()})
        _show(figures)
        if postgres:
            with _postgres(home) as (url, key):
                figures.update({f"pg_local_{k}": v for k, v in _local(count, hot).items()})
                served = _served_pg(Path(tmp), url, key, token, count, hot)
                figures.update({f"pg_served_{k}": v for k, v in served.items()})
    return figures


def _show(figures: dict[str, float]) -> None:
    """Print the figures so far (to stderr: a long run shows what it has)."""
    print(", ".join(f"{k} {v:,.3f}" for k, v in figures.items()), file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__)
    parser.add_argument("--credentials", type=int, default=100_000)
    parser.add_argument("--uses", type=int, default=1_000_000)
    parser.add_argument("--hot", type=int, default=10_000, help="use records of cred-000000")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL too (needs initdb)")
    args = parser.parse_args()
    figures = run(args.credentials, args.uses, args.hot, args.postgres)
    for key, value in figures.items():
        print(f"  {key}: {value:,.3f}")


if __name__ == "__main__":
    main()
