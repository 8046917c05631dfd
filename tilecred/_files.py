"""Small file-system helpers shared by the local store and the command line."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["sync_directory"]


def sync_directory(directory: Path) -> None:
    """Make a rename into ``directory`` durable.

    A rename survives a crash only once its directory entry is on disk; not
    every platform can open a directory, and there this does nothing.
    """
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
