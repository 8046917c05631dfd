"""Opening the store: a directory means SQLite, a ``postgresql://`` URL PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from ._engine import Engine
from ._postgres import is_database_url
from ._store import Store

__all__ = ["open_store"]


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
