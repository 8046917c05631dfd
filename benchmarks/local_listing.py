"""Listing on the local store against listing over HTTP: CPU per item (issue #22).

``python -m benchmarks.local_listing [--rounds N]`` builds a store of 1,000
credentials (:mod:`benchmarks.big_store`, ten use records each), starts
``tilecred serve`` on it, and measures this process's CPU time
(``time.process_time``) per credential listed, for a page of 100 and a page
of 1,000: through :class:`tilecred.Client` on the store itself (the query,
"last used" and the structs: everything a local listing costs) and through
a :class:`tilecred.Client` of that server (the client's share only: the
request, reading and decoding the answer). The goal is local at most twice HTTP.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import tilecred

from .big_store import WORKSPACE, build
from .server_load import start_server

__all__ = ["run"]

_CREDENTIALS = 1000


def _per_item(action: Callable[[], int]) -> float:
    """CPU microseconds per item of ``action`` (which returns how many it listed),
    over at least 50 ms of CPU."""
    start, items = time.process_time(), 0
    while time.process_time() - start < 0.05:
        items += action()
    return (time.process_time() - start) / items * 1e6


def _page(client: tilecred.Client, size: int) -> Callable[[], int]:
    def action() -> int:
        return len(client.list_credentials(per_page=size).data)

    return action


def run(rounds: float = 7) -> dict[str, float]:
    """CPU µs per item, local and over HTTP, and their ratio, for pages of 100 and 1,000."""
    count = int(rounds)
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        build(home, _CREDENTIALS, _CREDENTIALS * 10, 10)
        proc, port, token = start_server(home)
        try:
            url = f"http://127.0.0.1:{port}"
            with (
                tilecred.Client(home=home, workspace=WORKSPACE) as local,
                tilecred.Client(host=url, token=token, workspace=WORKSPACE) as http,
            ):
                for size in (100, 1000):
                    for client in (local, http):  # warm up: open the store, connect
                        _page(client, size)()
                    for round_ in range(count):  # alternating which goes first
                        pair = [("local", local), ("http", http)][:: 1 if round_ % 2 else -1]
                        for name, client in pair:
                            key = f"{name}_{size}_us_per_item"
                            samples.setdefault(key, []).append(_per_item(_page(client, size)))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    figures = {key: statistics.median(values) for key, values in samples.items()}
    for size in (100, 1000):
        local, http = figures[f"local_{size}_us_per_item"], figures[f"http_{size}_us_per_item"]
        figures[f"local_over_http_{size}"] = local / http
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.local_listing", description=__doc__)
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds (7)")
    for key, value in run(parser.parse_args().rounds).items():
        print(f"  {key}: {value:.2f}")
