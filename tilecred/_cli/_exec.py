"""``tilecred exec NAME… -- COMMAND``: run a command with credentials in its environment.

The secrets travel only in the child's environment: never in its arguments
(``ps`` shows those to every user), never on stdout or stderr, never in an
error. Each credential goes through ``use_credential`` (the gate, the audit
log); every access is closed after the child exits, which removes any key
file one wrote. There is deliberately no ``--env-file``: see docs/using.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

from .._config import DATABASE_ENV, MASTER_KEY_ENV, SOURCES
from .._hardening import harden_process
from ._failures import CommandError, UsageError
from ._options import add_teamspace
from ._parser import AddCommand, add_command
from ._session import client_for

if TYPE_CHECKING:
    from tilecred import CredentialAccess

__all__ = ["COMMANDS", "child_environment", "split_command", "withheld"]

# Signals a terminal sends to its whole foreground process group.
_FROM_TERMINAL = (signal.SIGINT, signal.SIGQUIT)
_FORWARDED = (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP,
              signal.SIGUSR1, signal.SIGUSR2)  # fmt: skip
EXIT_CANNOT_EXECUTE = 126
EXIT_NOT_FOUND = 127


def split_command(argv: Sequence[str]) -> tuple[list[str], list[str] | None]:
    """``exec``'s own arguments and the command after the first ``--`` (``None``: no ``--``)."""
    argv = list(argv)
    if "--" not in argv:
        return argv, None
    at = argv.index("--")
    return argv[:at], argv[at + 1 :]


def merged_environment(names: Sequence[str], envs: Sequence[dict[str, str]]) -> dict[str, str]:
    """The credentials' variables together; two that set the same variable are refused.

    Raises:
        UsageError: naming both credentials and the variable, never its value.
    """
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for name, env in zip(names, envs, strict=True):
        for variable, value in sorted(env.items()):  # the same clash named every time
            if variable in owner:
                raise UsageError(
                    f"credentials {owner[variable]!r} and {name!r} both set {variable}: "
                    "run them in separate commands (nothing was started)"
                )
            owner[variable] = name
            merged[variable] = value
    return merged


def _terminal_sent_it() -> bool:
    """Whether our process group is a terminal's foreground: its Ctrl-C reached the child too."""
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        try:
            if stream is not None and stream.isatty():
                return os.tcgetpgrp(stream.fileno()) == os.getpgrp()
        except (OSError, ValueError):
            continue
    return False


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes] | int:
    """The started child, or the shell's status for a command that cannot start."""
    try:
        return subprocess.Popen(command, env=env)
    except FileNotFoundError:
        sys.stderr.write(f"tilecred exec: {command[0]}: command not found\n")
        return EXIT_NOT_FOUND
    except PermissionError:
        sys.stderr.write(f"tilecred exec: {command[0]}: permission denied\n")
        return EXIT_CANNOT_EXECUTE
    except OSError as exc:
        raise CommandError(f"cannot run {command[0]!r}: {exc.strerror}") from exc


def _run_child(command: list[str], env: dict[str, str]) -> int:
    """Run ``command``; forward signals to it; its status, 128+n for a signal n."""
    children: list[subprocess.Popen[bytes]] = []
    pending: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        # A terminal's Ctrl-C already went to the child, in our process group.
        if signum in _FROM_TERMINAL and _terminal_sent_it():
            return
        if not children:
            pending.append(signum)  # came while it was starting: delivered once it runs
        elif children[0].poll() is None:
            children[0].send_signal(signum)

    # Installed before the start, so no signal in between is lost or kills us alone.
    previous = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
    try:
        started = _start(command, env)
        if isinstance(started, int):
            return started
        children.append(started)
        for signum in pending:
            started.send_signal(signum)
        code = started.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - code if code < 0 else code


def run_exec(args: argparse.Namespace) -> int:
    """Use each credential, check their variables, run the command, close everything."""
    command: list[str] | None = args.child_command
    if not command:
        raise UsageError("give the command to run after --: tilecred exec NAME -- COMMAND [ARG…]")
    names: list[str] = args.names
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise UsageError(f"credential {duplicated[0]!r} is named twice")
    harden_process()  # before any secret is in memory: no core file or debugger sees it
    client = client_for(args)
    accesses: list[CredentialAccess] = []
    try:
        for name in names:
            accesses.append(client.use_credential(name, teamspace=args.teamspace))
        added = merged_environment(names, [access.env() for access in accesses])
        env = child_environment(os.environ, added, getattr(args, "token_env", None))
        return _run_child(command, env)
    finally:
        for access in accesses:
            access.close()


# What opens tilecred itself rather than the named credentials: the local
# store's master key and where it lives, a PostgreSQL store's URL, TileDB's API
# token or password (perhaps a management login). The child gets what it was
# given by name; docs/security.md lists these.
_WITHHELD = frozenset({
    MASTER_KEY_ENV, DATABASE_ENV, SOURCES["home"][0], SOURCES["token"][0],
    SOURCES["password"][0],
})  # fmt: skip
# libpq reads every PG* variable (PGPASSWORD, PGPASSFILE, PGSERVICE, PGSSLKEY,
# PGUSER, PGHOST, …): with a PostgreSQL store they log in to it.
_STORE_LOGIN_PREFIX = "PG"


def withheld(environ: Mapping[str, str], token_env: str | None) -> frozenset[str]:
    """The variables of ``environ`` that open tilecred itself, kept from the child.

    Parameters:
        environ: this process's environment.
        token_env: the variable ``--token-env`` named, if any.
    """
    names = set(_WITHHELD)
    if token_env:
        names.add(token_env)
    if environ.get(DATABASE_ENV):
        names.update(key for key in environ if key.startswith(_STORE_LOGIN_PREFIX))
    return frozenset(names & environ.keys())


def child_environment(
    environ: Mapping[str, str], added: Mapping[str, str], token_env: str | None
) -> dict[str, str]:
    """This process's environment less what opens tilecred, plus the credentials' variables.

    A variable a credential sets is that credential's and always passes.
    """
    kept = withheld(environ, token_env)
    return {**{k: v for k, v in environ.items() if k not in kept}, **added}


def _add_exec(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``tilecred exec``."""
    p = add_command(
        subparsers, "exec", parents=parents,
        summary="run a command with credentials' variables in its environment",
        usage="%(prog)s NAME [NAME ...] [--teamspace T] [global options] -- COMMAND [ARG ...]",
        description="Use each credential (only those allowed in tasks; every use is audited) "
        "and run COMMAND with their variables (AWS_ACCESS_KEY_ID, AZURE_STORAGE_KEY, "
        "GOOGLE_APPLICATION_CREDENTIALS, …) added to its environment. Secrets go only into "
        "that environment: never into arguments, output or errors. Two credentials that set "
        "the same variable are refused before anything starts (status 2). The command's exit "
        "status is passed through (128+n when signal n ended it); signals sent to tilecred "
        "(Ctrl-C, SIGTERM) are passed on to it; key files are removed when it exits.",
        examples="""
            tilecred exec lake -- aws s3 ls s3://lake/
            tilecred exec lake blobs --teamspace ml -- python train.py --epochs 3
            tilecred exec lake -- docker run --env AWS_ACCESS_KEY_ID --env AWS_SECRET_ACCESS_KEY img
        """,
    )  # fmt: skip
    p.add_argument("names", metavar="NAME", nargs="+", help="the credentials to use")
    add_teamspace(p)
    p.set_defaults(handler=run_exec, child_command=None)


COMMANDS: dict[str, AddCommand] = {"exec": _add_exec}
