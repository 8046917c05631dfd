"""A small forward proxy on 127.0.0.1 that records what reached it.

It tunnels ``CONNECT host:port`` (HTTPS) and forwards absolute-form plain-HTTP
requests, one per connection. Every request head it received is kept, raw, in
:attr:`RecordingProxy.heads`; with ``auth`` set it answers ``407`` to a
request without that ``Proxy-Authorization``.
"""

from __future__ import annotations

import select
import socket
from urllib.parse import urlsplit

from tests._http_helpers import ThreadedServer

__all__ = ["RecordingProxy"]


def _read_head(conn: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _headers(head: bytes) -> dict[str, str]:
    found = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        found[name.strip().lower()] = value.strip()
    return found


class RecordingProxy(ThreadedServer):
    """A threaded HTTP proxy; ``heads`` holds every request head it saw."""

    def __init__(self, *, auth: str | None = None) -> None:
        self._auth = auth
        self.heads: list[bytes] = []
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def request_lines(self) -> list[str]:
        return [head.split(b"\r\n", 1)[0].decode("latin-1") for head in self.heads]

    def headers(self, index: int) -> dict[str, str]:
        """The headers of the ``index``-th request, names in lower case."""
        return _headers(self.heads[index])

    def handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            head, rest = _read_head(conn)
            if not head:
                return
            self.heads.append(head)
            if self._auth is not None and _headers(head).get("proxy-authorization") != self._auth:
                conn.sendall(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n'
                )
                return
            method, target, _ = head.split(b" ", 2)
            if method == b"CONNECT":
                host, _, port = target.decode().rpartition(":")
                upstream = socket.create_connection((host, int(port)), timeout=5)
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                upstream = self._forward(head, rest, target)
            with upstream:
                self._pipe(conn, upstream)

    @staticmethod
    def _forward(head: bytes, rest: bytes, target: bytes) -> socket.socket:
        """Send an absolute-form request on to its origin, in origin form."""
        split = urlsplit(target.decode())
        upstream = socket.create_connection((split.hostname, split.port or 80), timeout=5)
        path = (split.path or "/") + (f"?{split.query}" if split.query else "")
        lines = head.split(b"\r\n")
        first = lines[0].replace(target, path.encode(), 1)
        kept = [
            line
            for line in lines[1:]
            if line.split(b":", 1)[0].strip().lower() not in (b"proxy-authorization", b"connection")
        ]
        # One request per connection: the answer ends when the origin closes.
        upstream.sendall(b"\r\n".join([first, *kept, b"Connection: close"]) + b"\r\n\r\n" + rest)
        return upstream

    def _pipe(self, one: socket.socket, other: socket.socket) -> None:
        while not self.stopping.is_set():
            ready, _, _ = select.select([one, other], [], [], 0.05)
            for sock in ready:
                try:
                    data = sock.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                (other if sock is one else one).sendall(data)
