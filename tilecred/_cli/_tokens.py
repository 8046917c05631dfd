"""``tilecred token …``: a server's API tokens, in the server's data directory.

Tokens live beside the store ``tilecred serve`` serves, not behind its API
(no API hands out tokens), so these commands act on a data directory on this
machine, and only on one named with ``--home`` or ``TILECRED_HOME``: never on
a default that would quietly make a new store.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tilecred import NotFoundError

from ._audit import parse_when
from ._failures import CommandError, UsageError
from ._output import Style, Table
from ._parser import AddCommand, add_command

if TYPE_CHECKING:
    from tilecred._server._app import ServerApp
    from tilecred._server._tokens import TokenRecord

__all__ = ["COMMANDS"]

DEFAULT_WORKSPACE = "default"
_TAKES = frozenset({"home", "workspace", "debug"})
TOKEN_COLUMNS = ("ID", "WORKSPACE", "NAME", "KIND", "SCOPE", "EXPIRES", "CREATED", "STATE")


def data_directory(args: argparse.Namespace) -> Path:
    """The server data directory the command line names, said on stderr.

    Raises:
        UsageError: neither ``--home`` nor ``TILECRED_HOME`` names one.
        CommandError: there is no tilecred store there (nothing is created).
    """
    from tilecred._local._store import DATABASE_NAME

    given = getattr(args, "home", None)
    origin = "--home"
    if given is None:
        given, origin = os.environ.get("TILECRED_HOME") or None, "TILECRED_HOME"
    if given is None:
        raise UsageError(
            "token commands act on a server's data directory: name it with --home DIR "
            "or TILECRED_HOME (the directory `tilecred serve` serves)"
        )
    home = Path(given).expanduser()
    if not (home / DATABASE_NAME).is_file():
        raise CommandError(
            f"no tilecred store in {home} ({origin}): start `tilecred serve --home {home}` "
            "there once first"
        )
    print(f"tokens of the server data directory {home} ({origin})", file=sys.stderr)
    return home


@contextlib.contextmanager
def _opened(args: argparse.Namespace) -> Iterator[ServerApp]:
    from tilecred._server._app import create_app

    app = create_app(data_directory(args))
    try:
        yield app
    finally:
        app.close()


def _workspace_name(args: argparse.Namespace) -> str:
    return getattr(args, "workspace", None) or DEFAULT_WORKSPACE


def _when(moment: datetime.datetime | None) -> str:
    return "-" if moment is None else f"{moment.astimezone(datetime.UTC):%Y-%m-%d %H:%M}"


def _kind(token: TokenRecord) -> str:
    if token.kind == "task":
        return "task"
    return "read-only" if token.read_only else "management"


def _scope(token: TokenRecord, teamspace: str | None) -> str:
    """What a task token is held to: its teamspace and credential names, or ``-``."""
    parts = [] if teamspace is None else [f"teamspace {teamspace}"]
    if token.credentials is not None:
        parts.append("credentials " + ",".join(token.credentials))
    return "; ".join(parts) or "-"


def _state(token: TokenRecord) -> str:
    if token.revoked_at is not None:
        return f"revoked {_when(token.revoked_at)}"
    if token.expired():
        return "expired"
    return "live" if token.active else "inactive"


def _row(token: TokenRecord, workspace: str, teamspace: str | None) -> tuple[str, ...]:
    return (token.id, workspace, token.name, _kind(token), _scope(token, teamspace),
            _when(token.expires_at), _when(token.created_at), _state(token))  # fmt: skip


def _task_options(args: argparse.Namespace) -> None:
    """Refuse what only one kind of token takes, before anything is opened."""
    if args.task and args.read_only:
        raise UsageError(
            "--read-only is for management tokens: a task token never changes anything"
        )
    if not args.task:
        given = [o for o, v in (("--teamspace", args.teamspace), ("--credential", args.credential))
                 if v is not None]  # fmt: skip
        if given:
            raise UsageError(f"{given[0]} holds a task token to a scope: give --task too")


def _created(record: TokenRecord, workspace: str, teamspace: str | None) -> str:
    kind = {"task": "task", "read-only": "read-only management"}.get(_kind(record), "management")
    limits = [] if _scope(record, teamspace) == "-" else [_scope(record, teamspace)]
    if record.expires_at is not None:
        limits.append(f"expires {_when(record.expires_at)} UTC")
    held = f" ({', '.join(limits)})" if limits else ""
    return (f"created {kind} token {record.id} for workspace {workspace!r}{held}; "
            "it is shown only this once:")  # fmt: skip


def run_token_create(args: argparse.Namespace) -> int:
    """Issue a token and print it, once."""
    from tilecred._arguments import check_workspace
    from tilecred._server._tokens import check_token_name

    # Checked before anything is opened: a refused name must not leave a new
    # workspace behind.
    wanted = check_workspace(_workspace_name(args))
    check_token_name(args.name)
    _task_options(args)
    with _opened(args) as app:
        workspace = app.store.find_workspace(wanted)
        if workspace is None:
            if not args.create_workspace:
                raise NotFoundError(
                    f"workspace {wanted!r} not found (add --create-workspace to create it)",
                    status=404,
                )
            workspace = app.store.create_workspace(wanted)
            print(f"created workspace {workspace.name!r} ({workspace.id})")
        record, text = app.tokens.create(
            workspace.id, args.name, read_only=args.read_only,
            kind="task" if args.task else "management", teamspace_id=args.teamspace,
            credentials=args.credential, expires_at=args.expires,
        )  # fmt: skip
        print(_created(record, workspace.name, _teamspace_name(app, record)))
        print(text)
    return 0


def run_token_list(args: argparse.Namespace) -> int:
    """Every token's id, workspace, name, access and state: an aligned table."""
    with _opened(args) as app:
        wanted = getattr(args, "workspace", None)
        workspace_id = None
        if wanted is not None:
            found = app.store.find_workspace(wanted)
            if found is None:
                raise NotFoundError(f"workspace {wanted!r} not found", status=404)
            workspace_id = found.id
        tokens = app.tokens.list(workspace_id)
        names: dict[str, str] = {}
        for token in tokens:
            if token.workspace_id not in names:
                record = app.store.find_workspace(token.workspace_id)
                names[token.workspace_id] = record.name if record else token.workspace_id
        table = Table(sys.stdout, TOKEN_COLUMNS, Style(sys.stdout))
        table.write(
            _row(token, names[token.workspace_id], _teamspace_name(app, token)) for token in tokens
        )
        if not tokens:
            print("no tokens", file=sys.stderr)
    return 0


def _teamspace_name(app: ServerApp, token: TokenRecord) -> str | None:
    if token.teamspace_id is None:
        return None
    found = app.store.find_teamspace(token.workspace_id, token.teamspace_id)
    return found.name if found is not None else token.teamspace_id


def run_token_revoke(args: argparse.Namespace) -> int:
    """The token stops working at once."""
    with _opened(args) as app:
        record = app.tokens.revoke(args.token_id)
        print(f"revoked token {record.id} ({record.name!r})")
    return 0


def _add_token(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``token create``, ``token list`` and ``token revoke``."""
    token = add_command(
        subparsers, "token", parents=parents, takes=_TAKES,
        summary="manage a server's API tokens (in its data directory)",
        description="Issue, list and revoke the API tokens of a `tilecred serve`. They are "
        "kept in the server's data directory, which these commands need named: --home DIR "
        "or TILECRED_HOME. Nothing is created there if it holds no store.",
        examples="""
            tilecred token create --home /srv/tilecred --name ci --read-only
            TILECRED_HOME=/srv/tilecred tilecred token list
            tilecred token revoke --home /srv/tilecred tok_0123abcd
        """,
    )  # fmt: skip
    actions = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = add_command(
        actions, "create", parents=parents, takes=_TAKES,
        summary="issue a token (its text is shown once)",
        description="Issue an API token for a workspace (--workspace, default 'default') and "
        "print it once; only its hash is kept. A management token (the default) creates, "
        "updates, deletes, verifies, lists and reads the audit log, never a secret; a task "
        "token (--task) lists, gets and uses credentials, optionally held to one teamspace "
        "and to named credentials, and never changes anything.",
        examples="""
            tilecred token create --home /srv/tilecred --name laptop
            tilecred token create --home /srv/tilecred --task --teamspace ml --credential lake \\
                --expires 8h --name nightly
            tilecred token create --home /srv/tilecred --workspace acme --create-workspace
        """,
    )  # fmt: skip
    create.add_argument("--name", default="token", help="a label for the token (token)")
    create.add_argument(
        "--read-only", action="store_true", help="a management token that cannot change anything"
    )
    create.add_argument(
        "--expires", metavar="WHEN", type=parse_when,
        help="stop working after WHEN: a duration (8h, 7d) or an ISO 8601 time (UTC)",
    )  # fmt: skip
    task = create.add_argument_group(
        "task tokens", "list, get and use credentials (receive their secrets); never change one"
    )
    task.add_argument("--task", action="store_true", help="issue a task token")
    task.add_argument("--teamspace", metavar="T", help="only this teamspace's credentials")
    task.add_argument(
        "--credential", metavar="NAME", action="append", help="only this credential (repeatable)"
    )
    create.add_argument("--create-workspace", action="store_true",
                        help="create the workspace if it does not exist")  # fmt: skip
    create.set_defaults(handler=run_token_create)
    listing = add_command(
        actions, "list", parents=parents, takes=_TAKES,
        summary="list tokens (never their text)",
        description="List tokens as an aligned table: " + ", ".join(TOKEN_COLUMNS) + " (UTC). "
        "--workspace shows one workspace's tokens only.",
        examples="""
            tilecred token list --home /srv/tilecred
            tilecred token list --home /srv/tilecred --workspace acme
        """,
    )  # fmt: skip
    listing.set_defaults(handler=run_token_list)
    revoke = add_command(
        actions, "revoke", parents=parents, takes=_TAKES,
        summary="revoke a token by id",
        description="Revoke a token: the server refuses it from the next request on.",
        examples="tilecred token revoke --home /srv/tilecred tok_0123abcd",
    )  # fmt: skip
    revoke.add_argument("token_id", metavar="TOKEN_ID", help="the id token list shows (tok_…)")
    revoke.set_defaults(handler=run_token_revoke)


COMMANDS: dict[str, AddCommand] = {"token": _add_token}
