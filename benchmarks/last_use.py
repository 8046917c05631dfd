"""What filling in "last used" costs a listing on the embedded default.

``python -m benchmarks.last_use [--build DIR] [--rounds N] DIR`` lists and gets
credentials through :class:`tilecred.Client` on the store in ``DIR`` and prints
medians: a page of 100 (walking 1,000 credentials), one page of 1,000, and one
``get_credential``. ``--build`` first makes that store: 1,000 credentials and
300,000 ``use`` records in the audit log (300 per credential, written straight
into the table, as a busy server's log would hold them after a while).

To compare two versions of tilecred, build once and measure the same store
with each, alternating (``PYTHONPATH=<a checkout> python -m benchmarks.last_use
DIR``); the schema is the same.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import tilecred

__all__ = ["build", "measure"]

_SECRET = {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "x" * 40}}
_CREDENTIALS = 1000
_USES = 300_000


def build(home: Path) -> None:
    """A store with 1,000 credentials and 300,000 successful and refused uses."""
    with tilecred.Client(home=home) as client:
        for i in range(_CREDENTIALS):
            name = f"cred-{i:04d}"
            client.create_credential(name, "AWS", credential=_SECRET, allowed_in_tasks=True)
    conn = sqlite3.connect(home / "tilecred.db")
    try:
        ids = [row[0] for row in conn.execute("SELECT id FROM credentials ORDER BY name")]
        (workspace,) = conn.execute("SELECT workspace_id FROM credentials").fetchone()
        rows = (
            (1_700_000_000_000_000 + n, f"token:tok_{n % 13:016x} (runner)", workspace,
             f"cred-{n % _CREDENTIALS:04d}", "use", "ok" if n % 9 else "denied",
             ids[n % _CREDENTIALS])
            for n in range(_USES)
        )  # fmt: skip
        with conn:
            conn.executemany(
                "INSERT INTO audit (at, actor, workspace_id, credential, action, outcome,"
                " credential_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
    finally:
        conn.close()


def _median(rounds: int, action: Callable[[], float]) -> float:
    return statistics.median(action() for _ in range(rounds))


def _timed(action: Callable[[], object], divide: int = 1) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) / divide


def measure(home: Path, rounds: int) -> dict[str, float]:
    """Median milliseconds: a page of 100, a page of 1,000, one get."""
    with tilecred.Client(home=home) as client:
        client.get_credential("cred-0000")  # open the store first

        def walk() -> None:
            assert sum(1 for _ in client.list_credentials(per_page=100)) == _CREDENTIALS

        def page() -> None:
            assert len(list(client.list_credentials(per_page=1000))) == _CREDENTIALS

        def gets() -> None:
            for i in range(200):
                client.get_credential(f"cred-{i:04d}")

        return {
            "page of 100 (ms)": _median(rounds, lambda: _timed(walk, 10) * 1e3),
            "page of 1000 (ms)": _median(rounds, lambda: _timed(page) * 1e3),
            "get (ms)": _median(rounds, lambda: _timed(gets, 200) * 1e3),
        }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.last_use")
    parser.add_argument("home", type=Path, help="the store's directory")
    parser.add_argument("--build", action="store_true", help="make the store first")
    parser.add_argument("--rounds", type=int, default=9, help="samples per figure (9)")
    args = parser.parse_args()
    if args.build:
        build(args.home)
    figures = measure(args.home, args.rounds)
    print(f"{tilecred.__file__}: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
