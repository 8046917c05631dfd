"""The gate in front of the worker threads: no idle or slow client holds one.

cheroot hands a new connection straight to a worker thread, which then waits
on the socket (and does the TLS handshake in the accepting thread), so a few
clients that connect and send slowly stop it answering anyone. :class:`Gate`
replaces cheroot's connection manager. In one thread, without blocking, it

- accepts connections, at most ``max_connections`` open at once: at the
  limit the oldest connection that is not being answered is closed for the
  new one, so a crowd of idle sockets cannot lock newcomers out;
- does the TLS handshake and reads the request head (up to
  :data:`MAX_HEAD_BYTES`), within ``header_timeout`` seconds of the
  connection (or, kept alive, of the last answer), else closes it;
- hands a worker only a connection whose request head is complete, with a
  reader whose body reads end ``body_timeout`` seconds after the hand-over;
- closes finished connections gracefully: it stops sending, then discards
  what the client still sends (an unread body) for a moment, so the client
  reads its answer instead of a reset.

Only what is read is buffered, in memory; nothing is written to disk.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import logging
import selectors
import socket
import ssl
import threading
import time
from typing import Any

from cheroot.makefile import MakeFile

from ._serve import Limits

__all__ = ["MAX_HEAD_BYTES", "Gate", "Input"]

logger = logging.getLogger("tilecred.server")

# Request line and headers together; a longer head is answered by cheroot
# (414/413) from what was read, without waiting for more.
MAX_HEAD_BYTES = 64 * 1024
# A closed connection's unread input is discarded for this long, or this much.
LINGER_SECONDS = 2.0
LINGER_BYTES = 2 * 1024 * 1024
_TURN_SECONDS = 0.25
_READ = 64 * 1024
_ACCEPTS_PER_TURN = 64


class Input:
    """A request's input: what the gate read ahead, then the socket, to a deadline."""

    def __init__(self, sock: socket.socket, data: bytes, deadline: float) -> None:
        self._sock = sock
        self._buffer = bytearray(data)
        self._deadline = deadline
        self.bytes_read = 0
        self.closed = False

    def _fill(self) -> bool:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            # The text cheroot recognises as a timeout (answered 408).
            raise TimeoutError("timed out")
        self._sock.settimeout(remaining)
        chunk = self._sock.recv(_READ)
        self._buffer += chunk
        return bool(chunk)

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        self.bytes_read += len(data)
        return data

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            while self._fill():
                pass
            return self._take(len(self._buffer))
        while len(self._buffer) < size and self._fill():
            pass
        return self._take(size)

    def readline(self, size: int | None = -1) -> bytes:
        limit = size if size is not None and size >= 0 else None
        start = 0
        while True:
            end = self._buffer.find(b"\n", start)
            if end >= 0 and (limit is None or end < limit):
                return self._take(end + 1)
            if limit is not None and len(self._buffer) >= limit:
                return self._take(limit)
            start = len(self._buffer)
            if not self._fill():
                return self._take(len(self._buffer))

    def has_data(self) -> bool:
        return bool(self._buffer)

    def leftover(self) -> bytes:
        """What was read past the request (a pipelined next one), taken out."""
        return self._take(len(self._buffer))

    def close(self) -> None:
        self.closed = True


@dataclasses.dataclass(eq=False)
class _Held:
    """A connection the gate holds: in its handshake, reading a head, or lingering."""

    sock: socket.socket
    address: Any
    deadline: float
    state: str  # "handshake", "head" or "linger"
    buffer: bytearray = dataclasses.field(default_factory=bytearray)
    conn: Any = None  # the cheroot connection, once it has had a request
    ssl_env: dict[str, str] = dataclasses.field(default_factory=dict)


class Gate:
    """cheroot's connection manager, replaced: see the module's description."""

    def __init__(self, server: Any, limits: Limits, context: ssl.SSLContext | None) -> None:
        self.server = server
        self.limits = limits
        self._context = context
        self._listener: socket.socket = server.socket
        self._listener.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, "accept")
        self._wake_in, self._wake_out = socket.socketpair()
        self._wake_in.setblocking(False)
        self._selector.register(self._wake_in, selectors.EVENT_READ, "wake")
        self._held: dict[socket.socket, _Held] = {}  # oldest first
        self._busy = 0  # connections with the workers
        self._returns: collections.deque[tuple[str, Any]] = collections.deque()
        self._stopping = False
        self._running = threading.Event()
        self._stopped = threading.Event()

    # -- what cheroot's server calls --------------------------------------------

    @property
    def can_add_keepalive_connection(self) -> bool:
        return not self._stopping

    def put(self, conn: Any) -> None:
        """A worker is done with a request and the connection stays open (any thread)."""
        self._hand_back("keep", conn)

    def release(self, conn: Any) -> None:
        """A worker is done with a connection that is to be closed (any thread)."""
        if self._stopped.is_set():
            _close_files(conn)
            _close(conn.socket)
            return
        self._hand_back("close", conn)

    def run(self, expiration_interval: float) -> None:
        self._running.set()
        try:
            while not self._stopping:
                for key, _events in self._selector.select(_TURN_SECONDS):
                    if key.data == "accept":
                        self._accept()
                    elif key.data == "wake":
                        with contextlib.suppress(OSError):
                            self._wake_in.recv(4096)
                    else:
                        self._advance(key.data)
                self._take_returns()
                self._expire(time.monotonic())
        finally:
            self._stopped.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake()
        if self._running.is_set():
            self._stopped.wait(timeout=5)
        self._stopped.set()

    def close(self) -> None:
        for sock in list(self._held):
            self._drop(sock)
        for conn in self._returns_now():
            _close_files(conn)
            _close(conn.socket)
        self._selector.close()
        self._wake_in.close()
        self._wake_out.close()

    # -- the loop ---------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_out.send(b"x")

    def _hand_back(self, kind: str, conn: Any) -> None:
        self._returns.append((kind, conn))
        self._wake()

    def _returns_now(self) -> list[Any]:
        taken = []
        while self._returns:
            taken.append(self._returns.popleft()[1])
        return taken

    def _accept(self) -> None:
        for _ in range(_ACCEPTS_PER_TURN):
            try:
                sock, address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # out of descriptors, say: try again next turn
                logger.warning("could not accept a connection: %s", exc)
                return
            if not self._make_room():
                _close(sock)
                continue
            sock.setblocking(False)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            deadline = time.monotonic() + self.limits.header_timeout
            if self._context is not None:
                tls = self._context.wrap_socket(
                    sock, server_side=True, do_handshake_on_connect=False
                )
                self._hold(_Held(tls, address, deadline, "handshake"))
            else:
                self._hold(_Held(sock, address, deadline, "head"))

    def _make_room(self) -> bool:
        """Close the oldest held connection if the limit is reached; False if none can go."""
        if len(self._held) + self._busy < self.limits.max_connections:
            return True
        if not self._held:
            return False
        self._drop(next(iter(self._held)))
        return True

    def _hold(self, held: _Held, events: int = selectors.EVENT_READ) -> None:
        self._held[held.sock] = held
        self._selector.register(held.sock, events, held)

    def _drop(self, sock: socket.socket) -> None:
        held = self._held.pop(sock, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)
        if held is not None and held.conn is not None:
            _close_files(held.conn)
        _close(sock)

    def _advance(self, held: _Held) -> None:
        if held.state == "handshake" and not self._handshake(held):
            return
        if held.state == "linger":
            self._discard(held)
            return
        if self._receive(held) and (
            b"\r\n\r\n" in held.buffer or len(held.buffer) >= MAX_HEAD_BYTES
        ):
            self._dispatch(held)

    def _handshake(self, held: _Held) -> bool:
        tls: ssl.SSLSocket = held.sock  # type: ignore[assignment]
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            self._selector.modify(tls, selectors.EVENT_READ, held)
            return False
        except ssl.SSLWantWriteError:
            self._selector.modify(tls, selectors.EVENT_WRITE, held)
            return False
        except (OSError, ValueError):  # ssl.SSLError is an OSError: a failed handshake
            self._drop(tls)
            return False
        self._selector.modify(tls, selectors.EVENT_READ, held)
        held.state = "head"
        cipher = tls.cipher()
        held.ssl_env = {"wsgi.url_scheme": "https", "HTTPS": "on",
                        "SSL_PROTOCOL": str(tls.version()),
                        "SSL_CIPHER": cipher[0] if cipher else ""}  # fmt: skip
        return True

    def _receive(self, held: _Held) -> bool:
        """Read what is there; False when the connection was closed."""
        while len(held.buffer) < MAX_HEAD_BYTES:
            try:
                chunk = held.sock.recv(_READ)
            except (BlockingIOError, InterruptedError, ssl.SSLWantReadError,
                    ssl.SSLWantWriteError):  # fmt: skip
                return True
            except OSError:
                chunk = b""
            if not chunk:
                self._drop(held.sock)
                return False
            held.buffer += chunk
        return True

    def _discard(self, held: _Held) -> None:
        received = len(held.buffer)
        try:
            while received < LINGER_BYTES:
                chunk = held.sock.recv(_READ)
                if not chunk:
                    break
                received += len(chunk)
            else:
                self._drop(held.sock)  # more than a client with an answer would send
                return
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            held.buffer = bytearray(received)  # counts what was discarded, not kept
            return
        except OSError:
            pass
        self._drop(held.sock)

    def _dispatch(self, held: _Held) -> None:
        self._held.pop(held.sock, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(held.sock)
        self._busy += 1
        sock = held.sock
        sock.setblocking(True)
        sock.settimeout(self.limits.body_timeout)
        conn = held.conn
        if conn is None:
            conn = self.server.ConnectionClass(self.server, sock, MakeFile)
            conn.remote_addr, conn.remote_port = held.address[0], held.address[1]
            conn.ssl_env = held.ssl_env
        conn.last_used = time.time()
        conn.rfile = Input(sock, bytes(held.buffer), time.monotonic() + self.limits.body_timeout)
        self.server.process_conn(conn)

    def _take_returns(self) -> None:
        now = time.monotonic()
        while self._returns:
            kind, conn = self._returns.popleft()
            self._busy -= 1
            sock = conn.socket
            try:
                sock.setblocking(False)
            except OSError:
                _close(sock)
                continue
            if kind == "keep":
                held = _Held(sock, None, now + self.limits.header_timeout, "head", conn=conn)
                held.buffer += conn.rfile.leftover()
                if b"\r\n\r\n" in held.buffer:
                    self._dispatch(held)
                    continue
                self._hold(held)
                # Decrypted input waiting in the TLS layer is invisible to select().
                if isinstance(sock, ssl.SSLSocket) and sock.pending():
                    self._advance(held)
                continue
            # Stop sending, then let the client's unread input drain away.
            _close_files(conn)
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                _close(sock)
                continue
            self._hold(_Held(sock, None, now + LINGER_SECONDS, "linger"))

    def _expire(self, now: float) -> None:
        late = [sock for sock, held in self._held.items() if held.deadline <= now]
        for sock in late:
            self._drop(sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()


def _close_files(conn: Any) -> None:
    # The writer holds a reference that would keep the socket from closing.
    with contextlib.suppress(Exception):
        conn.wfile.close()
