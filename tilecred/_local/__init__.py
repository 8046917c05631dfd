"""The store: encrypted credentials in an SQLite file on this machine (the
embedded default) or in a PostgreSQL database shared by several servers.

Imported only when the local backend is first used, so ``import tilecred``
does not load SQLite or ``cryptography``.
"""

from __future__ import annotations

from pathlib import Path

from ._backend import LocalBackend
from ._engine import Engine
from ._postgres import is_database_url
from ._records import TeamspaceRecord, WorkspaceRecord
from ._store import Store
from ._verify import verify_request

__all__ = [
    "LocalBackend",
    "Store",
    "TeamspaceRecord",
    "WorkspaceRecord",
    "open_store",
    "rotate_key",
    "verify_request",
]


def open_store(
    database: str | Path,
    *,
    key: bytes | None = None,
    key_file: Path | None = None,
    pool_size: int | None = None,
) -> Store:
    """Open the store in a directory (SQLite) or a PostgreSQL database.

    Parameters:
        database: a directory (the SQLite store ``tilecred.db`` in it), or a
            ``postgresql://`` (or ``postgres://``) URL.
        key: the 32-byte master key; default ``TILECRED_MASTER_KEY``, else the
            key file.
        key_file: the key file. Default: ``key`` beside an SQLite store
            (created on first use); a PostgreSQL store has none unless given,
            and never creates one, so that every instance uses the same key.
        pool_size: the most connections a PostgreSQL store holds at once
            (``tilecred serve --threads``); default 8.

    Raises:
        ConfigurationError: the store cannot be opened, its key does not fit,
            its schema is newer than this tilecred, or a PostgreSQL store is
            asked for without the ``postgres`` extra installed.
    """
    text = str(database)
    if is_database_url(text):
        from ._postgres import PostgresEngine

        engine: Engine = PostgresEngine(text, key_file=key_file, pool_size=pool_size)
    else:
        from ._sqlite import SQLiteEngine

        sqlite = SQLiteEngine(Path(database).expanduser())
        if key_file is not None:
            sqlite.key_path = key_file
        engine = sqlite
    return Store(key=key, engine=engine)


def rotate_key(home: Path | str, new_key: bytes | None = None, *, key: bytes | None = None) -> int:
    """Re-encrypt every secret in the store at ``home`` with a new key.

    The store is opened with its current key (``key``, else
    ``TILECRED_MASTER_KEY``, else the key file) and every secret is re-sealed
    in one transaction. With a key file, ``new_key`` defaults to a fresh random
    key and the key file is replaced; with ``TILECRED_MASTER_KEY`` or ``key``,
    give ``new_key`` and set the variable to it (base64) afterwards.

    Parameters:
        home: the store's directory (``TILECRED_HOME``).
        new_key: the new 32-byte key.
        key: the current 32-byte key, if it is neither in the environment nor
            in the key file.

    Returns:
        How many credentials were re-encrypted.

    Raises:
        ConfigurationError: the current key does not open the store, or the
            new key is missing or not 32 bytes.
        CredentialsError: the store failed; nothing was changed.
    """
    with Store(Path(home), key=key) as store:
        return store.rotate_key(new_key)
