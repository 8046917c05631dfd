"""``tilecred exec NAME… -- COMMAND``: run a command with credentials in its environment.

The secrets travel only in the child's environment: never in its arguments
(``ps`` shows those to every user), never on stdout or stderr, never in an
error. Each credential goes through ``use_credential`` (the gate, the audit
log); every access is closed after the child exits, which removes any key
file one wrote. There is deliberately no ``--env-file``: see docs/using.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._config import DATABASE_ENV, MASTER_KEY_ENV, SOURCES
from .._hardening import harden_process
from .._keydirs import sweep
from .._stream_mask import MIN_SECRET_BYTES as MIN_SECRET_CHARACTERS
from ._exec_run import Signals, Stopped, run_child
from ._failures import UsageError
from ._options import add_teamspace
from ._parser import AddCommand, add_command
from ._session import client_for

if TYPE_CHECKING:
    from tilecred import CredentialAccess

__all__ = ["COMMANDS", "child_environment", "handed_out", "split_command", "withheld"]


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


def run_exec(args: argparse.Namespace) -> int:
    """Use each credential, check their variables, run the command, close everything."""
    command: list[str] | None = args.child_command
    if not command:
        raise UsageError("give the command to run after --: tilecred exec NAME -- COMMAND [ARG…]")
    names: list[str] = args.names
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise UsageError(f"credential {duplicated[0]!r} is named twice")
    chosen = {"url": args.url, "target": args.target}
    if sum(bool(v) for v in (names, *chosen.values())) != 1:
        raise UsageError(
            "name the credentials to use, or give --url or --target to choose one (exactly one)"
        )
    harden_process()  # before any secret is in memory: no core file or debugger sees it
    sweep()  # key directories left by a process that was killed (SIGKILL)
    accesses: list[CredentialAccess] = []
    # From before the first use until every access is closed, no signal ends
    # this process with a key file on disk.
    with Signals() as signals:
        try:
            client = client_for(args)
            for name in names:
                accesses.append(client.use_credential(name, teamspace=args.teamspace))
            if not names:
                accesses.append(client.use_credential(teamspace=args.teamspace, **chosen))
            used = [access.credential.name or "" for access in accesses]
            added = merged_environment(used, [access.env() for access in accesses])
            env = child_environment(os.environ, added, getattr(args, "token_env", None))
            secrets = None if args.no_masking else handed_out(accesses, added)
            return run_child(command, env, signals, secrets or None)
        except Stopped as stopped:
            name = signal.Signals(stopped.signum).name
            sys.stderr.write(f"tilecred exec: stopped by {name} before the command started\n")
            return 128 + stopped.signum
        finally:
            signals.phase = "done"
            for access in accesses:
                access.close()


# A variable whose name says it holds a secret (AWS_SECRET_ACCESS_KEY,
# AWS_SESSION_TOKEN, AZURE_STORAGE_KEY, DATABRICKS_CLIENT_SECRET, …), or a
# member of a JSON secret (a GCP key's private_key); not an id (ACCESS_KEY_ID).
_SECRET_WORDS = ("secret", "token", "password", "key")


def _names_a_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS) and not lowered.endswith("id")


def handed_out(accesses: Sequence[CredentialAccess], added: Mapping[str, str]) -> set[bytes]:
    """Every secret the command is given, as the bytes its output would show.

    The credentials' stored secrets; the values of variables that name a
    secret (an AWS role's temporary keys are in no stored field); the secret
    members of a JSON secret (a GCP key's ``private_key``, which a program
    may print decoded). Each also as it reads inside a JSON string.
    """
    from .._models import iter_secrets

    values = {secret for access in accesses for secret in iter_secrets(access.credential)}
    values.update(value for name, value in added.items() if _names_a_secret(name))
    for value in list(values):
        values.update(_json_secrets(value))
    found: set[bytes] = set()
    for value in values:
        if len(value) >= MIN_SECRET_CHARACTERS:  # counted in characters, as the library does
            found.add(value.encode())
            found.add(json.dumps(value)[1:-1].encode())
    return found


def _json_secrets(text: str) -> list[str]:
    if not text.lstrip().startswith("{"):
        return []
    try:
        loaded = json.loads(text)
    except ValueError:
        return []
    if not isinstance(loaded, dict):
        return []
    return [v for k, v in loaded.items() if isinstance(v, str) and _names_a_secret(str(k))]


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
        usage="%(prog)s {NAME [NAME ...] | --url URL | --target ID} [--teamspace T] "
        "[--no-masking] [global options] -- COMMAND [ARG ...]",
        description="Use each credential (only those allowed in tasks; every use is audited) "
        "and run COMMAND with their variables (AWS_ACCESS_KEY_ID, AZURE_STORAGE_KEY, "
        "GOOGLE_APPLICATION_CREDENTIALS, …) added to its environment. Secrets go only into "
        "that environment: never into arguments, output or errors. Two credentials that set "
        "the same variable are refused before anything starts (status 2). The command's exit "
        "status is passed through (128+n when signal n ended it); signals sent to tilecred "
        "(Ctrl-C, SIGTERM) are passed on to it; key files are removed when it exits. Its "
        "stdout and stderr pass through tilecred, which shows each secret it was given as *** "
        "(--no-masking: not); on a terminal it writes to a pseudo-terminal, so it still is one.",
        examples="""
            tilecred exec lake -- aws s3 ls s3://lake/
            tilecred exec lake blobs --teamspace ml -- python train.py --epochs 3
            tilecred exec lake -- docker run --env AWS_ACCESS_KEY_ID --env AWS_SECRET_ACCESS_KEY img
            tilecred exec --url s3://lake/raw/2026.parquet -- python load.py
        """,
    )  # fmt: skip
    p.add_argument("names", metavar="NAME", nargs="*", help="the credentials to use")
    p.add_argument(
        "--url", metavar="URL",
        help="instead of names: use the credential associated with the URL's longest prefix "
        "(see tilecred associate)",
    )  # fmt: skip
    p.add_argument(
        "--target", metavar="ID", help="instead of names: use the credential associated with ID"
    )
    add_teamspace(p)
    p.add_argument(
        "--no-masking", action="store_true",
        help="pass the command's output on as it is, secrets included (it goes to its "
        "stdout and stderr directly)",
    )  # fmt: skip
    p.set_defaults(handler=run_exec, child_command=None)


COMMANDS: dict[str, AddCommand] = {"exec": _add_exec}
