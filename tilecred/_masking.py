"""Every secret this process handed out, masked wherever the process shows text.

The registry lives in memory for the life of the process and only grows: a
closed access's values stay masked, since the caller may still hold them.

Where values come in (the one place for each):

- ``CredentialAccess`` registers every secret field of the credential it
  holds when it is made (any kind whose model marks its fields ``Secret()``
  is covered without more code), and hands each form's mapping out through
  ``tilecred._masked_dict.handed_out``.
- A form that hands out a value stored in no secret field (fetched STS keys,
  a parsed key file's private key, an exchanged OAuth token) passes it
  through ``Forms.secret`` (``tilecred._access._base``), which calls
  ``register`` here.
- ``tilecred.mask(value)``: the caller's own values.

Once anything is registered, the hooks in ``tilecred._mask_hooks`` mask it in
every logging record and, in an IPython kernel, in everything the kernel
sends to the notebook.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator

from ._errors import MASK, InvalidArgumentError, secret_forms

__all__ = ["MIN_LENGTH", "holds_secret", "mask", "register", "scrub"]

# Values shorter than this are not masked in text: replacing every "abc" in
# every log line would make output unreadable and protect next to nothing.
MIN_LENGTH = 6
# A multi-line secret (a PEM key) is also masked line by line, for lines at
# least this long: output may show one line of it. Shorter lines are headers
# ("-----BEGIN PRIVATE KEY-----" is 27) or the key's short last line.
_MIN_LINE = 28


def _texts(value: str) -> Iterator[str]:
    """The ways ``value`` can appear in output: as it is, escaped or encoded, and its lines."""
    yield from secret_forms(value)
    yield repr(value)[1:-1]  # inside a repr'd container: print(dict(...)), logging "%r"
    lines = value.splitlines()
    if len(lines) > 1:
        yield from (line.strip() for line in lines if len(line.strip()) >= _MIN_LINE)


class _Registry:
    """The values, and one compiled pattern that finds any of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._texts: set[str] = set()
        # Replaced whole, never changed in place: readers take it without the lock.
        self.pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[str]) -> None:
        with self._lock:
            new = {value for value in values if len(value) >= MIN_LENGTH} - self._values
            if not new:
                return
            self._values |= new
            for value in new:
                self._texts.update(text for text in _texts(value) if len(text) >= MIN_LENGTH)
            # Longest first: a value that contains another is masked whole.
            ordered = sorted(self._texts, key=len, reverse=True)
            self.pattern = re.compile("|".join(map(re.escape, ordered)))


_REGISTRY = _Registry()


def register(values: Iterable[str]) -> None:
    """Mask ``values`` from now on (those under ``MIN_LENGTH`` characters are skipped)."""
    _REGISTRY.add(values)
    if _REGISTRY.pattern is not None:
        from ._mask_hooks import install  # loads on first use: `import tilecred` stays cheap

        install(scrub)


def scrub(text: str) -> str:
    """``text`` with every registered value in it replaced by ``***``."""
    pattern = _REGISTRY.pattern
    return text if pattern is None else pattern.sub(MASK, text)


def holds_secret(text: str) -> bool:
    """Whether ``text`` contains a registered value."""
    pattern = _REGISTRY.pattern
    return pattern is not None and pattern.search(text) is not None


def mask(value: str) -> None:
    """Mask ``value`` as tilecred masks what it hands out, from now on, in this process.

    Logging records and, in an IPython kernel, notebook output show ``***``
    in its place, as they do for every secret ``use_credential`` returned.
    Values shorter than 6 characters are not masked (they would mask common
    words); nothing is stored on disk.

    Parameters:
        value: the text to mask, such as a password your code read elsewhere.

    Raises:
        InvalidArgumentError: ``value`` is not a string.

    Examples:
        >>> import logging
        >>> mask("hunter2-database-password")
        >>> record = logging.makeLogRecord(
        ...     {"msg": "connecting with %s", "args": ("hunter2-database-password",)})
        >>> record.getMessage()
        'connecting with ***'
    """
    if not isinstance(value, str):
        raise InvalidArgumentError(f"mask() takes a string, not {type(value).__name__}")
    register((value,))
