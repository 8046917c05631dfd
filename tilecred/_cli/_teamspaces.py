"""``tilecred teamspace create/list``: where every other command goes.

Over HTTP these are TileDB's teamspace create and list calls; on the embedded
default, the local store: the client's ``create_teamspace`` and
``list_teamspaces`` either way.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from typing import TYPE_CHECKING, Any

from tilecred import Client

from ._output import print_items
from ._parser import AddCommand, add_command
from ._session import client_for

if TYPE_CHECKING:
    from tilecred import Teamspace

__all__ = ["COMMANDS", "TeamspaceRow", "create_teamspace", "list_teamspaces"]

TEAMSPACE_COLUMNS = ("ID", "NAME", "VISIBILITY", "DESCRIPTION")


@dataclasses.dataclass(frozen=True)
class TeamspaceRow:
    """What the command prints of a teamspace, from either backend."""

    id: str
    name: str
    visibility: str
    description: str | None


def _row(made: Teamspace) -> TeamspaceRow:
    return TeamspaceRow(made.teamspace_id, made.name, made.visibility, made.description)


def create_teamspace(
    client: Client, name: str, *, visibility: str, description: str | None
) -> TeamspaceRow:
    """Create a teamspace in the client's workspace, over HTTP or in the local store.

    Raises:
        InvalidArgumentError: a bad name (before any I/O).
        CredentialsError: the server or the store refused (409 when the name is taken).
    """
    return _row(client.create_teamspace(name, visibility=visibility, description=description))


def list_teamspaces(client: Client) -> list[TeamspaceRow]:
    """The client's workspace's teamspaces; a local store not yet made has none.

    Raises:
        CredentialsError: the server or the store failed.
    """
    if client.settings.backend != "http":
        from tilecred._config import DATABASE_ENV
        from tilecred._local._store import DATABASE_NAME

        home = client.settings.home
        in_database = (
            bool(os.environ.get(DATABASE_ENV)) and client.settings.sources.get("home") != "argument"
        )
        if not in_database and (home is None or not (home / DATABASE_NAME).is_file()):
            return []  # listing makes no store
    return [_row(found) for found in client.list_teamspaces()]


def run_teamspace_create(args: argparse.Namespace) -> int:
    """Create a teamspace where calls go."""
    row = create_teamspace(
        client_for(args), args.name, visibility=args.visibility, description=args.description
    )
    print(f"created teamspace {row.name!r} ({row.id})")
    return 0


def run_teamspace_list(args: argparse.Namespace) -> int:
    """List the workspace's teamspaces: a table, or JSON Lines."""
    print_items(
        list_teamspaces(client_for(args)), as_json=args.json, headers=TEAMSPACE_COLUMNS,
        row=lambda r: (r.id, r.name, r.visibility, r.description or "-"), empty="no teamspaces",
    )  # fmt: skip
    return 0


def _add_teamspace(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``teamspace create`` and ``teamspace list``."""
    teamspace = add_command(
        subparsers, "teamspace", parents=parents,
        summary="create and list teamspaces, where every other command goes",
        description="Create and list the workspace's teamspaces: over TileDB's API (or a "
        "`tilecred serve`) when a host is configured, in the local store otherwise.",
        examples="""
            tilecred teamspace create ml
            tilecred teamspace list
        """,
    )  # fmt: skip
    actions = teamspace.add_subparsers(dest="teamspace_command", metavar="ACTION", required=True)
    create = add_command(
        actions, "create", parents=parents,
        summary="create a teamspace",
        usage="%(prog)s NAME [--visibility {private,public}] [--description TEXT] "
        "[global options]",
        examples="""
            tilecred teamspace create ml
            tilecred teamspace create finance --visibility public --description 'Q4 reports'
        """,
    )  # fmt: skip
    create.add_argument("name", metavar="NAME", help="the teamspace's name (not ts_…)")
    create.add_argument(
        "--visibility", choices=("private", "public"), default="private", help="(private)"
    )
    create.add_argument("--description", metavar="TEXT", help="a description")
    create.set_defaults(handler=run_teamspace_create)
    listing = add_command(
        actions, "list", parents=parents,
        summary="list the workspace's teamspaces",
        description="List the workspace's teamspaces as a table (" + ", ".join(TEAMSPACE_COLUMNS)
        + ") or as JSON Lines with --json. A local store not yet made has none.",
        usage="%(prog)s [--json] [global options]",
        examples="""
            tilecred teamspace list
            tilecred --workspace acme teamspace list --json
        """,
    )  # fmt: skip
    listing.add_argument("--json", action="store_true", help="print JSON Lines")
    listing.set_defaults(handler=run_teamspace_list)


COMMANDS: dict[str, AddCommand] = {"teamspace": _add_teamspace}
