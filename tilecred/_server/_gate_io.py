"""What a worker reads and writes instead of a socket, and how the gate knows a body is whole.

The gate (:mod:`tilecred._server._gate`) reads a whole request — head and
body, up to the body limit — before a worker sees it, and sends the answer
after the worker is done, so a worker never waits on a client. A worker
reads the request from an :class:`Input` over what the gate read, and writes
its answer into an :class:`Output` in memory. :class:`Body` tells, from the
request head, how much the gate must read before the request is whole.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from typing import Any

from ._app import MAX_BODY
from ._request import HttpError

__all__ = [
    "CHUNKED_RAW_LIMIT",
    "CONTINUE",
    "Body",
    "Input",
    "Output",
    "close_files",
    "close_quietly",
    "discard",
    "make_file",
    "over_limit",
    "send_late",
]

# A chunked body's framing may add to its size; past this many bytes on the
# wire the body is refused whatever it would decode to.
CHUNKED_RAW_LIMIT = 2 * MAX_BODY
# What a worker that finishes after the gate stopped may spend sending its answer.
LATE_SEND_SECONDS = 1.0
# cheroot writes this itself on "Expect: 100-continue"; the gate answers it
# instead, while it waits for the body, and the worker's copy is dropped.
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def over_limit() -> HttpError:
    """The refusal of a body bigger than the limit (the application's own words)."""
    return HttpError(413, "request body is over the 1 MiB limit")


class Input:
    """A request as the gate read it; reading past it is ``shortfall``, or the end.

    ``shortfall``: why the rest is missing (it did not arrive in time, or it
    was over the limit), raised when a worker reads past what is here.
    """

    def __init__(self, data: bytes, shortfall: BaseException | None = None) -> None:
        self._buffer = bytearray(data)
        self._shortfall = shortfall
        self.bytes_read = 0
        self.closed = False

    def _take(self, size: int) -> bytes:
        if size > len(self._buffer) and self._shortfall is not None:
            raise self._shortfall
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        self.bytes_read += len(data)
        return data

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self._take(len(self._buffer))
        return self._take(size)

    def readline(self, size: int | None = -1) -> bytes:
        end = self._buffer.find(b"\n")
        unbounded = size is None or size < 0 or size > len(self._buffer)
        if end < 0 and unbounded and self._shortfall is not None:
            # The line runs past what is here: its end is what is missing. A
            # partial line handed back would read as malformed framing (a 400)
            # where the truth is the shortfall (the limit's 413, or a 408).
            raise self._shortfall
        length = len(self._buffer) if end < 0 else end + 1
        if size is not None and size >= 0:
            length = min(length, size)
        return self._take(length)

    def has_data(self) -> bool:
        return bool(self._buffer)

    def leftover(self) -> bytes:
        """What was read past the request (a pipelined next one), taken out."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def close(self) -> None:
        self.closed = True


class Output:
    """A worker's answer, kept in memory for the gate to send."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.bytes_written = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        if not self._parts and bytes(data) == CONTINUE:
            return len(data)
        self._parts.append(bytes(data))
        self.bytes_written += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def make_file(_sock: object, mode: str, _size: int = -1) -> Input | Output:
    """cheroot's ``makefile`` for a connection: nothing ever wraps the socket itself."""
    return Output() if "w" in mode else Input(b"")


class Body:
    """How a request's body is framed, from its head, and whether it has all arrived.

    ``awaited``: the gate reads the body before handing the request over.
    A body that is not awaited (none, over the limit, or framed in a way
    cheroot refuses) is handed over at once and answered without reading it.
    """

    def __init__(self, head: bytes) -> None:
        self.length = 0
        self.chunked = False
        self.expects_continue = False
        self.awaited = False
        lengths: set[str] = set()
        encodings: list[str] = []
        for line in head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                lengths.add(value)
            elif name == "transfer-encoding":
                encodings.extend(part.strip() for part in value.split(",") if part.strip())
            elif name == "expect":
                self.expects_continue = value == "100-continue"
        if encodings:
            self.chunked = self.awaited = encodings == ["chunked"]
        elif len(lengths) == 1:
            text = lengths.pop()
            if text.isdigit():
                self.length = int(text)
                self.awaited = 0 < self.length <= MAX_BODY
        # Chunked: where the next chunk's size line starts, past the head,
        # what the chunks decode to so far, and whether the trailer is next.
        self._at = 0
        self._decoded = 0
        self._trailer = False

    def read_limit(self) -> int:
        """The most body bytes the gate reads for this request."""
        if not self.awaited:
            return 0
        return CHUNKED_RAW_LIMIT + 1 if self.chunked else self.length

    def verdict(self, data: bytearray, start: int) -> str:
        """``"whole"``, ``"more"`` (still arriving) or ``"over"`` (over the limit).

        ``data[start:]`` is the body read so far (and maybe what follows it).
        """
        if not self.awaited:
            return "whole"
        if not self.chunked:
            return "whole" if len(data) - start >= self.length else "more"
        verdict = self._scan(data, start)
        if verdict == "more" and len(data) - start > CHUNKED_RAW_LIMIT:
            return "over"
        return verdict

    def _scan(self, data: bytearray, start: int) -> str:
        # Resumes where the last call stopped, so a body sent a byte at a
        # time costs no more than one sent at once.
        while True:
            at = start + self._at
            end = data.find(b"\n", at)
            if end < 0:
                return "more"
            line = bytes(data[at:end]).strip()
            if self._trailer:
                self._at = end + 1 - start
                if not line:
                    return "whole"
                continue
            try:
                size = int(line.split(b";", 1)[0], 16)
            except ValueError:
                return "whole"  # malformed: cheroot refuses it from what is here
            if size <= 0:
                self._at = end + 1 - start
                self._trailer = True
                continue
            if self._decoded + size > MAX_BODY:
                return "over"
            if len(data) < end + 1 + size + 2:
                return "more"
            self._decoded += size
            self._at = end + 1 + size + 2 - start


def discard(sock: socket.socket, received: int | None, limit: int) -> int | None:
    """Read and throw away what a closing connection's client still sends: how much
    so far, or ``None`` once it stopped (or sent more than ``limit``, more than a
    client with an answer would)."""
    received = received or 0
    try:
        while received < limit:
            chunk = sock.recv(64 * 1024)
            if not chunk:
                return None
            received += len(chunk)
    except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
        return received
    except OSError:
        return None
    return None


def send_late(conn: Any) -> None:
    """Send a worker's answer after the gate stopped: briefly, then close."""
    sock = conn.socket
    with contextlib.suppress(OSError, ValueError):
        sock.setblocking(True)
        sock.settimeout(LATE_SEND_SECONDS)
        sock.sendall(conn.wfile.take())
    close_files(conn)
    close_quietly(sock)


def close_quietly(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()


def close_files(conn: Any) -> None:
    with contextlib.suppress(Exception):
        conn.wfile.close()
        conn.rfile.close()
