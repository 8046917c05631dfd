"""The association commands: associate, dissociate, associations."""

from __future__ import annotations

import argparse
from typing import Any

from tilecred import Association

from ._options import add_teamspace, scope_text
from ._output import print_items, utc_time
from ._parser import AddCommand, add_command
from ._session import client_for

__all__ = ["COMMANDS"]

_TARGET_HELP = (
    "a URL prefix with its scheme (s3://bucket/prefix/, az://container/, gs://bucket/, "
    "postgresql://host:5432/db, https://api.example.com/) or an object id (dag:etl_daily)"
)


def run_associate(args: argparse.Namespace) -> int:
    """Associate a credential with a target (its default with --default)."""
    made = client_for(args).associate_credential(
        args.name, args.target, teamspace=args.teamspace, default=args.default
    )
    role = " as its default" if made.default else ""
    print(f"associated credential {args.name!r}{scope_text(args)} with {args.target!r}{role}")
    return 0


def run_dissociate(args: argparse.Namespace) -> int:
    """Remove a credential's association with a target."""
    client_for(args).dissociate_credential(args.name, args.target, teamspace=args.teamspace)
    print(f"dissociated credential {args.name!r}{scope_text(args)} from {args.target!r}")
    return 0


def _row(item: Association) -> list[str]:
    return [item.target, item.name, "yes" if item.default else "no", utc_time(item.created_at)]


def run_associations(args: argparse.Namespace) -> int:
    """List associations, by target then name."""
    found = client_for(args).list_associations(
        args.name, target=args.target, teamspace=args.teamspace
    )
    print_items(
        found, as_json=args.json, headers=("TARGET", "NAME", "DEFAULT", "CREATED"), row=_row,
        empty=f"no associations{scope_text(args)}",
    )  # fmt: skip
    return 0


def _add_associate(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = add_command(
        subparsers, "associate", parents=parents,
        summary="associate a credential with a URL prefix or object id it is for",
        usage="%(prog)s NAME TARGET [--default] [--teamspace T] [global options]",
        description="Associate a credential with a target, so that `tilecred exec --url URL` "
        "and use_credential(url=…) find it by the URL (the longest associated prefix) and "
        "use_credential(target=…) by the id. With --default it becomes the target's default, "
        "the one chosen when several credentials share the target (another loses it); "
        "associating again sets that anew. tilecred serve and the local store.",
        examples="""
            tilecred associate lake-reader s3://lake/raw/ --default
            tilecred associate warehouse postgresql://db.internal:5432/sales
            tilecred associate etl-key dag:etl_daily --teamspace ml
        """,
    )  # fmt: skip
    p.add_argument("name", metavar="NAME", help="the credential's name")
    p.add_argument("target", metavar="TARGET", help=_TARGET_HELP)
    p.add_argument("--default", action="store_true", help="make it the target's default")
    add_teamspace(p)
    p.set_defaults(handler=run_associate)


def _add_dissociate(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = add_command(
        subparsers, "dissociate", parents=parents,
        summary="remove a credential's association with a target",
        usage="%(prog)s NAME TARGET [--teamspace T] [global options]",
        examples="""
            tilecred dissociate lake-reader s3://lake/raw/
        """,
    )  # fmt: skip
    p.add_argument("name", metavar="NAME", help="the credential's name")
    p.add_argument("target", metavar="TARGET", help="the target, exactly as associated")
    add_teamspace(p)
    p.set_defaults(handler=run_dissociate)


def _add_associations(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = add_command(
        subparsers, "associations", parents=parents,
        summary="list which credentials are associated with which targets",
        usage="%(prog)s [NAME] [--target T] [--teamspace T] [--json] [global options]",
        examples="""
            tilecred associations
            tilecred associations lake-reader
            tilecred associations --target s3://lake/raw/ --json
        """,
    )  # fmt: skip
    p.add_argument("name", metavar="NAME", nargs="?", help="only this credential's")
    p.add_argument("--target", metavar="T", help="only this target's (matched exactly)")
    add_teamspace(p)
    p.add_argument("--json", action="store_true", help="JSON Lines, one association a line")
    p.set_defaults(handler=run_associations)


COMMANDS: dict[str, AddCommand] = {
    "associate": _add_associate,
    "dissociate": _add_dissociate,
    "associations": _add_associations,
}
