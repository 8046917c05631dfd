"""Option types and options that several commands share."""

from __future__ import annotations

import argparse

from tilecred import CloudProvider

__all__ = ["add_teamspace", "positive", "provider_type", "scope_text"]


def provider_type(text: str) -> CloudProvider:
    """A provider name in any case, for ``type=``."""
    try:
        return CloudProvider(text.upper())
    except ValueError:
        choices = ", ".join(p.value for p in CloudProvider)
        raise argparse.ArgumentTypeError(
            f"invalid provider {text!r} (choose from {choices}, in any case)"
        ) from None


def positive(text: str) -> int:
    """A whole number of at least 1, for ``type=``."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def scope_text(args: argparse.Namespace) -> str:
    """`` in teamspace 'T'`` when the command line named one, for messages."""
    return "" if args.teamspace is None else f" in teamspace {args.teamspace!r}"


def add_teamspace(parser: argparse.ArgumentParser) -> None:
    """The ``--teamspace`` option."""
    parser.add_argument(
        "--teamspace", metavar="T",
        help="a teamspace name or ts_… id (default: TILECRED_TEAMSPACE or the profile's "
        "teamspace, else workspace level)",
    )  # fmt: skip
