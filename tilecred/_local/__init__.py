"""The store: encrypted credentials in an SQLite file on this machine (the
embedded default) or in a PostgreSQL database shared by several servers.

Imported only when the local backend is first used, so ``import tilecred``
does not load SQLite or ``cryptography``.
"""

from __future__ import annotations

from pathlib import Path

from ._backend import LocalBackend
from ._open import open_store
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


def rotate_key(home: Path | str, new_key: bytes | None = None, *, key: bytes | None = None) -> int:
    """Re-encrypt every secret in the store at ``home`` with a new key.

    The store is opened with its current key (``key``, else
    ``TILECRED_MASTER_KEY``, else the key file) and every secret is re-sealed
    in one transaction. With a key file, ``new_key`` defaults to a fresh random
    key and the key file is replaced; with ``TILECRED_MASTER_KEY`` or ``key``,
    give ``new_key`` and set the variable to it (base64) afterwards.

    Parameters:
        home: the store's directory (``TILECRED_HOME``), or a PostgreSQL
            store's URL (its instances then need the new key to start).
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
    with open_store(home, key=key) as store:
        return store.rotate_key(new_key)
