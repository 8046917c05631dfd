"""``tilecred audit``: read the audit log, as a table or as JSON Lines."""

from __future__ import annotations

import argparse
import datetime
import re
from typing import Any

from tilecred import AuditRecord, UsageSummary

from ._failures import UsageError
from ._options import add_teamspace, positive, scope_text
from ._output import print_items, utc_time
from ._parser import AddCommand, add_command
from ._retention import add_retention
from ._session import client_for

__all__ = ["COMMANDS", "parse_when"]

AUDIT_COLUMNS = ("TIME", "ACTOR", "ACTION", "OUTCOME", "TEAMSPACE", "CREDENTIAL", "DETAIL")
SUMMARY_COLUMNS = ("ACTOR", "USES", "DENIED", "FAILED", "FIRST", "LAST", "LAST REQUEST")
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
    # One line per record, whatever a detail holds.
    detail = " ".join((record.detail or "-").split())
    return (utc_time(record.at), record.actor, record.action, record.outcome,
            record.teamspace or "-", record.credential or "-", detail)  # fmt: skip


def _summary_row(summary: UsageSummary) -> tuple[str, ...]:
    return (summary.actor, str(summary.uses), str(summary.denied), str(summary.failed),
            utc_time(summary.first_at), utc_time(summary.last_at),
            summary.last_request_id or "-")  # fmt: skip


def _colour(column: int, text: str) -> str | None:
    return _OUTCOME_COLOURS.get(text) if column == AUDIT_COLUMNS.index("OUTCOME") else None


def run_audit(args: argparse.Namespace) -> int:
    """Print the matching records, oldest first, or with --summary who used the credential."""
    if args.summary:
        return _run_summary(args)
    if args.teamspace is not None:
        raise UsageError("--teamspace goes with --summary (records name their teamspace)")
    records = client_for(args).audit(credential=args.credential, since=args.since, limit=args.limit)
    print_items(records, as_json=args.json, headers=AUDIT_COLUMNS, row=_row,
                empty="no audit records", paint=_colour)  # fmt: skip
    return 0


def _run_summary(args: argparse.Namespace) -> int:
    if args.credential is None:
        raise UsageError("--summary needs --credential NAME: the credential to summarize")
    if args.limit is not None:
        raise UsageError("--limit does not go with --summary: every use is counted")
    summaries = client_for(args).audit_summary(
        args.credential, teamspace=args.teamspace, since=args.since
    )
    print_items(summaries, as_json=args.json, headers=SUMMARY_COLUMNS, row=_summary_row,
                empty=f"no uses of credential {args.credential!r}{scope_text(args)}")  # fmt: skip
    return 0


def _add_audit(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``tilecred audit``."""
    p = add_command(
        subparsers, "audit", parents=parents,
        summary="read the audit log: every use, refusal and change",
        usage="%(prog)s [--credential NAME] [--since WHEN] [--limit N] [--json] "
        "[global options]\n"
        "       %(prog)s --credential NAME --summary [--teamspace T] [--since WHEN] [--json]\n"
        "       [global options]\n"
        "       %(prog)s export [--before WHEN] FILE | prune --before WHEN --export FILE |\n"
        "       verify-export FILE",
        description="Print the newest audit records (default 1000), oldest first: who used, "
        "was refused, created, updated, deleted or verified which credential, and when. "
        "An aligned table (" + ", ".join(AUDIT_COLUMNS) + "; times in UTC), or JSON Lines "
        "with --json (every AuditRecord field). With --summary: who uses the credential, "
        "before you rotate or delete it: one row per actor (" + ", ".join(SUMMARY_COLUMNS)
        + "), the most recent first, counted over every use of the credential (a renamed "
        "one's too) by the store or the server; --json prints UsageSummary fields. Never a "
        "secret. On `tilecred serve` it needs a management token. `export`, `prune` and "
        "`verify-export` keep the local store's log from growing forever (docs/lifecycle.md).",
        examples="""
            tilecred audit
            tilecred audit --credential lake --since 7d
            tilecred audit --since 2026-12-01T09:00 --json | jq -r .actor
            tilecred audit --credential lake --summary
            tilecred audit --credential lake --summary --since 30d --json | jq -r .actor
            tilecred audit prune --before 90d --export audit-until-90-days-ago.jsonl
        """,
    )  # fmt: skip
    p.add_argument("--credential", metavar="NAME", help="only records about this credential")
    p.add_argument(
        "--summary", action="store_true",
        help="who used the credential: uses, refusals and failures per actor",
    )  # fmt: skip
    add_teamspace(p)
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
    # Retention: optional actions; without one, `audit` reads the log.
    actions = p.add_subparsers(dest="audit_action", metavar="ACTION", prog="tilecred audit")
    add_retention(actions, parents, parse_when)


COMMANDS: dict[str, AddCommand] = {"audit": _add_audit}
