"""The server harness: a real ``tilecred serve`` application on a free port.

Test modules load these fixtures with
``pytest_plugins = ["tests.test_server_harness"]``. The server runs under
cheroot in a thread of the test process, over a store in a temporary
directory; requests go over real HTTP with :mod:`http.client`, so the tests
control every header and byte.
"""

from __future__ import annotations

import dataclasses
import http.client
import os
import socket
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import msgspec
import pytest

from tilecred._config import DATABASE_ENV
from tilecred._server import ServerApp, create_app
from tilecred._server._outbound import Outbound
from tilecred._server._serve import Limits, Server, make_server
from tilecred._server._tokens import ADMIN

__all__ = ["Reply", "Running", "running_server", "server"]

ROLE_ARN = "arn:aws:iam::123456789012:role/demo"


@dataclasses.dataclass(frozen=True)
class Reply:
    """A response as the test saw it; header names are case-insensitive."""

    status: int
    headers: http.client.HTTPMessage
    raw: bytes

    @property
    def json(self) -> Any:
        return msgspec.json.decode(self.raw)


@dataclasses.dataclass
class Running:
    """A started server, its data directory, one workspace and its admin token."""

    server: Server
    app: ServerApp
    home: Path
    workspace_id: str
    token: str

    @property
    def url(self) -> str:
        return self.server.url

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = "",
        body: Any = None,
        raw: bytes | None = None,
        query: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send one request; ``token=""`` means the admin token, ``None`` no token."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token == "":
            token = self.token
        if token is not None:
            sent["X-TILEDB-REST-API-KEY"] = token
        data = raw if raw is not None else (None if body is None else msgspec.json.encode(body))
        target = path + ("?" + urlencode(query) if query else "")
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=30)
        try:
            conn.request(method, target, body=data, headers=sent)
            resp = conn.getresponse()
            return Reply(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def exchange(self, head: bytes, body: Sequence[bytes] = ()) -> Reply:
        """Send raw bytes (the request head, then each body part) and read the answer.

        A server may answer before the body is sent (a 401, 413 or 415) and
        close; sending then fails, and the answer is still read.
        """
        with socket.create_connection((self.server.host, self.server.port), timeout=30) as sock:
            try:
                sock.sendall(head)
                for part in body:
                    sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                pass
            resp = http.client.HTTPResponse(sock)
            resp.begin()
            return Reply(resp.status, resp.headers, resp.read())

    def credentials_path(self, name: str | None = None, workspace: str | None = None) -> str:
        path = f"/v4/credentials/{quote(workspace or self.workspace_id, safe='')}"
        return path if name is None else f"{path}/{quote(name, safe='')}"


@pytest.fixture
def running_server() -> Iterator[Any]:
    """A factory: start a server over a directory (or, on the PostgreSQL engine,
    the test's database: tests/_engines.py); every one started is stopped."""
    started: list[tuple[Server, threading.Thread, ServerApp]] = []

    def start(
        home: Path,
        *,
        workspace: str = "team",
        threads: int = 8,
        limits: Limits | None = None,
        outbound: Outbound | None = None,
    ) -> Running:
        app = create_app(home, database=os.environ.get(DATABASE_ENV), outbound=outbound)
        record = app.store.find_workspace(workspace) or app.store.create_workspace(workspace)
        _token, text = app.tokens.create(record.id, "test-admin", kind=ADMIN)
        server = make_server(app, "127.0.0.1", 0, threads, limits=limits)
        thread = threading.Thread(target=server.serve_forever, name="test-server", daemon=True)
        thread.start()
        started.append((server, thread, app))
        return Running(server, app, home, record.id, text)

    yield start
    for server, thread, app in started:
        server.stop()
        thread.join(timeout=30)
        assert not thread.is_alive()
        app.close()


@pytest.fixture
def server(running_server: Any, tmp_path: Path) -> Running:
    """One server over a fresh data directory with workspace ``team``."""
    running: Running = running_server(tmp_path / "server-home")
    return running


def aws_role_body(name: str, **extra: Any) -> dict[str, Any]:
    """A create request for an AWS role credential."""
    return {"name": name, "provider": "AWS", "role": {"aws": {"role_arn": ROLE_ARN}}, **extra}


def aws_key_body(name: str, secret: str, **extra: Any) -> dict[str, Any]:
    """A create request for an AWS access key credential."""
    return {
        "name": name,
        "provider": "AWS",
        "credential": {
            "aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": secret}
        },
        **extra,
    }


def test_a_stopped_server_finishes_and_refuses_new_connections(tmp_path: Path) -> None:
    app = create_app(tmp_path / "home")
    server = make_server(app, "127.0.0.1", 0, 2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    conn.request("GET", "/healthz")
    assert conn.getresponse().read() == b'{"status":"ok"}'
    conn.close()
    server.stop()
    thread.join(timeout=30)
    app.close()
    assert not thread.is_alive()
    refused = http.client.HTTPConnection(server.host, server.port, timeout=10)
    with pytest.raises(ConnectionRefusedError):
        refused.request("GET", "/healthz")
    refused.close()
