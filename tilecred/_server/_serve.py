"""Running the application under cheroot, over HTTP or HTTPS, and stopping it.

cheroot serves TLS itself (with :mod:`ssl`), so secrets need not cross a
network in clear. :class:`Server` binds when it is made, so a taken port is
reported before anything else happens; :meth:`Server.serve_forever` runs
cheroot's loop in a thread of its own and waits for :meth:`Server.stop`, which
only sets a flag and writes one byte to a pipe — safe from a signal handler
or any thread. Stopping closes the listening socket, lets requests in flight
finish and send their answers (for up to :data:`DRAIN_SECONDS`), then ends the
worker threads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import select
import shlex
import ssl
import stat
import threading
from pathlib import Path
from typing import Any

from .._errors import ConfigurationError
from ._tls_mistakes import check_pem_kinds

__all__ = ["DRAIN_SECONDS", "Limits", "Server", "TLSFiles", "make_server"]

# How long requests in flight get to finish once a stop is asked for.
DRAIN_SECONDS = 5
_WAKE_SECONDS = 0.5

logger = logging.getLogger("tilecred.server")


@dataclasses.dataclass(frozen=True)
class Limits:
    """How many connections are held, and for how long a request may take to arrive."""

    max_connections: int = 1000
    header_timeout: float = 10.0
    body_timeout: float = 30.0


@dataclasses.dataclass(frozen=True)
class TLSFiles:
    """A PEM certificate (chain) and its private key, for serving HTTPS."""

    cert: Path
    key: Path


def tls_context(files: TLSFiles) -> ssl.SSLContext:
    """A server-side TLS context (TLS 1.2 or newer) over ``files``.

    Raises:
        ConfigurationError: a file is missing, unreadable, or not a matching
            pair, or the key file is not private to its owner.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    for path in (files.cert, files.key):
        if not path.is_file():
            raise ConfigurationError(f"cannot serve TLS: no such file {path}")
    try:
        context.load_cert_chain(files.cert, files.key)
    except (OSError, ssl.SSLError) as exc:
        wrong = check_pem_kinds(files.cert, files.key)
        if wrong is not None:
            raise ConfigurationError(f"cannot serve TLS: {wrong}") from exc
        reason = getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
        raise ConfigurationError(
            f"cannot serve TLS with certificate {files.cert} and key {files.key}: {reason}"
        ) from exc
    _check_private(files.key)
    return context


def _check_private(key: Path) -> None:
    """Refuse a private key file that anyone but its owner may read or write,
    as the store's key file is refused: whoever reads it can impersonate the server."""
    mode = key.stat().st_mode
    if os.name == "posix" and mode & 0o077:
        raise ConfigurationError(
            f"the TLS key file {key} is not private (mode {stat.S_IMODE(mode):04o}): "
            f"run chmod 600 {shlex.quote(str(key))}"
        )


def make_server(
    app: Any,
    host: str,
    port: int,
    threads: int,
    *,
    tls: TLSFiles | None = None,
    limits: Limits | None = None,
) -> Server:
    """Bind ``host:port`` (``0`` picks a free port) and start ``threads`` workers.

    Raises:
        ConfigurationError: cheroot is not installed, the TLS files cannot be
            used, or the address cannot be bound.
    """
    try:
        # Imported here, not only through _cheroot: that module may already
        # be loaded while cheroot itself is gone.
        import cheroot.wsgi  # noqa: F401

        from ._cheroot import WSGIServer
    except ImportError as exc:
        raise ConfigurationError(
            "tilecred serve needs cheroot: pip install '.[server]' in a tilecred checkout"
        ) from exc
    limits = limits or Limits()
    _ensure_descriptors(limits.max_connections + threads)
    context = tls_context(tls) if tls is not None else None
    inner = WSGIServer(app, host, port, threads, limits, context, DRAIN_SECONDS)
    try:
        inner.prepare()
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on {host}:{port}: {_reason(exc)}") from exc
    return Server(inner, https=context is not None)


def _ensure_descriptors(connections: int) -> None:
    """Raise the open-file limit to hold ``connections`` sockets, or say it cannot be."""
    import resource

    # The store, the token file, logs and the listening socket need a few more.
    needed = connections + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard == resource.RLIM_INFINITY or hard >= needed:
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
            return
        raise ConfigurationError(
            f"{connections} connections need {needed} open files, but this process may "
            f"open only {hard}: lower --max-connections or raise the limit (ulimit -n)"
        )


def _reason(exc: OSError) -> str:
    # cheroot folds the bind error into one message; its last word is the reason.
    text = exc.strerror or str(exc)
    return text.rsplit("] ", 1)[-1].rstrip(")") if "] " in text else text


class Server:
    """A bound cheroot server that can be stopped from a signal or a thread."""

    def __init__(self, inner: Any, *, https: bool) -> None:
        self._inner = inner
        self._https = https
        self._stopping = False
        self._wake_read, self._wake_write = os.pipe()
        address = inner.bind_addr
        self._host, self._port = str(address[0]), int(address[1])

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        scheme = "https" if self._https else "http"
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{scheme}://{host}:{self._port}"

    def stop(self) -> None:
        """Ask the server to stop; safe from a signal handler or another thread."""
        self._stopping = True
        # The pipe may be full or already closed: the flag is enough then.
        with contextlib.suppress(OSError):
            os.write(self._wake_write, b"x")

    def serve_forever(self) -> None:
        """Serve until :meth:`stop`, then drain and close."""
        loop = threading.Thread(target=self._inner.serve, name="tilecred-accept", daemon=True)
        loop.start()
        try:
            while not self._stopping and loop.is_alive():
                select.select([self._wake_read], [], [], _WAKE_SECONDS)
        finally:
            # cheroot's stop closes the listening socket and idle connections,
            # then waits up to its shutdown_timeout for the workers.
            self._inner.stop()
            loop.join(timeout=DRAIN_SECONDS + 5)
            for fd in (self._wake_read, self._wake_write):
                with contextlib.suppress(OSError):
                    os.close(fd)

    def close(self) -> None:
        """Release a server that was made but never served."""
        self._inner.stop()
        for fd in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)
