"""Command-line mistakes, said with what was probably meant.

- a misspelt command or option: "did you mean …" (argparse in Python 3.11 does
  not say it);
- ``tilecred exec NAME COMMAND …`` without ``--``: the command goes after
  ``--``, and the line is shown as it should have been typed.
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Sequence

from tilecred._suggest import did_you_mean

from ._failures import UsageError

__all__ = ["exec_without_dashes", "near_credential", "unrecognized", "with_suggestion"]

_INVALID_CHOICE = re.compile(r"invalid choice: '(?P<wrong>[^']*)' \(choose from (?P<known>.*)\)$")
# exec's options that take a value, so that the value is not taken for a credential.
_EXEC_VALUED = frozenset({"--teamspace", "--host", "--token-env", "--token-file",
                          "--workspace", "--profile", "--home"})  # fmt: skip


def with_suggestion(message: str) -> str:
    """argparse's message, with "did you mean" for a misspelt command."""
    found = _INVALID_CHOICE.search(message)
    if found is None:
        return message
    known = re.findall(r"'([^']*)'", found["known"])
    return message + did_you_mean(found["wrong"], known)


def unrecognized(extras: Sequence[str], parser: argparse.ArgumentParser) -> str:
    """The message for arguments no option took, with the nearest option of the command."""
    message = f"unrecognized arguments: {' '.join(extras)}"
    option = next((e.split("=", 1)[0] for e in extras if e.startswith("--")), None)
    if option is not None:
        options = [o for o in parser._option_string_actions if o.startswith("--")]
        message += did_you_mean(option, options)
    return message


def exec_without_dashes(own: Sequence[str]) -> UsageError | None:
    """The error for ``tilecred exec`` given a command without ``--`` before it.

    The first word after ``exec`` that is not an option is taken for the
    credential, the rest for the command; ``--help`` is left alone.
    """
    if "-h" in own or "--help" in own or "exec" not in own:
        return None
    words = list(own[own.index("exec") + 1 :])
    before: list[str] = []
    while words and words[0].startswith("-"):
        flag = words.pop(0)
        before.append(flag)
        if flag in _EXEC_VALUED and "=" not in flag and words:
            before.append(words.pop(0))
    if len(words) < 2:
        return None  # no command given at all: exec says so itself
    name, command = words[0], words[1:]
    fixed = shlex.join(["tilecred", "exec", *before, name, "--", *command])
    return UsageError(
        f"put the command after --, so that its options are not taken for tilecred's: {fixed}",
        prog="tilecred exec",
    )


def near_credential(args: argparse.Namespace | None, error: Exception) -> str:
    """`` (did you mean 'lake'?)`` for a credential a command could not find, or ``""``.

    Asked only after the failure, from the same scope: one listing, and
    nothing said when it fails too.
    """
    from tilecred import CredentialsError, NotFoundError

    from ._session import client_for

    wanted = getattr(error, "name", None)
    if not isinstance(error, NotFoundError) or args is None or wanted is None:
        return ""
    if "credential not found" not in str(error):
        return ""  # a missing teamspace or workspace: no name to correct
    try:
        listing = client_for(args).list_credentials(teamspace=getattr(args, "teamspace", None))
        known = [c.name for _, c in zip(range(_NEAR_LIMIT), listing, strict=False)]
    except CredentialsError:
        return ""
    return did_you_mean(wanted, known)


# How many names are looked at for a suggestion: a typo is a near miss in any store.
_NEAR_LIMIT = 5000
