"""How many private keys one token's verifying listings may check.

A listing with ``verify=true`` checks each credential of its page; one that
carries a private key can cost up to a second (see
:mod:`tilecred._local._verify_cache`, which also keeps results per
credential version). The server lets one request check at most
:data:`KEYS_PER_REQUEST` such keys, and one token at most
:data:`KEYS_PER_TOKEN` a minute; the rest are listed without a ``status``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from .._local._verify_cache import VerifyBudget
from ._request import HttpError
from ._tokens import TASK, TokenRecord

__all__ = ["KEYS_PER_REQUEST", "KEYS_PER_TOKEN", "VerifyAllowance"]

KEYS_PER_REQUEST = 4
KEYS_PER_TOKEN = 16
_WINDOW_SECONDS = 60.0


class VerifyAllowance:
    """What each token has spent in its current minute."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spent: dict[str, tuple[float, int]] = {}  # token id -> (window start, keys)

    @staticmethod
    def check(caller: TokenRecord, *, wanted: bool) -> None:
        """Refuse (403) verification to a task token: a task uses credentials, never checks them."""
        if wanted and caller.kind == TASK:
            raise HttpError(403, "a task token cannot verify credentials: list without verify")

    @contextlib.contextmanager
    def budget(self, token_id: str, *, wanted: bool) -> Iterator[VerifyBudget | None]:
        """The keys one request of this token may check (``None`` unless ``wanted``);
        what it spent is counted against the token when the block ends."""
        if not wanted:
            yield None
            return
        now = time.monotonic()
        with self._lock:
            start, used = self._spent.get(token_id, (now, 0))
            if now - start >= _WINDOW_SECONDS:
                used = 0
        budget = VerifyBudget(max(0, min(KEYS_PER_REQUEST, KEYS_PER_TOKEN - used)))
        try:
            yield budget
        finally:
            self._charge(token_id, budget)

    def _charge(self, token_id: str, budget: VerifyBudget) -> None:
        if not budget.spent:
            return
        now = time.monotonic()
        with self._lock:
            if len(self._spent) > 10_000:  # forget the windows that are over
                self._spent = {k: v for k, v in self._spent.items()
                               if now - v[0] < _WINDOW_SECONDS}  # fmt: skip
            start, used = self._spent.get(token_id, (now, 0))
            if now - start >= _WINDOW_SECONDS:
                start, used = now, 0
            self._spent[token_id] = (start, used + budget.spent)
