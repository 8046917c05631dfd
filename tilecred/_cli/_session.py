"""The client a command talks through, built from the global options."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import tilecred

from ._failures import UsageError
from ._inputs import SecretSource, read_secret

__all__ = ["client_for", "close_clients", "local_store", "token_source"]

# The clients this run made, closed when the command ends (main may run
# several times in one process: tests, and programs that embed it).
_clients: list[tilecred.Client] = []


def token_source(args: argparse.Namespace) -> SecretSource | None:
    """Where ``--token``, ``--token-env`` or ``--token-file`` say the token is.

    Raises:
        UsageError: more than one of them was given (before and after the command).
    """
    found = []
    if getattr(args, "token", False):
        found.append(SecretSource("stdin", None, "--token"))
    if getattr(args, "token_env", None) is not None:
        found.append(SecretSource("env", args.token_env, "--token-env"))
    if getattr(args, "token_file", None) is not None:
        found.append(SecretSource("file", args.token_file, "--token-file"))
    if len(found) > 1:
        raise UsageError(f"give only one of {' and '.join(s.option for s in found)}")
    return found[0] if found else None


def client_for(args: argparse.Namespace) -> tilecred.Client:
    """A client configured by the global options; what they leave out comes from
    TileDB's environment and profile, as for the library.

    Raises:
        UsageError: conflicting token options.
        CommandError: the token cannot be read.
    """
    source = token_source(args)
    token = None if source is None else read_secret(source, "API token")
    client = tilecred.Client(
        host=getattr(args, "host", None),
        token=token,
        workspace=getattr(args, "workspace", None),
        profile=getattr(args, "profile", None),
        local=True if getattr(args, "local", False) else None,
        home=getattr(args, "home", None),
    )
    _clients.append(client)
    if getattr(args, "teamspace", "") is None and client.settings.teamspace is not None:
        # The configured default teamspace, as if given: messages then name it.
        args.teamspace = client.settings.teamspace
    return client


def close_clients() -> None:
    """Close every client :func:`client_for` made."""
    while _clients:
        _clients.pop().close()


def local_store(args: argparse.Namespace) -> tuple[Path, str | None]:
    """The local store a store command works on: its directory, and the
    PostgreSQL URL (``TILECRED_DATABASE_URL``) that takes its place unless
    ``--home`` names a directory."""
    from tilecred._config import DATABASE_ENV

    given = getattr(args, "home", None)
    home = tilecred.Client(local=True, home=given).settings.home
    assert home is not None
    return home, None if given else os.environ.get(DATABASE_ENV) or None
