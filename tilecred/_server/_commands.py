"""The command line of the server: ``serve``, ``token …`` and ``teamspace …``.

:func:`add_commands` registers them on the CLI's argparse subparsers; each
handler returns the exit code and raises :class:`CredentialsError` on failure.
waitress is imported only when ``serve`` runs.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from .._errors import InvalidArgumentError, NotFoundError
from ._app import ServerApp, create_app, resolve_home
from ._tokens import TokenRecord

__all__ = ["add_commands"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8181
DEFAULT_THREADS = 8
DEFAULT_WORKSPACE = "default"

logger = logging.getLogger("tilecred.server")


def _examples(*lines: str) -> dict[str, Any]:
    """The keyword arguments that give a command an examples epilog, laid out as written."""
    return {
        "epilog": "examples:\n" + "\n".join(f"  {line}" for line in lines),
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def add_commands(subparsers: Any) -> None:
    """Register ``serve``, ``token`` and ``teamspace`` on an argparse subparsers object."""
    # --workspace is also a global option of the main command line: its default
    # is suppressed here so that `tilecred --workspace X token create` keeps X.
    workspace: dict[str, Any] = {
        "default": argparse.SUPPRESS,
        "help": f"workspace name or id ({DEFAULT_WORKSPACE})",
    }
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument(
        "--data", metavar="DIR", help="data directory (default: TILECRED_HOME or the user data dir)"
    )

    serve = subparsers.add_parser(
        "serve", parents=[data], help="serve TileDB's v4 credentials API over the local store",
        **_examples("tilecred serve", "tilecred serve --host 0.0.0.0 --port 8181 --threads 16",
                    "tilecred serve --data /srv/tilecred --port 0"),
    )  # fmt: skip
    serve.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on ({DEFAULT_HOST})"
    )
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT}; 0: any free)"
    )
    serve.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                       help=f"worker threads ({DEFAULT_THREADS})")  # fmt: skip
    serve.set_defaults(handler=run_serve)

    token = subparsers.add_parser(
        "token", help="manage the server's API tokens",
        **_examples("tilecred token create --name ci --read-only", "tilecred token list",
                    "tilecred token revoke tok_0123abcd"),
    )  # fmt: skip
    token_commands = token.add_subparsers(dest="token_command", metavar="COMMAND", required=True)
    create = token_commands.add_parser(
        "create", parents=[data], help="issue a token (shown once)",
        **_examples("tilecred token create --name laptop",
                    "tilecred token create --workspace acme --create-workspace --read-only"),
    )  # fmt: skip
    create.add_argument("--workspace", **workspace)
    create.add_argument("--name", default="token", help="a label for the token")
    create.add_argument("--read-only", action="store_true", help="the token cannot change anything")
    create.add_argument("--create-workspace", action="store_true",
                        help="create the workspace if it does not exist")  # fmt: skip
    create.set_defaults(handler=run_token_create)
    listing = token_commands.add_parser(
        "list", parents=[data], help="list tokens (never their text)",
        **_examples("tilecred token list", "tilecred token list --workspace acme"),
    )  # fmt: skip
    listing.add_argument(
        "--workspace", default=argparse.SUPPRESS, help="only this workspace's tokens"
    )
    listing.set_defaults(handler=run_token_list)
    revoke = token_commands.add_parser(
        "revoke", parents=[data], help="revoke a token by id",
        **_examples("tilecred token revoke tok_0123abcd"),
    )  # fmt: skip
    revoke.add_argument("token_id", metavar="TOKEN_ID", help="the id shown by token list (tok_…)")
    revoke.set_defaults(handler=run_token_revoke)

    teamspace = subparsers.add_parser(
        "teamspace", help="manage teamspaces",
        **_examples("tilecred teamspace create ml", "tilecred teamspace list"),
    )  # fmt: skip
    ts_commands = teamspace.add_subparsers(
        dest="teamspace_command", metavar="COMMAND", required=True
    )
    ts_create = ts_commands.add_parser(
        "create", parents=[data], help="create a teamspace",
        **_examples("tilecred teamspace create ml",
                    "tilecred teamspace create finance --visibility private --description 'Q4'"),
    )  # fmt: skip
    ts_create.add_argument("name", metavar="NAME")
    ts_create.add_argument("--workspace", **workspace)
    ts_create.add_argument("--visibility", choices=("private", "public"), default="private")
    ts_create.add_argument("--description")
    ts_create.set_defaults(handler=run_teamspace_create)
    ts_list = ts_commands.add_parser(
        "list", parents=[data], help="list teamspaces",
        **_examples("tilecred teamspace list", "tilecred teamspace list --workspace acme"),
    )  # fmt: skip
    ts_list.add_argument("--workspace", **workspace)
    ts_list.set_defaults(handler=run_teamspace_list)


@contextlib.contextmanager
def _opened(args: argparse.Namespace) -> Iterator[ServerApp]:
    app = create_app(_home(args))
    try:
        yield app
    finally:
        app.close()


def _home(args: argparse.Namespace) -> Path:
    # The main CLI's --home means the same directory; --data wins when both are given.
    return resolve_home(args.data or getattr(args, "home", None))


def _workspace_arg(args: argparse.Namespace) -> str:
    """The --workspace given before or after the command, else the default."""
    return getattr(args, "workspace", None) or DEFAULT_WORKSPACE


def _workspace_id(app: ServerApp, ident: str) -> str:
    record = app.store.find_workspace(ident)
    if record is None:
        raise NotFoundError(f"workspace {ident!r} not found", status=404)
    return record.id


def _describe(token: TokenRecord, workspace: str) -> str:
    access = "read-only" if token.read_only else "read-write"
    state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "live"
    return (f"{token.id}  {workspace}  {token.name!r}  {access}  "
            f"created {token.created_at:%Y-%m-%d %H:%M}  {state}")  # fmt: skip


# -- serve ----------------------------------------------------------------------


def bootstrap(app: ServerApp) -> str | None:
    """On the first start, an admin token for the default workspace; else ``None``.

    The workspace is created when the store has none by that name. The
    bootstrap counts as done only once the token is stored (one transaction
    of the token file), so a start that fails before that tries again next time.
    """
    if app.tokens.bootstrapped():
        return None
    workspace = app.store.ensure_workspace(DEFAULT_WORKSPACE)
    issued = app.tokens.bootstrap(workspace.id, "admin")
    return None if issued is None else issued[1]


def run_serve(args: argparse.Namespace) -> int:
    """``tilecred serve``: run until SIGINT or SIGTERM, then stop cleanly."""
    from ._serve import Server, make_server

    if args.threads < 1:
        raise InvalidArgumentError(f"--threads must be at least 1, not {args.threads}")
    if not 0 <= args.port <= 65535:
        raise InvalidArgumentError(f"--port must be from 0 to 65535, not {args.port}")
    _configure_logging()
    home = _home(args)
    servers: list[Server] = []
    stopping: list[str] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        # Kept installed until the store is closed, so a second signal during
        # the drain cannot kill the process halfway through.
        if not stopping:
            logger.info("received %s, stopping", signal.Signals(signum).name)
        stopping.append(signal.Signals(signum).name)
        for server in servers:
            server.stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with _opened(args) as app:
            admin = bootstrap(app)
            server = make_server(app, args.host, args.port, args.threads)
            servers.append(server)
            if admin is not None:
                print(
                    "First start: created an admin API token for workspace "
                    f"{DEFAULT_WORKSPACE!r}.\nIt is shown only this once; keep it somewhere safe:\n"
                    f"  {admin}",
                    flush=True,
                )
            print(f"tilecred serving {home} on {server.url} ({args.threads} threads)", flush=True)
            # A signal that came during start-up has already asked it to stop:
            # it then closes at once, through the same drain.
            server.serve_forever()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("tilecred stopped", flush=True)
    return 0


def _configure_logging() -> None:
    # The access log goes to stderr unless the host application set logging up.
    server_logger = logging.getLogger("tilecred.server")
    if not server_logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        for name in ("tilecred.server", "waitress"):
            named = logging.getLogger(name)
            named.addHandler(handler)
            named.setLevel(logging.INFO)
            named.propagate = False


# -- tokens ---------------------------------------------------------------------


def run_token_create(args: argparse.Namespace) -> int:
    """``tilecred token create``: issue a token and print it, once."""
    from .._arguments import check_workspace
    from ._tokens import check_token_name

    # Checked before anything is opened: a refused name must not leave a new
    # workspace behind.
    wanted = check_workspace(_workspace_arg(args))
    check_token_name(args.name)
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
        record, text = app.tokens.create(workspace.id, args.name, read_only=args.read_only)
        access = "read-only" if record.read_only else "read-write"
        print(f"created {access} token {record.id} for workspace {workspace.name!r}; "
              "it is shown only this once:")  # fmt: skip
        print(text)
    return 0


def run_token_list(args: argparse.Namespace) -> int:
    """``tilecred token list``: every token's id, workspace, name and state."""
    with _opened(args) as app:
        wanted = getattr(args, "workspace", None)
        workspace_id = None if wanted is None else _workspace_id(app, wanted)
        tokens = app.tokens.list(workspace_id)
        names: dict[str, str] = {}
        for token in tokens:
            if token.workspace_id not in names:
                record = app.store.find_workspace(token.workspace_id)
                names[token.workspace_id] = record.name if record else token.workspace_id
            print(_describe(token, names[token.workspace_id]))
        if not tokens:
            print("no tokens")
    return 0


def run_token_revoke(args: argparse.Namespace) -> int:
    """``tilecred token revoke TOKEN_ID``: the token stops working at once."""
    with _opened(args) as app:
        record = app.tokens.revoke(args.token_id)
        print(f"revoked token {record.id} ({record.name!r})")
    return 0


# -- teamspaces -----------------------------------------------------------------


def run_teamspace_create(args: argparse.Namespace) -> int:
    """``tilecred teamspace create NAME``."""
    from .._arguments import check_name
    from .._limits import MAX_TEAMSPACE_NAME

    name = check_name(args.name, "teamspace name", MAX_TEAMSPACE_NAME)
    if name.startswith("ts_"):
        raise InvalidArgumentError(f"teamspace name {name!r} must not start with 'ts_'")
    with _opened(args) as app:
        workspace = _workspace_arg(args)
        record = app.store.create_teamspace(
            _workspace_id(app, workspace), name, visibility=args.visibility,
            description=args.description,
        )  # fmt: skip
        print(f"created teamspace {record.name!r} ({record.id}) in workspace {workspace!r}")
    return 0


def run_teamspace_list(args: argparse.Namespace) -> int:
    """``tilecred teamspace list``."""
    with _opened(args) as app:
        records = app.store.list_teamspaces(_workspace_id(app, _workspace_arg(args)))
        for record in records:
            print(f"{record.id}  {record.name}  {record.visibility}")
        if not records:
            print("no teamspaces")
    return 0
