"""What a verifying listing may spend, and the results it keeps.

Checking a stored credential that carries a private key (a GCP
service-account key, a Snowflake key) can cost a second of key derivation;
a listing of a page of them multiplied that by the page. So a listing

- keeps each credential's result per stored version of it (its id, its
  ``updated_at`` and a digest of its row, sealed secret included): a
  credential is checked again only once it changed, or the key re-sealed it;
- checks at most :attr:`VerifyBudget.keys` private keys it has no result for,
  and no more than :data:`MAX_KEY_CHECKS_AT_ONCE` at once in this process;
  a credential past either bound is listed without a ``status``.

Credentials without a private key cost microseconds and are always checked.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import threading
from collections.abc import Iterator
from typing import Any

from .._models import GCPServiceAccountKey, SnowflakeServiceUserKey

__all__ = [
    "MAX_KEY_CHECKS_AT_ONCE",
    "RESULTS",
    "VerifyBudget",
    "VerifyResults",
    "costly",
    "version",
]

MAX_KEY_CHECKS_AT_ONCE = 2
_KEEP = 4096
_KEY_CHECKS = threading.BoundedSemaphore(MAX_KEY_CHECKS_AT_ONCE)
_COSTLY = (GCPServiceAccountKey, SnowflakeServiceUserKey)


def version(row: tuple[Any, ...]) -> tuple[str, int, str]:
    """A stored credential's version: its id, ``updated_at`` and a digest of the
    whole row (its sealed secret and every column bound to it included)."""
    values = tuple(bytes(v) if isinstance(v, (memoryview, bytearray)) else v for v in row)
    return str(row[0]), int(row[11] or 0), hashlib.sha256(repr(values).encode()).hexdigest()


def costly(secret: Any) -> bool:
    """Whether checking this secret member loads a private key."""
    return isinstance(secret, _COSTLY)


class VerifyResults:
    """The latest results, per credential version; the least recently used go first."""

    def __init__(self, keep: int = _KEEP) -> None:
        self._keep = keep
        self._results: collections.OrderedDict[tuple[str, int, str], str] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, str]) -> str | None:
        with self._lock:
            status = self._results.get(key)
            if status is not None:
                self._results.move_to_end(key)
            return status

    def put(self, key: tuple[str, int, str], status: str) -> None:
        with self._lock:
            self._results[key] = status
            self._results.move_to_end(key)
            while len(self._results) > self._keep:
                self._results.popitem(last=False)


# One per process: a credential version's id and digest name it in any store.
RESULTS = VerifyResults()


class VerifyBudget:
    """How many private keys one listing may check that have no kept result.

    ``None`` is no bound (the library's own listing, on the user's machine).
    """

    def __init__(self, keys: int | None = None) -> None:
        self.keys = keys
        self.spent = 0

    @contextlib.contextmanager
    def key_check(self) -> Iterator[bool]:
        """Whether one more key may be checked now; held while it is."""
        if self.keys is not None and self.spent >= self.keys:
            yield False
            return
        if not _KEY_CHECKS.acquire(blocking=self.keys is None):
            yield False
            return
        self.spent += 1
        try:
            yield True
        finally:
            _KEY_CHECKS.release()
