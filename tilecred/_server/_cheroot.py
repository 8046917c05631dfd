"""tilecred's cheroot server: cheroot's WSGI server with the changes serving needs.

Imported only when ``tilecred serve`` runs: cheroot is the ``server`` extra.
Connections are managed by :class:`~tilecred._server._gate.Gate` instead of
cheroot's own manager; a request whose body the application left unread
closes its connection (gracefully, by the gate) instead of cheroot reading
the rest of the body to keep the connection alive.
"""

from __future__ import annotations

import logging
import socket
import ssl
from typing import Any

import cheroot.server
import cheroot.wsgi

from ._gate import MAX_HEAD_BYTES, Gate
from ._serve import Limits

__all__ = ["WSGIServer"]

logger = logging.getLogger("tilecred.server")


class _Request(cheroot.server.HTTPRequest):
    def send_headers(self) -> None:
        # cheroot would read an unread body to the end to keep the connection;
        # an unauthenticated or refused body is never read: the connection closes.
        rfile: Any = self.rfile
        if getattr(rfile, "remaining", 0) or (self.chunked_read and not rfile.closed):
            self.close_connection = True
        super().send_headers()


class _Connection(cheroot.server.HTTPConnection):
    RequestHandlerClass = _Request

    def close(self) -> None:
        # The gate closes it: gracefully, without holding this worker.
        self.server._connections.release(self)


class WSGIServer(cheroot.wsgi.Server):
    """cheroot's WSGI server behind the gate, logging through :mod:`logging`."""

    ConnectionClass = _Connection
    max_request_header_size = MAX_HEAD_BYTES

    def __init__(
        self, app: Any, host: str, port: int, threads: int, limits: Limits,
        context: ssl.SSLContext | None, drain_seconds: int,
    ) -> None:  # fmt: skip
        super().__init__(
            (host, port), app, numthreads=threads, max=threads, server_name="tilecred",
            shutdown_timeout=drain_seconds, request_queue_size=128,
            timeout=int(limits.body_timeout),
        )  # fmt: skip
        self.limits = limits
        self.context = context

    def prepare(self) -> None:
        super().prepare()
        # cheroot's own manager is replaced before it ever runs.
        replaced: Any = self.__dict__["_connections"]
        replaced._selector.close()
        self._connections = Gate(self, self.limits, self.context)

    @staticmethod
    def bind_socket(socket_: socket.socket, bind_addr: Any) -> socket.socket:
        # cheroot leaves a socket that failed to bind open; it is closed here.
        try:
            socket_.bind(bind_addr)
        except OSError:
            socket_.close()
            raise
        return socket_

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        # cheroot writes its own errors to stderr; they go to the server's log instead.
        logger.log(level, "%s", msg, exc_info=traceback)
