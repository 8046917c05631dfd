"""Peak RSS growth while walking a long listing, measured in a process of its own.

``python -m benchmarks.memory {tilecred|floor} URL TOTAL PER_PAGE`` walks the
listing and prints JSON: the peak RSS after the first two pages (imports done,
allocator warm, one page held while the next decodes) as the baseline, the
peak at the end, the growth between them, and what one page weighs (its body
plus its decoded items, by ``tracemalloc``), so the growth can be read in
pages. A client that holds one page at a time grows by none.
"""

from __future__ import annotations

import json
import resource
import sys
import tracemalloc
from collections.abc import Iterator

import msgspec

import tilecred

from . import floor as floor_models
from .cases import TOKEN
from .fixed_server import WORKSPACE
from .floor import Floor
from .payloads import page_body, teamspace_for

__all__ = ["main"]


def peak_rss_kib() -> float:
    """This process's peak resident set size so far, in KiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform == "darwin" else float(peak)  # bytes on macOS


def page_kib(contender: str, total: int, per_page: int) -> float:
    """What one full page weighs in memory: its body and its decoded items."""
    kind: type = (
        tilecred.CredentialsListResponse if contender == "tilecred" else floor_models.ListResponse
    )
    tracemalloc.start()
    body = page_body(total, 1, per_page)
    decoded: object = msgspec.json.decode(body, type=kind)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del body, decoded
    return peak / 1024


def items(contender: str, url: str, total: int, per_page: int) -> Iterator[object]:
    """The listing, walked by ``contender``."""
    if contender == "tilecred":
        tilecred.configure(host=url, token=TOKEN, workspace=WORKSPACE)
        return iter(tilecred.list_credentials(teamspace_for(total), per_page=per_page))
    return Floor(url, TOKEN, WORKSPACE).items(teamspace_for(total), per_page)


def main(argv: list[str]) -> None:
    """Walk the listing and print the measurements as one JSON object."""
    contender, url, total_text, per_page_text = argv
    total, per_page = int(total_text), int(per_page_text)
    warm = 2 * per_page
    seen = 0
    baseline: float | None = None
    for _ in items(contender, url, total, per_page):
        seen += 1
        if seen == warm:
            baseline = peak_rss_kib()
    peak = peak_rss_kib()
    if seen != total:
        raise SystemExit(f"{contender} listed {seen} items, not {total}")
    if baseline is None:
        baseline = peak
    print(
        json.dumps(
            {
                "items": seen,
                "baseline_kib": baseline,
                "peak_kib": peak,
                "growth_kib": peak - baseline,
                "page_kib": page_kib(contender, total, per_page),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
