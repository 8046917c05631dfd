"""The two ways a command fails besides the library's own errors."""

from __future__ import annotations

__all__ = ["CommandError", "UsageError"]


class UsageError(Exception):
    """The command line is wrong; nothing was sent (exit status 2).

    Parameters:
        message: one line saying which option is wrong and why.
        usage: the ``usage:`` text of the command, when the parser raised it.
        prog: the command as it is named in messages (``tilecred create``).
    """

    def __init__(self, message: str, usage: str | None = None, prog: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage
        self.prog = prog


class CommandError(Exception):
    """The command could not be carried out (exit status 1).

    Parameters:
        message: one line saying what failed, on what and why; never a secret.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
