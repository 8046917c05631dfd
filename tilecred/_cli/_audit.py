"""``tilecred audit``: read the audit log, as a table or as JSON Lines."""

from __future__ import annotations

import argparse
import datetime
import re
import sys
from typing import Any

from tilecred import AuditRecord

from ._options import positive
from ._output import Style, Table, to_json
from ._parser import AddCommand, add_command
from ._session import client_for

__all__ = ["COMMANDS", "parse_when"]

AUDIT_COLUMNS = ("TIME", "ACTOR", "ACTION", "OUTCOME", "TEAMSPACE", "CREDENTIAL", "DETAIL")
_OUTCOME_COLOURS = {"ok": "green", "denied": "red", "failed": "yellow"}
_RELATIVE = re.compile(r"([1-9][0-9]{0,8})([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str) -> datetime.datetime | datetime.timedelta:
    """A duration (``30m``, ``8h``, ``7d``, ``2w``) or an ISO 8601 time (UTC when it has no zone).

    ``audit --since`` reads a duration as "that long ago", ``token create
    --expires`` as "that long from now".

    Raises:
        argparse.ArgumentTypeError: neither.
    """
    relative = _RELATIVE.fullmatch(text)
    if relative is not None:
        count, unit = relative.groups()
        try:
            return datetime.timedelta(**{_UNITS[unit]: int(count)})
        except OverflowError:
            raise argparse.ArgumentTypeError(f"{text!r} is longer than any time can be") from None
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a time like 2026-12-01T09:00 (ISO 8601, UTC unless it has a "
            "zone) nor a duration like 30m, 8h, 7d or 2w"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


def _row(record: AuditRecord) -> tuple[str, ...]:
    at = record.at.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
    # One line per record, whatever a detail holds.
    detail = " ".join((record.detail or "-").split())
    return (at, record.actor, record.action, record.outcome, record.teamspace or "-",
            record.credential or "-", detail)  # fmt: skip


def _colour(column: int, text: str) -> str | None:
    return _OUTCOME_COLOURS.get(text) if column == AUDIT_COLUMNS.index("OUTCOME") else None


def run_audit(args: argparse.Namespace) -> int:
    """Print the matching records, oldest first."""
    records = client_for(args).audit(credential=args.credential, since=args.since, limit=args.limit)
    if args.json:
        sys.stdout.writelines(to_json(record) + "\n" for record in records)
        return 0
    table = Table(sys.stdout, AUDIT_COLUMNS, Style(sys.stdout), _colour)
    table.write(_row(record) for record in records)
    if not records:
        print("no audit records", file=sys.stderr)
    return 0


def _add_audit(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``tilecred audit``."""
    p = add_command(
        subparsers, "audit", parents=parents,
        summary="read the audit log: every use, refusal and change",
        usage="%(prog)s [--credential NAME] [--since WHEN] [--limit N] [--json] "
        "[global options]",
        description="Print the newest audit records (default 1000), oldest first: who used, "
        "was refused, created, updated, deleted or verified which credential, and when. "
        "An aligned table (" + ", ".join(AUDIT_COLUMNS) + "; times in UTC), or JSON Lines "
        "with --json (every AuditRecord field). Never a secret. On `tilecred serve` it "
        "needs a management token.",
        examples="""
            tilecred audit
            tilecred audit --credential lake --since 7d
            tilecred audit --since 2026-12-01T09:00 --json | jq -r .actor
        """,
    )  # fmt: skip
    p.add_argument("--credential", metavar="NAME", help="only records about this credential")
    p.add_argument(
        "--since", metavar="WHEN", type=parse_when,
        help="only records from WHEN on: an ISO 8601 time (UTC unless it has a zone), "
        "or an age: 30m, 8h, 7d, 2w",
    )  # fmt: skip
    p.add_argument(
        "--limit", metavar="N", type=positive, help="at most N records, the newest (1000)"
    )
    p.add_argument("--json", action="store_true", help="print JSON Lines, one record per line")
    p.set_defaults(handler=run_audit)


COMMANDS: dict[str, AddCommand] = {"audit": _add_audit}
