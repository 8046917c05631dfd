"""Running the application under waitress, and stopping it cleanly.

waitress's own ``serve()`` stops only on KeyboardInterrupt from the main
thread. :class:`Server` runs the same event loop one turn at a time, so a
signal handler or another thread can ask it to stop: the listening socket
closes, requests in flight finish and their responses are sent, then the
worker threads end.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from .._errors import ConfigurationError

__all__ = ["DRAIN_SECONDS", "Server", "make_server"]

# How long requests in flight get to finish once a stop is asked for.
DRAIN_SECONDS = 5.0
_TURN_SECONDS = 0.5


def make_server(app: Any, host: str, port: int, threads: int) -> Server:
    """Bind ``host:port`` (``0`` picks a free port) and prepare ``threads`` workers.

    Raises:
        ConfigurationError: waitress is not installed, or the address cannot be bound.
    """
    try:
        import waitress.server
    except ImportError as exc:
        raise ConfigurationError(
            "tilecred serve needs waitress: pip install '.[server]' in a tilecred checkout"
        ) from exc
    try:
        inner = waitress.server.create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="tilecred",
            # Over this size waitress itself refuses the body (a 413 of its
            # own); up to it, the application answers with its JSON 413.
            max_request_body_size=16 * 1024 * 1024,
            clear_untrusted_proxy_headers=True,
        )
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return Server(inner)


class Server:
    """A bound waitress server that can be stopped from a signal or a thread."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._stop = threading.Event()

    @property
    def host(self) -> str:
        return str(self._inner.effective_host)

    @property
    def port(self) -> int:
        return int(self._inner.effective_port)

    @property
    def url(self) -> str:
        host = self.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def stop(self) -> None:
        """Ask the loop to stop; safe from a signal handler or another thread."""
        self._stop.set()
        # The trigger may already be closed: stopping anyway.
        with contextlib.suppress(OSError):
            self._inner.pull_trigger()

    def serve_forever(self) -> None:
        """Serve until :meth:`stop`, then drain and close."""
        inner = self._inner
        loop = inner.asyncore.loop
        try:
            while not self._stop.is_set():
                loop(timeout=_TURN_SECONDS, map=inner._map, count=1,
                     use_poll=inner.adj.asyncore_use_poll)  # fmt: skip
        finally:
            self._drain()

    def _drain(self) -> None:
        inner = self._inner
        # No new connections; the trigger stays open so the loop still wakes.
        inner.accepting = False
        inner.del_channel()
        inner.socket.close()
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline and any(
            channel.requests or channel.total_outbufs_len
            for channel in list(inner.active_channels.values())
        ):
            inner.asyncore.loop(timeout=0.05, map=inner._map, count=1)
        inner.task_dispatcher.shutdown(timeout=max(0.0, deadline - time.monotonic()))
        for channel in list(inner._map.values()):
            channel.close()
