"""Replace known secrets in a byte stream with ``***``, as the stream arrives.

``tilecred exec`` passes its command's output through a ``StreamMasker`` given
the exact byte strings it handed the command. Output goes on at once, except
the tail that could still be the start of a secret: that is held until the
next bytes (or the end) decide it. So a secret split across two writes is
still caught, and the result is the same however the stream was cut up.
Bytes that are not part of a secret pass unchanged (binary output included).

Matching is leftmost-longest, like a regular expression that tries the longer
secrets first, but done with ``bytes.find``: several times faster than ``re``
on an alternation of literals.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["MASK", "MIN_SECRET_BYTES", "StreamMasker"]

MASK = b"***"
# Shorter values are left alone: masking every "admin" or "1234" in the output
# would make it unreadable and protect little.
MIN_SECRET_BYTES = 6


class StreamMasker:
    """Masks ``secrets`` in the bytes fed to it.

    Parameters:
        secrets: the values to mask; those shorter than ``MIN_SECRET_BYTES``
            are ignored.
    """

    def __init__(self, secrets: Iterable[bytes]) -> None:
        kept = {secret for secret in secrets if len(secret) >= MIN_SECRET_BYTES}
        # Longest first: at one position, the longest secret there wins.
        self._secrets = sorted(kept, key=len, reverse=True)
        self._held = b""

    def __repr__(self) -> str:
        return f"StreamMasker({len(self._secrets)} secrets)"

    @property
    def active(self) -> bool:
        """Whether there is anything to mask."""
        return bool(self._secrets)

    def feed(self, data: bytes) -> bytes:
        """The masked output that ``data`` makes final; the rest is held back."""
        if not self._secrets:
            return data
        return self._mask(self._held + data, final=False)

    def flush(self) -> bytes:
        """Everything still held, masked: the stream has ended."""
        held, self._held = self._held, b""
        return self._mask(held, final=True) if held else b""

    def _mask(self, buf: bytes, *, final: bool) -> bytes:
        live = [] if final else self._undecided(buf)
        out = bytearray()
        pos = 0
        for start, end in self._matches(buf):
            if start < pos:
                continue  # inside a secret already masked
            if _first_at_or_after(live, pos, len(buf)) <= start:
                break  # a secret may start before this one: wait for more bytes
            out += buf[pos:start]
            out += MASK
            pos = end
        hold = _first_at_or_after(live, pos, len(buf))
        out += buf[pos:hold]
        self._held = buf[hold:]
        return bytes(out)

    def _matches(self, buf: bytes) -> list[tuple[int, int]]:
        """Every occurrence of every secret, by start, the longest first at each start."""
        found: list[tuple[int, int]] = []
        for secret in self._secrets:
            at = buf.find(secret)
            while at != -1:
                found.append((at, -len(secret)))
                at = buf.find(secret, at + 1)
        found.sort()
        return [(start, start - negative) for start, negative in found]

    def _undecided(self, buf: bytes) -> list[int]:
        """Positions from which the rest of ``buf`` is the start of a longer secret."""
        positions: set[int] = set()
        size = len(buf)
        for secret in self._secrets:
            first = secret[:1]
            at = buf.find(first, max(0, size - len(secret) + 1))
            while at != -1:
                if secret.startswith(buf[at:]):
                    positions.add(at)
                at = buf.find(first, at + 1)
        return sorted(positions)


def _first_at_or_after(positions: list[int], pos: int, default: int) -> int:
    for position in positions:
        if position >= pos:
            return position
    return default
