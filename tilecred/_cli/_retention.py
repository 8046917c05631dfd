"""``tilecred audit export | prune | verify-export``: keep the audit log from growing forever.

They work on the store itself (``--home``, else ``TILECRED_DATABASE_URL``'s
PostgreSQL store, else ``TILECRED_HOME``), as ``key rotate`` does: a server's
log is pruned where it is kept, by whoever holds its key.
"""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._parser import ON_THIS_MACHINE, add_command
from ._session import local_store

if TYPE_CHECKING:
    from tilecred._local._store import Store

__all__ = ["add_retention"]


def _open_store(args: argparse.Namespace) -> Store:
    # Imported here: the store loads SQLite and cryptography, which no other
    # command that talks HTTP needs.
    from tilecred._local import open_store

    home, database = local_store(args)
    return open_store(database or home)


def _when(value: datetime.datetime | datetime.timedelta) -> datetime.datetime:
    if isinstance(value, datetime.timedelta):
        return datetime.datetime.now(datetime.UTC) - value
    return value


def run_export(args: argparse.Namespace) -> int:
    """Write the log (or its records from before --before) to FILE, chained by digests."""
    from tilecred._local._retention import export_audit

    before = None if args.before is None else _when(args.before)
    with _open_store(args) as store:
        summary = export_audit(store, Path(args.file), before)
    print(f"exported {summary.describe()} to {args.file}")
    return 0


def run_prune(args: argparse.Namespace) -> int:
    """Export the records from before --before to --export, then delete exactly those."""
    from tilecred._local._retention import prune_audit

    before = _when(args.before)
    with _open_store(args) as store:
        summary = prune_audit(store, before, Path(args.export))
    if not summary.records:
        print(f"no audit records from before {before:%Y-%m-%d %H:%M:%S} UTC; nothing pruned")
        return 0
    print(f"pruned {summary.describe()}; they are in {args.export}")
    return 0


def run_verify_export(args: argparse.Namespace) -> int:
    """Check FILE's digest chain, then look for its head in the log's records."""
    from tilecred._local._retention import find_anchor, verify_export

    summary = verify_export(Path(args.file))
    print(f"{args.file}: the chain holds: {summary.describe()}")
    if args.no_store or not summary.records:
        return 0
    with _open_store(args) as store:
        anchor = find_anchor(store, summary.head)
    if anchor is None:
        print(
            "the audit log has no export or prune with this head digest: the file was "
            "rewritten, or its record was pruned since (check the later export that holds it)"
        )
        return 1
    action, at = anchor
    print(f"the audit log recorded this head: {action} at {at:%Y-%m-%d %H:%M:%S} UTC")
    return 0


def add_retention(actions: Any, parents: list[argparse.ArgumentParser], parse_when: Any) -> None:
    """Register ``audit export``, ``audit prune`` and ``audit verify-export``."""
    export = add_command(
        actions, "export", parents=parents, takes=ON_THIS_MACHINE,
        summary="write every audit record (or those before a time) to a file, chained by digests",
        description="Write the local store's audit log, every workspace's, oldest first, to "
        "FILE as JSON Lines: each record with `previous` and `digest` (SHA-256 over the "
        "record and the digest before it), so that a later change to the file shows. The "
        "export and its last digest (the head) are recorded in the log. Check a file with "
        "`tilecred audit verify-export FILE`.",
        examples="""
            tilecred audit export audit-2026.jsonl
            tilecred audit export --before 2026-01-01 audit-2025.jsonl
        """,
    )  # fmt: skip
    export.add_argument("file", metavar="FILE", help="where to write (replaced whole)")
    export.add_argument(
        "--before", metavar="WHEN", type=parse_when,
        help="only records from before WHEN: an ISO 8601 time, or an age (90d)",
    )  # fmt: skip
    export.set_defaults(handler=run_export)
    prune = add_command(
        actions, "prune", parents=parents, takes=ON_THIS_MACHINE,
        summary="export the records from before a time, then delete exactly those",
        description="Export the audit records from before --before to --export (as `audit "
        "export`), read the file back, check that it holds exactly the records about to be "
        "deleted, and delete them, recording the prune (with the export's head digest) in "
        "the log of every workspace it touched, in one transaction. The database refuses "
        "every other delete from the log.",
        examples="tilecred audit prune --before 90d --export audit-until-90-days-ago.jsonl",
    )  # fmt: skip
    prune.add_argument(
        "--before", metavar="WHEN", type=parse_when, required=True,
        help="delete the records from before WHEN: an ISO 8601 time, or an age (90d)",
    )  # fmt: skip
    prune.add_argument("--export", metavar="FILE", required=True, help="where they go first")
    prune.set_defaults(handler=run_prune)
    verify = add_command(
        actions, "verify-export", parents=parents, takes=ON_THIS_MACHINE,
        summary="check an export's digest chain and that the log recorded its head",
        description="Check FILE's digest chain line by line (a changed, removed, added or "
        "moved line is named), then find the export or prune that wrote it in the local "
        "store's audit log by its head digest. Exit status 1 if either fails.",
        examples="""
            tilecred audit verify-export audit-2025.jsonl
            tilecred audit verify-export --no-store audit-2025.jsonl
        """,
    )  # fmt: skip
    verify.add_argument("file", metavar="FILE", help="an export")
    verify.add_argument(
        "--no-store", action="store_true", help="check the chain only, without the store"
    )
    verify.set_defaults(handler=run_verify_export)
