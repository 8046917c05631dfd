"""Operations per second of the embedded default, through the public client.

Run alone with ``python -m benchmarks.local_store [n]``; the benchmark harness
calls :func:`run`. Every figure is measured on a fresh store in a temporary
directory, through :class:`tilecred.Client` (argument checks, encryption and
SQLite included), one thread, one process.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import tilecred

__all__ = ["run"]

_SECRET = {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "x" * 40}}
_PAGE = 100


def _rate(count: int, action: Callable[[int], object]) -> float:
    start = time.perf_counter()
    for i in range(count):
        action(i)
    return count / (time.perf_counter() - start)


def run(n: int) -> dict[str, float]:
    """Create, get, update and list ``n`` credentials; operations per second.

    Parameters:
        n: how many credentials to create (and get, and update).

    Returns:
        ``create``, ``get``, ``update`` (ops/s) and ``list_page_100`` (pages of
        100 credentials per second, walking the whole listing).
    """
    n = max(1, int(n))
    with (
        tempfile.TemporaryDirectory(prefix="tilecred-bench-") as home,
        tilecred.Client(home=Path(home)) as client,
    ):
        client.list_credentials().total_items  # noqa: B018 - open the store first
        create = _rate(
            n, lambda i: client.create_credential(f"cred-{i}", "AWS", credential=_SECRET)
        )
        get = _rate(n, lambda i: client.get_credential(f"cred-{i}"))
        update = _rate(
            n, lambda i: client.update_credential(f"cred-{i}", allowed_in_tasks=i % 2 == 0)
        )
        pages = -(-n // _PAGE)
        rounds = max(1, 2000 // pages)
        listed = _rate(rounds, lambda _: sum(1 for _ in client.list_credentials(per_page=_PAGE)))
    return {
        "create": create,
        "get": get,
        "update": update,
        "list_page_100": listed * pages,
    }


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    for name, value in run(size).items():
        print(f"{name:>14}: {value:10.0f} /s")
