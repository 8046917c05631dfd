"""Secrets from standard input, a no-echo prompt, a file or a named variable.

Never from a command-line argument: arguments show in ``ps`` and in shell
history. Each secret option comes as a small family (``--secret-stdin``,
``--secret-file FILE``, ``--secret-env VAR``), and with none of them a
terminal gets a no-echo prompt.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import os
import re
import sys
from pathlib import Path
from typing import Literal

from ._failures import CommandError, UsageError

__all__ = [
    "SecretSource",
    "check_stdin_readers",
    "read_secret",
    "secret_source",
    "stdin_is_terminal",
]

STDIN = "-"
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Options that read standard input, as (namespace attribute, value or None for
# a flag, how the option is spelled in messages).
_STDIN_READERS = (
    ("token", None, "--token"),
    ("secret_stdin", None, "--secret-stdin"),
    ("secret_file", STDIN, "--secret-file -"),
    ("passphrase_stdin", None, "--passphrase-stdin"),
    ("passphrase_file", STDIN, "--passphrase-file -"),
    ("session_token_stdin", None, "--session-token-stdin"),
    ("session_token_file", STDIN, "--session-token-file -"),
    ("refresh_token_stdin", None, "--refresh-token-stdin"),
    ("refresh_token_file", STDIN, "--refresh-token-file -"),
    ("from_json", STDIN, "--from-json -"),
)


def stdin_is_terminal() -> bool:
    """Whether standard input is a terminal a person can type at."""
    stream = sys.stdin
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # closed
        return False


def check_stdin_readers(args: argparse.Namespace) -> None:
    """Refuse two options that would both read standard input.

    Raises:
        UsageError: more than one option reads standard input.
    """
    readers = []
    for attribute, value, spelling in _STDIN_READERS:
        given = getattr(args, attribute, None)
        if given and (value is None or given == value):
            readers.append(spelling)
    if len(readers) > 1:
        raise UsageError(f"only one option can read standard input, not {' and '.join(readers)}")


@dataclasses.dataclass(frozen=True)
class SecretSource:
    """Where one secret comes from, as the command line said.

    Attributes:
        how: ``"stdin"``, ``"prompt"``, ``"file"`` or ``"env"``.
        where: the file's path or the variable's name, else ``None``.
        option: the option as the user typed it, for messages.
    """

    how: Literal["stdin", "prompt", "file", "env"]
    where: str | None
    option: str


def secret_source(args: argparse.Namespace, prefix: str) -> SecretSource | None:
    """The source the ``--<prefix>-stdin/-file/-env/-prompt`` options name, if any.

    Raises:
        UsageError: more than one of them was given.
    """
    dash = prefix.replace("_", "-")
    found: list[SecretSource] = []
    if getattr(args, f"{prefix}_stdin", None):
        found.append(SecretSource("stdin", None, f"--{dash}-stdin"))
    if getattr(args, f"{prefix}_prompt", None):
        found.append(SecretSource("prompt", None, f"--{dash}-prompt"))
    path = getattr(args, f"{prefix}_file", None)
    if path is not None:
        found.append(SecretSource("file", path, f"--{dash}-file"))
    variable = getattr(args, f"{prefix}_env", None)
    if variable is not None:
        found.append(SecretSource("env", variable, f"--{dash}-env"))
    if len(found) > 1:
        raise UsageError(
            f"give only one of {' and '.join(s.option for s in found)}: they name the same secret"
        )
    return found[0] if found else None


def read_secret(source: SecretSource, label: str, *, multiline: bool = False) -> str:
    """Read one secret; the value never appears in a message.

    Parameters:
        source: where the command line said the secret is.
        label: what the secret is, for the prompt and messages ("AWS secret access key").
        multiline: the secret is a key file's text, kept as it is; otherwise
            the trailing newline of a file or pipe is dropped.

    Returns:
        The secret, not empty.

    Raises:
        UsageError: the source cannot be used here (a prompt with no terminal,
            a variable that is not set).
        CommandError: the source cannot be read, or holds nothing.
    """
    if source.how == "env":
        assert source.where is not None
        if not _VARIABLE_NAME.fullmatch(source.where):
            # Most likely the secret itself, typed where its variable's name
            # belongs: it is not repeated in the message.
            raise UsageError(
                f"{source.option} takes the name of an environment variable, and what was "
                "given is not a variable name (not shown, in case it is the secret itself)"
            )
        value = os.environ.get(source.where)
        if value is None:
            # The command line names a variable that is not there: a usage error
            # (exit 2), like a file option naming nothing, and nothing was sent.
            raise UsageError(
                f"cannot read the {label}: environment variable {source.where} is not set"
            )
        origin = f"environment variable {source.where}"
    elif source.how == "file" and source.where != STDIN:
        assert source.where is not None
        value = _read_file(Path(source.where), label)
        origin = f"file {source.where}"
    elif source.how == "prompt" or stdin_is_terminal():
        value = _prompt(label, source, multiline=multiline)
        origin = "the prompt"
    else:
        value = sys.stdin.read()
        origin = "standard input"
    if not multiline and source.how != "env":
        value = value.rstrip("\r\n")
    if not value.strip():
        raise CommandError(f"the {label} from {origin} is empty")
    return value


def _read_file(path: Path, label: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CommandError(f"cannot read the {label} from {path}: not UTF-8 text") from exc
    except OSError as exc:
        raise CommandError(f"cannot read the {label} from {path}: {exc.strerror}") from exc


def _prompt(label: str, source: SecretSource, *, multiline: bool) -> str:
    if not stdin_is_terminal():
        raise UsageError(
            f"{source.option}: standard input is not a terminal, so there is no prompt"
        )
    if multiline:
        # A key file does not fit in a one-line prompt, and typing it into a
        # terminal would echo it.
        raise UsageError(
            f"the {label} spans several lines: give it with a file (--key-file FILE) or pipe it in"
        )
    try:
        return getpass.getpass(f"{label}: ")
    except EOFError:
        raise CommandError(f"no {label} entered") from None
