"""The argument parser: global options, one sub-command per verb.

Global options may come before or after the command (``tilecred --host H
list`` and ``tilecred list --host H``): each command's parser repeats them,
with defaults suppressed so that one given in either place is kept.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from tilecred import __version__

from ._failures import UsageError

__all__ = ["AddCommand", "TilecredParser", "add_command", "build_parser"]

_DESCRIPTION = """\
Manage named cloud credentials: in TileDB's service, in `tilecred serve`, or
in the local store when nothing is configured.

Secrets are never taken from command-line arguments (they show in `ps` and in
shell history): they come from standard input, a no-echo prompt, a file, or an
environment variable you name.
"""

_EPILOG = """\
examples:
  tilecred list
  tilecred create prod-s3 --provider aws --kind role --role-arn arn:aws:iam::123456789012:role/demo
  tilecred --host https://api.example.com --token-env MY_TOKEN list --json
  tilecred config

exit status: 0 success, 1 failure, 2 usage error (nothing was sent)
"""


# Registers one command on the subparsers, with the given parent parsers.
AddCommand = Callable[[Any, list[argparse.ArgumentParser]], None]

# The server's commands, registered together by tilecred._server._commands.
SERVER_COMMANDS = ("serve", "token", "teamspace")
# Global options that take a value, so that the value is not taken for the command.
_VALUED = frozenset({"--host", "--token-env", "--token-file", "--workspace", "--profile", "--home"})


class TilecredParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are raised, not printed and exited.

    ``main`` prints them, so that it can keep a mistyped secret out of the
    message and choose the exit status in one place.
    """

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, usage=self.format_usage(), prog=self.prog)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


def _global_options() -> argparse.ArgumentParser:
    """The options every command takes, defaults suppressed (see the module docstring)."""
    parent = argparse.ArgumentParser(add_help=False)
    where = parent.add_argument_group(
        "where calls go (overrides TileDB's environment and profile for this call)"
    )
    suppress: dict[str, Any] = {"default": argparse.SUPPRESS}
    where.add_argument(
        "--host", metavar="URL", help="the REST server, e.g. https://api.tiledb.com", **suppress
    )
    # Not a mutually exclusive group: the options may come before and after the
    # command, so session.token_source checks that only one was given.
    where.add_argument(
        "--token",
        action="store_true",
        help="read the API token from stdin (a no-echo prompt on a terminal); "
        "it takes no value: a token in an argument shows in ps and shell history",
        **suppress,
    )
    where.add_argument(
        "--token-env", metavar="VAR", help="read the API token from variable VAR", **suppress
    )
    where.add_argument(
        "--token-file", metavar="FILE", help="read the API token from FILE", **suppress
    )
    where.add_argument(
        "--workspace", metavar="NAME", help="the workspace name or ws_… id", **suppress
    )
    where.add_argument("--profile", metavar="NAME", help="the TileDB profile to read", **suppress)
    where.add_argument("--local", action="store_true", help="use the local store", **suppress)
    where.add_argument(
        "--home", metavar="DIR", help="the local store's directory (implies --local)", **suppress
    )
    where.add_argument(
        "--debug",
        action="store_true",
        help="log requests and show tracebacks on stderr",
        **suppress,
    )
    return parent


def add_command(
    subparsers: Any,
    name: str,
    *,
    summary: str,
    examples: str,
    parents: list[argparse.ArgumentParser],
    description: str | None = None,
    usage: str | None = None,
) -> argparse.ArgumentParser:
    """Add one command with the global options and an examples epilog.

    Parameters:
        subparsers: the action returned by ``add_subparsers``.
        name: the command's name.
        summary: one line for the command list.
        examples: shell lines, one per line, for ``--help``.
        parents: parsers whose options the command takes (the global options).
        description: a longer description, when the summary is not enough.
        usage: a short usage line, when argparse's would list every option.

    Returns:
        The command's parser.
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=summary,
        # Raw formatting keeps the examples' line breaks; prose is wrapped here.
        description=textwrap.fill(description or summary, 79),
        epilog="examples:\n" + textwrap.indent(textwrap.dedent(examples).strip(), "  "),
        formatter_class=_Formatter,
        parents=parents,
        usage=usage,
    )
    # main() prints this command's usage line when a handler finds a mistake.
    parser.set_defaults(parser=parser)
    return parser


def _command_in(argv: Sequence[str], known: Sequence[str]) -> str | None:
    """The command ``argv`` names, or ``None`` when the whole parser is needed.

    The whole parser is needed for top-level help, ``--version``, a missing or
    unknown command: anything where argparse lists or checks every command.
    """
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("-h", "--help", "--version"):
            return None
        elif arg.startswith("-"):
            skip = arg in _VALUED
        else:
            return arg if arg in known else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> TilecredParser:
    """The ``tilecred`` parser, with the server's commands too.

    Parameters:
        argv: the arguments about to be parsed: only the command they name is
            built (each command's parser, and the server's imports, take time
            at every start). ``None`` builds every command.
    """
    from ._configuration import COMMANDS as CONFIG_COMMANDS
    from ._credentials import COMMANDS as CREDENTIAL_COMMANDS
    from ._key import COMMANDS as KEY_COMMANDS

    commands = {**CREDENTIAL_COMMANDS, **CONFIG_COMMANDS, **KEY_COMMANDS}
    wanted = None if argv is None else _command_in(argv, [*commands, *SERVER_COMMANDS])
    globals_ = _global_options()
    parser = TilecredParser(
        prog="tilecred",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=_Formatter,
        parents=[globals_],
    )
    parser.add_argument("--version", action="version", version=f"tilecred {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, add in commands.items():
        if wanted is None or wanted == name:
            add(subparsers, [globals_])
    if wanted is None or wanted in SERVER_COMMANDS:
        from tilecred._server._commands import add_commands as add_server_commands

        add_server_commands(subparsers)
    return parser
