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
from ._mistakes import unrecognized, with_suggestion

__all__ = [
    "EVERYWHERE",
    "GLOBAL_OPTIONS",
    "ON_THIS_MACHINE",
    "AddCommand",
    "TilecredParser",
    "add_command",
    "build_parser",
    "check_global_options",
    "global_options",
    "names_command",
]

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

# The server's own command, registered by tilecred._server._commands.
SERVER_COMMANDS = ("serve",)
# Global options that take a value, so that the value is not taken for the command.
_VALUED = frozenset({"--host", "--token-env", "--token-file", "--workspace", "--profile", "--home"})


class TilecredParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are raised, not printed and exited.

    ``main`` prints them, so that it can keep a mistyped secret out of the
    message and choose the exit status in one place.
    """

    def error(self, message: str) -> NoReturn:
        raise UsageError(with_suggestion(message), usage=self.format_usage(), prog=self.prog)

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            # Said by the command's own parser, which knows its options.
            command = getattr(parsed, "parser", None)
            parser = command if isinstance(command, argparse.ArgumentParser) else self
            parser.error(unrecognized(extras, parser))
        return parsed


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


# Every global option by its namespace name, in the order --help lists them.
GLOBAL_OPTIONS = {
    "host": "--host",
    "token": "--token",
    "token_env": "--token-env",
    "token_file": "--token-file",
    "workspace": "--workspace",
    "profile": "--profile",
    "local": "--local",
    "home": "--home",
    "debug": "--debug",
}
# What most commands take: everything that says where calls go.
EVERYWHERE = frozenset(GLOBAL_OPTIONS)
# What a command on this machine's store (or a server's data directory) takes.
ON_THIS_MACHINE = frozenset({"home", "debug"})


def global_options(takes: frozenset[str] = EVERYWHERE) -> argparse.ArgumentParser:
    """A parent parser with the global options in ``takes``, defaults suppressed.

    A command is offered only the options it uses (``key rotate`` has no
    ``--host``); :func:`check_global_options` refuses the others when they
    come before the command.
    """
    parent = argparse.ArgumentParser(add_help=False)
    where = parent.add_argument_group(
        "where calls go (overrides TileDB's environment and profile for this call)"
        if "host" in takes
        else "global options"
    )
    suppress: dict[str, Any] = {"default": argparse.SUPPRESS}
    flag = "store_true"
    options: dict[str, dict[str, Any]] = {
        "host": {"metavar": "URL", "help": "the REST server, e.g. https://api.tiledb.com"},
        # Not a mutually exclusive group: the options may come before and after
        # the command, so session.token_source checks that only one was given.
        "token": {"action": flag, "help": "read the API token from stdin (a no-echo prompt on "
                  "a terminal); it takes no value: a token in an argument shows in ps and "
                  "shell history"},
        "token_env": {"metavar": "VAR", "help": "read the API token from variable VAR"},
        "token_file": {"metavar": "FILE", "help": "read the API token from FILE"},
        "workspace": {"metavar": "NAME", "help": "the workspace name or ws_… id"},
        "profile": {"metavar": "NAME", "help": "the TileDB profile to read"},
        "local": {"action": flag, "help": "use the local store"},
        "home": {"metavar": "DIR", "help": "the local store's (or a server's data) directory; "
                 "default TILECRED_HOME, else the user data dir (implies --local)"},
        "debug": {"action": flag, "help": "log requests and show tracebacks on stderr"},
    }  # fmt: skip
    for dest, option in GLOBAL_OPTIONS.items():
        if dest in takes:
            where.add_argument(option, dest=dest, **options[dest], **suppress)
    return parent


def check_global_options(args: argparse.Namespace) -> None:
    """Refuse a global option, given before the command, that the command does not use.

    Raises:
        UsageError: naming the option (and, for ``serve --host``, the option meant).
    """
    takes: frozenset[str] = getattr(args, "takes", EVERYWHERE)
    parser = getattr(args, "parser", None)
    command = parser.prog if isinstance(parser, argparse.ArgumentParser) else "tilecred"
    for dest, option in GLOBAL_OPTIONS.items():
        if dest in takes or not hasattr(args, dest):
            continue
        hint = ""
        if command.endswith(" serve") and dest == "host":
            hint = " (it says which server to call; give the address to listen on with --bind)"
        raise UsageError(f"{command} does not take {option}{hint}")


def add_command(
    subparsers: Any,
    name: str,
    *,
    summary: str,
    examples: str,
    parents: list[argparse.ArgumentParser],
    description: str | None = None,
    usage: str | None = None,
    takes: frozenset[str] | None = None,
    aliases: Sequence[str] = (),
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
        takes: the global options the command uses, when not all of them
            (then ``parents`` is ignored).
        aliases: other spellings of the command (``tokens`` for ``token``).

    Returns:
        The command's parser.
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        aliases=list(aliases),
        help=summary,
        # Raw formatting keeps the examples' line breaks; prose is wrapped here.
        description=textwrap.fill(description or summary, 79),
        epilog="examples:\n" + textwrap.indent(textwrap.dedent(examples).strip(), "  "),
        formatter_class=_Formatter,
        parents=parents if takes is None else [global_options(takes)],
        usage=usage,
    )
    # main() prints this command's usage line when a handler finds a mistake.
    parser.set_defaults(parser=parser, takes=EVERYWHERE if takes is None else takes)
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


def names_command(argv: Sequence[str], command: str) -> bool:
    """Whether ``argv`` runs ``command`` (its first word that is not a global option)."""
    return _command_in(argv, [command]) == command


def build_parser(argv: Sequence[str] | None = None) -> TilecredParser:
    """The ``tilecred`` parser, with the server's commands too.

    Parameters:
        argv: the arguments about to be parsed: only the command they name is
            built (each command's parser, and the server's imports, take time
            at every start). ``None`` builds every command.
    """
    from ._associations import COMMANDS as ASSOCIATION_COMMANDS
    from ._audit import COMMANDS as AUDIT_COMMANDS
    from ._configuration import COMMANDS as CONFIG_COMMANDS
    from ._credentials import COMMANDS as CREDENTIAL_COMMANDS
    from ._exec import COMMANDS as EXEC_COMMANDS
    from ._key import COMMANDS as KEY_COMMANDS
    from ._lifecycle import COMMANDS as LIFECYCLE_COMMANDS
    from ._store import COMMANDS as STORE_COMMANDS
    from ._teamspaces import COMMANDS as TEAMSPACE_COMMANDS
    from ._token_parser import COMMANDS as TOKEN_COMMANDS

    commands = {
        **CREDENTIAL_COMMANDS,
        **LIFECYCLE_COMMANDS,
        **ASSOCIATION_COMMANDS,
        **EXEC_COMMANDS,
        **AUDIT_COMMANDS,
        **CONFIG_COMMANDS,
        **TEAMSPACE_COMMANDS,
        **KEY_COMMANDS,
        **STORE_COMMANDS,
        **TOKEN_COMMANDS,
    }
    wanted = None if argv is None else _command_in(argv, [*commands, *SERVER_COMMANDS])
    globals_ = global_options()
    parser = TilecredParser(
        prog="tilecred",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=_Formatter,
        parents=[globals_],
        # This parser sees the whole command line: abbreviating its options
        # would take a command's own option for one (`store copy --to` for --token).
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"tilecred {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, add in commands.items():
        if wanted is None or wanted == name:
            add(subparsers, [globals_])
    if wanted is None or wanted in SERVER_COMMANDS:
        from tilecred._server._commands import add_commands as add_server_commands

        add_server_commands(subparsers, [global_options(ON_THIS_MACHINE)])
    return parser
