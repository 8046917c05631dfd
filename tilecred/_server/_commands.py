"""The server's command line: ``serve``.

:func:`add_commands` registers it on the CLI's argparse subparsers; the
handler returns the exit code and raises :class:`CredentialsError` on failure.
cheroot is imported only when ``serve`` runs. (``token`` and ``teamspace``
are in ``tilecred._cli``.)
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from .._config import DATABASE_ENV, MASTER_KEY_ENV, resolve_home
from .._errors import InvalidArgumentError
from ._app import ServerApp, create_app
from ._console import CONSOLE_PATH
from ._outbound import Outbound
from ._serve import Limits

if TYPE_CHECKING:
    from ._serve import TLSFiles

__all__ = ["add_commands"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8181
DEFAULT_THREADS = 8
DEFAULT_WORKSPACE = "default"
DEFAULT_LIMITS = Limits()
MAX_TIMEOUT = 3600.0

logger = logging.getLogger("tilecred.server")


def add_commands(subparsers: Any, parents: list[argparse.ArgumentParser] | None = None) -> None:
    """Register ``serve`` on an argparse subparsers object.

    Parameters:
        subparsers: the action returned by ``add_subparsers``.
        parents: the global options serve takes (``--home``, ``--debug``);
            by default those two.
    """
    from .._cli._parser import ON_THIS_MACHINE, add_command, global_options

    serve = add_command(
        subparsers, "serve", parents=parents or [global_options(ON_THIS_MACHINE)],
        takes=ON_THIS_MACHINE,
        summary="serve TileDB's v4 credentials API over the local store",
        description="Serve TileDB's v4 credentials API (and tilecred's extensions) over the "
        "store in --home (default TILECRED_HOME, else the user data dir). The first start "
        "on an empty store creates an admin API token and prints it once.",
        examples="""
            tilecred serve
            tilecred serve --bind 0.0.0.0 --port 8181 --threads 16
            tilecred serve --bind 0.0.0.0 --tls-cert cert.pem --tls-key key.pem
            tilecred serve --home /srv/tilecred --port 0
            tilecred serve --no-console
            tilecred serve --outbound-hosts sts.amazonaws.com,login.example.com
        """,
    )  # fmt: skip
    # --bind, not --host: the global --host says which server to call.
    serve.add_argument(
        "--bind", metavar="ADDRESS", default=DEFAULT_HOST,
        help=f"the address to listen on ({DEFAULT_HOST})",
    )  # fmt: skip
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT}; 0: any free)"
    )
    serve.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                       help=f"worker threads ({DEFAULT_THREADS})")  # fmt: skip
    serve.add_argument(
        "--no-console", dest="console", action="store_false",
        help="do not serve the web console at /console/ (served by default)",
    )  # fmt: skip
    serve.add_argument(
        "--outbound", action="store_true",
        help="let the server call credentials' own services: live verification (tilecred "
        "verify NAME --live) and OAuth exchanges for tasks; off by default",
    )  # fmt: skip
    serve.add_argument(
        "--outbound-hosts", metavar="HOSTS",
        help="with --outbound (implied): only these hosts, comma-separated "
        "(sts.amazonaws.com,login.example.com)",
    )  # fmt: skip
    _add_database(serve)
    _add_limits_and_tls(serve)
    serve.set_defaults(handler=run_serve)


def _add_database(serve: argparse.ArgumentParser) -> None:
    serve.add_argument(
        "--database", metavar="URL",
        help="a PostgreSQL store, postgresql://USER@HOST:PORT/DB, instead of --home's file "
        f"(default {DATABASE_ENV}); several instances may share it. No password here: the "
        f"command line is visible to every user; put it in {DATABASE_ENV}, ~/.pgpass or PGPASSWORD",
    )  # fmt: skip
    serve.add_argument(
        "--key-file", metavar="FILE", type=Path,
        help=f"the master key file (base64 of 32 bytes, mode 0600) when {MASTER_KEY_ENV} is not "
        "set; default: the key file in --home. A PostgreSQL store never creates one",
    )  # fmt: skip


def _add_limits_and_tls(serve: argparse.ArgumentParser) -> None:
    limits = DEFAULT_LIMITS
    option = serve.add_argument
    option(
        "--max-connections",
        type=int,
        default=limits.max_connections,
        metavar="N",
        help="connections held open at once; at the limit the oldest one not being "
        f"answered is closed ({limits.max_connections})",
    )
    option(
        "--header-timeout",
        type=float,
        default=limits.header_timeout,
        metavar="SECONDS",
        help="time a connection has to send a request's line and headers "
        f"({limits.header_timeout:g})",
    )
    option(
        "--body-timeout",
        type=float,
        default=limits.body_timeout,
        metavar="SECONDS",
        help=f"time a request has to send its body ({limits.body_timeout:g})",
    )
    option(
        "--tls-cert",
        metavar="FILE",
        help="serve HTTPS with this PEM certificate (chain); needs --tls-key",
    )
    option("--tls-key", metavar="FILE", help="the PEM private key of --tls-cert (unencrypted)")


@contextlib.contextmanager
def _opened(args: argparse.Namespace) -> Iterator[ServerApp]:
    database = _database(args)
    key_file = getattr(args, "key_file", None)
    app = create_app(
        None if database else _home(args),
        database=database,
        key_file=None if key_file is None else key_file.expanduser(),
        pool_size=getattr(args, "threads", None),
        console=getattr(args, "console", True),
        outbound=Outbound.from_options(
            getattr(args, "outbound", False), getattr(args, "outbound_hosts", None)
        ),
    )
    try:
        yield app
    finally:
        app.close()


def _home(args: argparse.Namespace) -> Path:
    return resolve_home(getattr(args, "home", None))


def _database(args: argparse.Namespace) -> str | None:
    """The PostgreSQL URL to serve from: ``--database``, else the environment's
    (unless ``--home`` names a directory); ``None`` for the SQLite store in the home."""
    from .._local._postgres import is_database_url, redact_url

    given: str | None = getattr(args, "database", None)
    if given is None:
        if getattr(args, "home", None) is not None:
            return None
        return os.environ.get(DATABASE_ENV) or None
    if getattr(args, "home", None) is not None:
        raise InvalidArgumentError("give --database or --home, not both")
    if not is_database_url(given):
        raise InvalidArgumentError("--database must be a postgresql:// URL")
    if redact_url(given)[1] is not None:
        raise InvalidArgumentError(
            "--database must not carry a password: the command line is visible to every "
            f"user of this machine; put the URL in {DATABASE_ENV}, or the password in "
            "~/.pgpass or PGPASSWORD"
        )
    return given


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


def _limits(args: argparse.Namespace) -> Limits:
    if args.max_connections <= args.threads:
        raise InvalidArgumentError(
            f"--max-connections must be more than --threads ({args.threads}), "
            f"not {args.max_connections}"
        )
    for option, value in (("--header-timeout", args.header_timeout),
                          ("--body-timeout", args.body_timeout)):  # fmt: skip
        if not 0 < value <= MAX_TIMEOUT:
            raise InvalidArgumentError(
                f"{option} must be more than 0 and at most {MAX_TIMEOUT:g} seconds, not {value:g}"
            )
    return Limits(args.max_connections, args.header_timeout, args.body_timeout)


def _tls_files(args: argparse.Namespace) -> TLSFiles | None:
    from ._serve import TLSFiles

    if bool(args.tls_cert) != bool(args.tls_key):
        raise InvalidArgumentError("--tls-cert and --tls-key go together: give both or neither")
    if not args.tls_cert:
        return None
    return TLSFiles(Path(args.tls_cert).expanduser(), Path(args.tls_key).expanduser())


def run_serve(args: argparse.Namespace) -> int:
    """``tilecred serve``: run until SIGINT or SIGTERM, then stop cleanly."""
    from .._hardening import harden_process
    from ._serve import Server, make_server

    harden_process()  # before the master key is read: no core file or debugger sees it
    if args.threads < 1:
        raise InvalidArgumentError(f"--threads must be at least 1, not {args.threads}")
    if not 0 <= args.port <= 65535:
        raise InvalidArgumentError(f"--port must be from 0 to 65535, not {args.port}")
    limits = _limits(args)
    tls = _tls_files(args)
    _configure_logging()
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
            # Bound before the first start's token is issued: a taken port
            # must not use up the one showing of the admin token.
            server = make_server(app, args.bind, args.port, args.threads, tls=tls, limits=limits)
            servers.append(server)
            try:
                admin = bootstrap(app)
            except BaseException:
                server.close()
                raise
            if admin is not None:
                print(
                    "First start: created an admin API token for workspace "
                    f"{DEFAULT_WORKSPACE!r}.\nIt is shown only this once; keep it somewhere safe:\n"
                    f"  {admin}",
                    flush=True,
                )
            where = app.store.engine.location
            console = "" if app.console is None else f"; console {server.url}{CONSOLE_PATH}"
            print(
                f"tilecred serving {where} on {server.url} ({args.threads} threads){console}",
                flush=True,
            )
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
        server_logger.addHandler(handler)
        server_logger.setLevel(logging.INFO)
        server_logger.propagate = False
