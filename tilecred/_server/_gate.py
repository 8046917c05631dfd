"""The gate in front of the worker threads: no idle, slow or non-reading client holds one.

cheroot hands a new connection straight to a worker thread, which then waits
on the socket (and does the TLS handshake in the accepting thread), so a few
clients that connect and send slowly — or send requests and never read the
answers — stop it answering anyone. :class:`Gate` replaces cheroot's
connection manager. In one thread, without blocking, it

- accepts connections, at most ``max_connections`` open at once: at the
  limit the oldest connection that is not with a worker is closed for the
  new one, so a crowd of idle sockets cannot lock newcomers out;
- does the TLS handshake and reads the request head (up to
  :data:`MAX_HEAD_BYTES`) within ``header_timeout`` seconds of the
  connection (or, kept alive, of the last answer), else closes it;
- reads the whole body (up to the body limit, :data:`MAX_AWAITED_BODIES` at
  once) within ``body_timeout`` seconds of the head; one that is late is
  handed over as it is, and the worker answers 408 without waiting;
- hands a worker only a whole request, which the worker reads from memory
  and answers into memory (:mod:`tilecred._server._gate_io`);
- sends the answer as the client takes it, within ``body_timeout`` seconds,
  else closes the connection; the next request on the connection is read
  only once the answer is sent, and at most :data:`MAX_PIPELINED` requests
  sent ahead of their answers are answered before the connection closes;
- closes finished connections gracefully: it stops sending, then discards
  what the client still sends for a moment, so it reads its answer, not a reset.

Only what is read and answered is buffered, in memory; nothing goes to disk.
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

from . import _gate_io as buffers
from ._serve import Limits
from ._tls_mistakes import answer_plain_http

__all__ = ["MAX_AWAITED_BODIES", "MAX_HEAD_BYTES", "MAX_PIPELINED", "Gate"]

logger = logging.getLogger("tilecred.server")

# Request line and headers together; a longer head is answered by cheroot
# (414/413) from what was read, without waiting for more.
MAX_HEAD_BYTES = 64 * 1024
# Requests a client may send ahead of reading their answers, in a row; the
# answer to the last one closes the connection.
MAX_PIPELINED = 8
# Bodies read at once (each up to the 1 MiB limit); past it the oldest is closed.
MAX_AWAITED_BODIES = 64
# A closed connection's unread input is discarded for this long, or this much.
LINGER_SECONDS = 2.0
LINGER_BYTES = 2 * 1024 * 1024
_TURN_SECONDS = 0.25
_READ = 64 * 1024
_WRITE = 256 * 1024
_ACCEPTS_PER_TURN = 64
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


@dataclasses.dataclass(eq=False)
class _Held:
    """A connection the gate holds: in its handshake, being read, answered, or lingering."""

    sock: socket.socket
    address: Any
    deadline: float
    state: str  # "handshake", "read", "write" or "linger"
    buffer: bytearray = dataclasses.field(default_factory=bytearray)
    conn: Any = None  # the cheroot connection, once it has had a request
    ssl_env: dict[str, str] = dataclasses.field(default_factory=dict)
    head_end: int = 0  # where the body starts, once the head is whole
    body: buffers.Body | None = None
    output: memoryview = dataclasses.field(default_factory=lambda: memoryview(b""))
    close_after: bool = False  # the answer being sent is the connection's last
    pipelined: int = 0  # requests in a row that arrived before the previous answer went out
    discarded: int | None = 0  # lingering: what the client sent since, thrown away


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
        self._awaiting: dict[socket.socket, _Held] = {}  # reading a body, oldest first
        self._busy = 0  # connections with the workers
        self._returns: collections.deque[tuple[str, Any]] = collections.deque()
        self._stopping = False
        self._drain_until = 0.0
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
            buffers.send_late(conn)
            return
        self._hand_back("close", conn)

    def run(self, expiration_interval: float) -> None:
        self._running.set()
        try:
            while not self._stopping or not self._drained():
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
        self._drain_until = time.monotonic() + float(getattr(self.server, "shutdown_timeout", 5))
        self._stopping = True
        self._wake()
        if self._running.is_set():
            self._stopped.wait(timeout=self._drain_until - time.monotonic() + 5)
        self._stopped.set()

    def close(self) -> None:
        for sock in list(self._held):
            self._drop(sock)
        while self._returns:
            buffers.send_late(self._returns.popleft()[1])
        self._selector.close()
        self._wake_in.close()
        self._wake_out.close()

    # -- the loop ---------------------------------------------------------------

    def _drained(self) -> bool:
        """Stopping: stop accepting and reading; True once the answers in flight are sent."""
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(self._listener)
        for held in list(self._held.values()):
            if held.state != "write":
                self._drop(held.sock)
        writing = any(held.state == "write" for held in self._held.values())
        busy = self._busy > 0 or bool(self._returns)
        return not (writing or busy) or time.monotonic() >= self._drain_until

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_out.send(b"x")

    def _hand_back(self, kind: str, conn: Any) -> None:
        self._returns.append((kind, conn))
        self._wake()

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
                buffers.close_quietly(sock)
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
                self._hold(_Held(sock, address, deadline, "read"))

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

    def _unhold(self, held: _Held) -> None:
        self._held.pop(held.sock, None)
        self._awaiting.pop(held.sock, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(held.sock)

    def _drop(self, sock: socket.socket) -> None:
        held = self._held.get(sock) or _Held(sock, None, 0.0, "gone")
        self._unhold(held)
        if held.conn is not None:
            buffers.close_files(held.conn)
        buffers.close_quietly(sock)

    def _await_body(self, held: _Held) -> None:
        """Read this body; past MAX_AWAITED_BODIES at once the oldest is closed,
        so slow bodies cannot fill the server's memory."""
        self._awaiting[held.sock] = held
        if len(self._awaiting) > MAX_AWAITED_BODIES:
            self._drop(next(iter(self._awaiting)))

    def _advance(self, held: _Held) -> None:
        if held.state == "handshake" and not self._handshake(held):
            return
        if held.state == "linger":
            self._discard(held)
        elif held.state == "write":
            self._send(held)
        elif self._receive(held):
            self._progress(held)

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
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError: a failed handshake
            answer_plain_http(tls, held.address, exc)
            self._drop(tls)
            return False
        self._selector.modify(tls, selectors.EVENT_READ, held)
        held.state = "read"
        cipher = tls.cipher()
        held.ssl_env = {"wsgi.url_scheme": "https", "HTTPS": "on",
                        "SSL_PROTOCOL": str(tls.version()),
                        "SSL_CIPHER": cipher[0] if cipher else ""}  # fmt: skip
        return True

    def _wanted(self, held: _Held) -> int:
        """How much of this request the gate reads before handing it over."""
        if held.body is None:
            return MAX_HEAD_BYTES
        return held.head_end + held.body.read_limit()

    def _receive(self, held: _Held) -> bool:
        """Read what is there, up to what the request needs; False when the connection closed."""
        while len(held.buffer) < self._wanted(held):
            try:
                chunk = held.sock.recv(_READ)
            except _WOULD_BLOCK:
                return True
            except OSError:
                chunk = b""
            if not chunk:
                self._drop(held.sock)
                return False
            held.buffer += chunk
        return True

    def _progress(self, held: _Held) -> None:
        """Hand the request over once it is whole (or can be answered from what is here)."""
        if held.body is None:
            end = held.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(held.buffer) >= MAX_HEAD_BYTES:
                    self._dispatch(held, None)
                return
            held.head_end = end + 4
            held.body = buffers.Body(bytes(held.buffer[: held.head_end]))
            if held.body.awaited:
                held.deadline = time.monotonic() + self.limits.body_timeout
                self._await_body(held)
        verdict = held.body.verdict(held.buffer, held.head_end)
        if verdict == "whole":
            self._dispatch(held, None)
        elif verdict == "over":
            self._dispatch(held, buffers.over_limit())
        elif held.body.expects_continue and len(held.buffer) == held.head_end:
            held.body.expects_continue = False
            with contextlib.suppress(*_WOULD_BLOCK, OSError):
                held.sock.send(buffers.CONTINUE)

    def _discard(self, held: _Held) -> None:
        held.discarded = buffers.discard(held.sock, held.discarded, LINGER_BYTES)
        if held.discarded is None:
            self._drop(held.sock)

    def _dispatch(self, held: _Held, shortfall: BaseException | None) -> None:
        self._unhold(held)
        self._busy += 1
        conn = held.conn
        if conn is None:
            conn = self.server.ConnectionClass(self.server, held.sock, buffers.make_file)
            conn.remote_addr, conn.remote_port = held.address[0], held.address[1]
            conn.ssl_env = held.ssl_env
            held.conn = conn
        conn.last_used = time.time()
        conn.rfile = buffers.Input(bytes(held.buffer), shortfall)
        conn.wfile = buffers.Output()
        conn.gate_held = held
        self.server.process_conn(conn)

    def _take_returns(self) -> None:
        while self._returns:
            kind, conn = self._returns.popleft()
            self._busy -= 1
            held: _Held = conn.gate_held
            held.state = "write"
            held.output = memoryview(conn.wfile.take())
            held.close_after = kind == "close" or self._stopping
            held.deadline = time.monotonic() + self.limits.body_timeout
            held.buffer = bytearray(conn.rfile.leftover())
            held.head_end, held.body = 0, None
            self._hold(held, selectors.EVENT_WRITE)
            self._send(held)

    def _send(self, held: _Held) -> None:
        """Send what the client takes of the answer; once all is sent, go on."""
        while held.output:
            try:
                sent = held.sock.send(held.output[:_WRITE])
            except ssl.SSLWantReadError:
                self._selector.modify(held.sock, selectors.EVENT_READ, held)
                return
            except _WOULD_BLOCK:
                self._selector.modify(held.sock, selectors.EVENT_WRITE, held)
                return
            except OSError:
                self._drop(held.sock)
                return
            held.output = held.output[sent:]
        self._sent(held)

    def _sent(self, held: _Held) -> None:
        now = time.monotonic()
        if not held.close_after and b"\r\n\r\n" in held.buffer:
            held.pipelined += 1
            held.close_after = held.pipelined >= MAX_PIPELINED
        elif not held.close_after:
            held.pipelined = 0
        if held.close_after:
            # Stop sending, then let the client's unread input drain away.
            buffers.close_files(held.conn)
            try:
                held.sock.shutdown(socket.SHUT_WR)
            except OSError:
                self._drop(held.sock)
                return
            held.state, held.deadline, held.conn = "linger", now + LINGER_SECONDS, None
            self._selector.modify(held.sock, selectors.EVENT_READ, held)
            return
        held.state, held.deadline = "read", now + self.limits.header_timeout
        self._selector.modify(held.sock, selectors.EVENT_READ, held)
        self._progress(held)
        # Decrypted input waiting in the TLS layer is invisible to select().
        if held.state == "read" and isinstance(held.sock, ssl.SSLSocket) and held.sock.pending():
            self._advance(held)

    def _expire(self, now: float) -> None:
        late = [held for held in self._held.values() if held.deadline <= now]
        for held in late:
            if held.state == "read" and held.body is not None and not self._stopping:
                # The body did not arrive in time: a worker answers 408 from what is here.
                self._dispatch(held, TimeoutError("timed out"))
            else:
                self._drop(held.sock)
