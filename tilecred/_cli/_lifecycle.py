"""The credential lifecycle commands: deactivate and activate."""

from __future__ import annotations

import argparse
from typing import Any

from ._options import add_teamspace, scope_text
from ._parser import AddCommand, add_command
from ._session import client_for

__all__ = ["COMMANDS"]


def run_deactivate(args: argparse.Namespace) -> int:
    """Keep a credential, listed, but stop it being used."""
    client_for(args).deactivate_credential(args.name, teamspace=args.teamspace)
    print(f"deactivated credential {args.name!r}{scope_text(args)}")
    return 0


def run_activate(args: argparse.Namespace) -> int:
    """Let a deactivated credential be used again."""
    client_for(args).activate_credential(args.name, teamspace=args.teamspace)
    print(f"activated credential {args.name!r}{scope_text(args)}")
    return 0


def _adder(name: str, summary: str, description: str, handler: Any) -> AddCommand:
    def add(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
        p = add_command(
            subparsers, name, parents=parents,
            summary=summary,
            usage="%(prog)s NAME [--teamspace T] [global options]",
            description=description,
            examples=f"""
                tilecred {name} prod-s3
                tilecred {name} blobs --teamspace ml
            """,
        )  # fmt: skip
        p.add_argument("name", metavar="NAME", help="the credential's name")
        add_teamspace(p)
        p.set_defaults(handler=handler)

    return add


COMMANDS: dict[str, AddCommand] = {
    "deactivate": _adder(
        "deactivate",
        "stop a credential being used, keeping it (tilecred serve and the local store)",
        "Deactivate a credential: it stays stored and listed (ACTIVE no), but using it is "
        "refused and audited, and it stops being its provider's default. Doing it twice "
        "changes nothing. TileDB's hosted service has no such operation.",
        run_deactivate,
    ),
    "activate": _adder(
        "activate",
        "let a deactivated credential be used again",
        "Activate a deactivated credential. It does not become its provider's default "
        "again: `tilecred update NAME --default` does that.",
        run_activate,
    ),
}
