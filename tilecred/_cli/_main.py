"""``main``: parse, run one command, turn every failure into a line and an exit status."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
import warnings
from collections.abc import Sequence
from typing import Any, TextIO

from tilecred import CredentialsError, InvalidArgumentError
from tilecred._errors import MASK

from ._exec import split_command
from ._failures import CommandError, UsageError
from ._inputs import check_stdin_readers
from ._mistakes import exec_without_dashes, near_credential
from ._output import Style, print_warning
from ._parser import build_parser, check_global_options, names_command
from ._session import close_clients

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # what a shell reports for a command killed by SIGPIPE


# Flags that read a secret and take no value. A value typed after one anyway is
# most likely the secret itself: it must not be repeated in an error message.
_SECRET_FLAGS = (
    "--token", "--secret-stdin", "--passphrase-stdin", "--passphrase-prompt",
    "--session-token-stdin", "--session-token-prompt", "--refresh-token-stdin",
    "--refresh-token-prompt",
)  # fmt: skip


def _mistyped_secrets(argv: Sequence[str]) -> list[tuple[str, str]]:
    """Values someone put after a secret flag that takes none, with the flag."""
    found = []
    for i, arg in enumerate(argv):
        flag, equals, value = arg.partition("=")
        if flag not in _SECRET_FLAGS:
            continue
        if equals:
            found.append((flag, value))
        elif i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            found.append((flag, argv[i + 1]))
    return [(flag, value) for flag, value in found if value]


def _usage_error(error: UsageError, args: argparse.Namespace | None, argv: Sequence[str]) -> int:
    message = error.message
    for flag, secret in _mistyped_secrets(argv):
        if secret in message:
            message = message.replace(secret, MASK) + (
                f" ({flag} takes no value: secrets are read from standard input, a prompt, "
                "a file or a variable you name, never from an argument)"
            )
    usage, prog = error.usage, error.prog
    parser = getattr(args, "parser", None)
    if usage is None and isinstance(parser, argparse.ArgumentParser):
        usage, prog = parser.format_usage(), parser.prog
    sys.stderr.write((usage or "") + f"{prog or 'tilecred'}: error: {message}\n")
    return EXIT_USAGE


def _failure(message: str) -> None:
    style = Style(sys.stderr)
    sys.stderr.write(f"{style.paint('error:', 'red')} {message}\n")


def _warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    # A warning meant for the user (a shared data directory, TLS unverified)
    # reads like the errors do: one line, no source location.
    print_warning(message)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``tilecred`` with ``argv`` (default: the process's arguments).

    Returns:
        The exit status: 0 success, 1 failure, 2 usage error (nothing was
        sent), 130 interrupted, 141 output closed early (``| head``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args: argparse.Namespace | None = None
    debug = False
    try:
        own, child = argv, None
        if names_command(argv, "exec"):
            # What follows -- is the child's command line, never parsed here.
            own, child = split_command(argv)
            mistake = exec_without_dashes(own) if child is None else None
            if mistake is not None:
                raise mistake
        try:
            args = build_parser(own).parse_args(own)
            if child is not None:
                args.child_command = child
        except SystemExit as exc:  # --help and --version
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        debug = bool(getattr(args, "debug", False))
        if debug:
            logging.basicConfig(format="%(name)s: %(message)s")
            logging.getLogger("tilecred").setLevel(logging.DEBUG)
        check_global_options(args)
        check_stdin_readers(args)
        showwarning: Any = _warning
        warnings.showwarning = showwarning
        status: int = args.handler(args)
        return status
    except UsageError as exc:
        return _usage_error(exc, args, argv)
    except InvalidArgumentError as exc:
        # Rejected by the library's checks before anything was sent.
        _failure(str(exc))
        return EXIT_USAGE
    except (CredentialsError, CommandError) as exc:
        if debug:
            traceback.print_exc()
        _failure(str(exc) + near_credential(args, exc))
        return EXIT_FAILURE
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader left (`tilecred list | head`); later writes, including
        # Python's own flush at exit, must not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as exc:
        if debug:
            traceback.print_exc()
        _failure(f"unexpected {type(exc).__name__}: {exc} (run with --debug for details)")
        return EXIT_FAILURE
    finally:
        close_clients()
