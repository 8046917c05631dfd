"""``python -m tilecred._server``: the server's commands without the full CLI."""

from __future__ import annotations

import argparse
import sys

from .._errors import CredentialsError
from ._commands import add_commands


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the command; a failure prints one line and exits 1."""
    parser = argparse.ArgumentParser(prog="python -m tilecred._server")
    add_commands(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except CredentialsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
