"""The results as a Markdown table, as JSON files, and in ``docs/benchmarks.md``."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

__all__ = ["DOCS_BEGIN", "DOCS_END", "save", "table", "update_docs"]

DOCS_BEGIN = "<!-- results:begin -->"
DOCS_END = "<!-- results:end -->"


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _met(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: ""}[met]


def _target(target: str | None) -> str:
    return "" if target is None else target.replace("<=", "≤").replace(">=", "≥")


def table(report: dict[str, Any]) -> str:
    """The results as a Markdown table, with what they were measured on."""
    lines = [
        "| measure | tilecred | floor | tilecred ÷ floor | target | met | client CPU ÷ |",
        "|---|---:|---:|---:|---|---|---:|",
    ]
    for row in report["results"].values():
        ratio = "" if "ratio" not in row else f"{row['ratio']:.2f}"
        target = _target(row["target"])
        if "tilecred_detail" in row:
            page = row["tilecred_detail"]["page_kib"] / 1024
            target += f" ({page:.2f} MiB each)"
        cpu = "" if "cpu_ratio" not in row else f"{row['cpu_ratio']:.2f}"
        lines.append(
            f"| {row['label']} ({row['unit']}) | {_number(row['tilecred'])} "
            f"| {_number(row['floor'])} | {ratio} | {target} | {_met(row['met'])} | {cpu} |"
        )
    for key, title, unit in (
        ("local_store", "local store", "ops/s"),
        ("server", "server", "req/s"),
        ("postgres", "serve on SQLite and PostgreSQL", "req/s"),
        ("scale", "a large store", "ms; s; ratio"),
        ("local_listing", "local listing against HTTP", "µs per item; ratio"),
    ):
        extra = report.get(key, {"skipped": "not measured"})
        if "figures" in extra:
            for name, value in extra["figures"].items():
                lines.append(f"| {title}: {name} ({unit}) | {_number(value)} | | | | | |")
        else:
            note = extra.get("skipped") or f"failed: {extra.get('error')}"
            lines.append(f"| {title} | {note} | | | | | |")
    env = report["environment"]
    lines += [
        "",
        f"Measured {report['when']} with `{report['command']}`: "
        f"{report['sizes']['rounds']} interleaved rounds, medians; Python {env['python']}, "
        f"urllib3 {env['urllib3']}, msgspec {env['msgspec']}, tilecred {env['tilecred']}, "
        f"{env['cpus']} CPUs, {env['platform']}; 1-minute load average "
        f"{env['load_average_before'][0]:.2f} before, {env['load_average_after'][0]:.2f} after.",
    ]
    return "\n".join(lines)


def save(report: dict[str, Any], directory: Path, smoke: bool) -> list[Path]:
    """Write the JSON: a timestamped file and ``latest.json`` (a smoke run: ``smoke.json``)."""
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    if smoke:
        names = ["smoke.json"]
    else:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        names = [f"{stamp}.json", "latest.json"]
    paths = [directory / name for name in names]
    for path in paths:
        path.write_text(text, encoding="utf-8")
    return paths


def update_docs(path: Path, report: dict[str, Any]) -> None:
    """Replace the table between the result markers in ``path``."""
    text = path.read_text(encoding="utf-8")
    begin, end = text.index(DOCS_BEGIN), text.index(DOCS_END)
    path.write_text(
        text[: begin + len(DOCS_BEGIN)] + "\n" + table(report) + "\n" + text[end:],
        encoding="utf-8",
    )
