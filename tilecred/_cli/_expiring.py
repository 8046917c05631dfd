"""``tilecred list --expiring WHEN`` with no teamspace: every teamspace the caller
can see, then the workspace level, each hit with the teamspace it is in.

An expiring SAS token is found wherever it is: a reader who does not know which
teamspace holds it should not have to ask each one in turn.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from tilecred import AccessCredential, Client, PermissionDeniedError

from ._output import CREDENTIAL_COLUMNS, Style, Table, credential_row, status_colour, to_json
from ._teamspaces import list_teamspaces

__all__ = ["list_expiring_everywhere"]

_COLUMNS = (CREDENTIAL_COLUMNS[0], "TEAMSPACE", *CREDENTIAL_COLUMNS[1:])


def _found(
    client: Client, args: argparse.Namespace, shown: Callable[[AccessCredential], bool]
) -> list[tuple[str | None, AccessCredential]]:
    """Each credential that ``shown`` keeps, with its teamspace's name (``None``: none)."""
    # Teamspaces first: a token held to one teamspace is answered from it at
    # workspace level too, and each credential is listed once, under its teamspace.
    scopes: list[tuple[str | None, str | None]] = [
        (row.id, row.name) for row in list_teamspaces(client)
    ]
    # Workspace level last (here no default teamspace is set: a default, like
    # --teamspace, narrows the search to it).
    scopes.append((None, None))
    seen: set[str] = set()
    found: list[tuple[str | None, AccessCredential]] = []
    for ident, name in scopes:
        pager = client.list_credentials(
            teamspace=ident, provider=args.provider,
            exclude_provider=args.exclude_provider, credential_type=args.type,
            verify=True if args.verify else None,
        )  # fmt: skip
        try:
            items = [cred for cred in pager if shown(cred) and cred.id not in seen]
        except PermissionDeniedError:
            continue  # a scope this token may not read: not one the caller can see
        seen.update(cred.id for cred in items)
        found.extend((name, cred) for cred in items)
    return found


def list_expiring_everywhere(
    client: Client, args: argparse.Namespace, shown: Callable[[AccessCredential], bool]
) -> int:
    """Print what expires by then, in every scope, with a TEAMSPACE column (JSON: key)."""
    found = _found(client, args, shown)
    out = sys.stdout
    if args.json:
        for name, cred in found:
            out.write(json.dumps({**json.loads(to_json(cred)), "teamspace": name}) + "\n")
        return 0
    table = Table(out, _COLUMNS, Style(out), lambda column, text: status_colour(column - 1, text))
    rows = []
    for name, cred in found:
        row = credential_row(cred)
        rows.append((row[0], name or "-", *row[1:]))
    table.write(rows)
    if not found:
        print("no credentials expiring by then, in the workspace or any teamspace", file=sys.stderr)
    return 0
