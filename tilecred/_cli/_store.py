"""``tilecred store copy``: move a store between SQLite and PostgreSQL.

It works on the databases directly (no server, no API token) and needs no
master key: the ciphertext goes over as it is. The key stays where it was:
the message says where the destination must find it.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from tilecred import InvalidArgumentError

from ._parser import AddCommand, add_command

__all__ = ["COMMANDS"]

_TAKES = frozenset({"debug"})
# The tables in the order the summary names them, and their singular nouns.
_NOUNS = {
    "workspaces": "workspace",
    "teamspaces": "teamspace",
    "credentials": "credential",
    "associations": "association",
    "tokens": "API token",
    "audit": "audit record",
    "meta": "setting",
}


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _key_hint(source: str) -> str:
    """Where the destination's key comes from: the source's, never copied."""
    from tilecred._local._postgres import is_database_url
    from tilecred._local._sqlite import KEY_FILE_NAME

    if os.environ.get("TILECRED_MASTER_KEY"):
        return "open it with the same TILECRED_MASTER_KEY"
    if not is_database_url(source):
        return (
            f"the key was not copied: give the destination the key in "
            f"{os.path.join(os.path.expanduser(source), KEY_FILE_NAME)} "
            "(as TILECRED_MASTER_KEY, or that file beside an SQLite store)"
        )
    return "the key was not copied: open it with the key the source used"


def _no_password(option: str, database: str) -> None:
    """Refuse a URL with a password, as ``serve --database`` does: argv is public."""
    from tilecred._local._postgres import is_database_url, redact_url

    if is_database_url(database) and redact_url(database)[1] is not None:
        raise InvalidArgumentError(
            f"{option} must not carry a password: the command line is visible to every user "
            "of this machine; put the password in ~/.pgpass or PGPASSWORD"
        )


def run_store_copy(args: argparse.Namespace) -> int:
    """Copy every row from ``--from`` into the empty ``--to``; print what was copied."""
    # Imported here: only this command loads the store's engines.
    from tilecred._local._copy import copy_store

    _no_password("--from", args.source)
    _no_password("--to", args.destination)
    report = copy_store(args.source, args.destination)
    counts = ", ".join(_plural(report.counts[table], noun) for table, noun in _NOUNS.items())
    print(f"copied {counts}")
    print(f"from {report.source}")
    print(f"to {report.destination}; counts checked")
    print(_key_hint(args.source))
    return 0


def _add_store(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``store copy``."""
    store = add_command(
        subparsers, "store", parents=parents, takes=_TAKES,
        summary="move a store between SQLite and PostgreSQL",
        examples="tilecred store copy --from ~/.local/share/tilecred --to postgresql://tilecred@db/tilecred",
    )  # fmt: skip
    actions = store.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    copy = add_command(
        actions, "copy", parents=parents, takes=_TAKES,
        summary="copy every row of one store into an empty one",
        description="Copy a store (credentials with their ciphertext as it is, teamspaces, "
        "workspaces, API tokens, the audit log and the key check) from an SQLite store's "
        "directory or a postgresql:// URL into another, which must hold no rows; a new one "
        "gets the schema. Needs no master key, and checks every table's count before it "
        "commits. The destination opens with the source's key. A URL must not carry a "
        "password (the command line is public): use ~/.pgpass or PGPASSWORD.",
        examples="""
            tilecred store copy --from /srv/tilecred --to postgresql://tilecred@db.internal/tilecred
            tilecred store copy --from postgresql://tilecred@db.internal/tilecred --to ./backup
        """,
    )  # fmt: skip
    copy.add_argument(
        "--from", dest="source", required=True, metavar="SRC",
        help="an SQLite store's directory, or a postgresql:// URL",
    )  # fmt: skip
    copy.add_argument(
        "--to", dest="destination", required=True, metavar="DST",
        help="the same; an empty store or database (a missing directory is created)",
    )  # fmt: skip
    copy.set_defaults(handler=run_store_copy)


COMMANDS: dict[str, AddCommand] = {"store": _add_store}
