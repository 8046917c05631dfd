"""What opening a store checks about its surroundings.

A damaged database file is told apart from a file that is simply not a
tilecred store; a data directory that others may write to is warned about;
key files that killed rotations left behind are removed.
"""

from __future__ import annotations

import logging
import os
import shlex
import sqlite3
import stat
import warnings
from collections.abc import Callable
from pathlib import Path

from .._errors import ConfigurationError, CredentialsError
from . import _keys

__all__ = ["damaged_store", "remove_stale_keys", "warn_if_shared"]

logger = logging.getLogger("tilecred")

# SQLite's primary result codes for a file that is not a database at all
# and for one whose pages do not hold together.
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


def damaged_store(path: Path, exc: sqlite3.Error) -> ConfigurationError | None:
    """The error for a damaged database file; ``None`` when ``exc`` is not that."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None or code & 0xFF not in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return None
    return ConfigurationError(
        f"the local store {path} is damaged ({exc}): restore it from a backup "
        "(docs/local.md, 'When the store is damaged': PRAGMA integrity_check)"
    )


def warn_if_shared(home: Path) -> None:
    """Warn when users other than the owner may write to the data directory.

    Whoever can write there can replace the database or the key file. A
    warning, not a refusal: the directory may be shared on purpose, and the
    files in it are still 0600.
    """
    if os.name != "posix":
        return
    try:
        mode = home.stat().st_mode
    except OSError:
        return  # opening the store reports it
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        message = (
            f"the data directory {home} is writable by others (mode {stat.S_IMODE(mode):04o}), "
            f"who could replace the store or its key: run chmod 700 {shlex.quote(str(home))}"
        )
        logger.warning("%s", message)
        warnings.warn(message, UserWarning, stacklevel=4)


def remove_stale_keys(
    key_path: Path, locked: Callable[[Callable[[bytes | None], list[Path]]], list[Path]]
) -> None:
    """Remove what killed rotations (and key file creations) left behind.

    Pending keys are removed by ``locked``, which runs its argument with the
    store's key check in an exclusive transaction; nothing is done (and no
    lock is taken) when there is nothing to remove. A failure leaves the
    files for the next open: it must not stop this one.
    """
    for path in _keys.remove_abandoned_temporaries(key_path):
        logger.info("removed %s, left behind by a key file creation that did not finish", path)
    if not _keys.pending_key_files(key_path):
        return
    try:
        removed = locked(
            lambda check: [] if check is None else _keys.remove_stale_pending_keys(key_path, check)
        )
    except CredentialsError as exc:
        logger.warning("could not look for stale key files beside %s: %s", key_path, exc.message)
        return
    for path in removed:
        logger.info("removed %s, left behind by a key rotation that did not finish", path)
