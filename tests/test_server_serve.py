"""``tilecred serve`` as a server: binding, limits and hostile connections, on 127.0.0.1."""

from __future__ import annotations

import contextlib
import http.client
import socket
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CANARY_SECRET
from tests.test_server_commands import TOKEN, _start, run
from tests.test_server_harness import Running, aws_key_body
from tests.test_server_routes import assert_error
from tilecred._errors import ConfigurationError
from tilecred._server import create_app
from tilecred._server._serve import Limits

pytest_plugins = ["tests.test_server_harness"]


def test_a_taken_port_issues_no_admin_token_and_the_next_start_shows_it(tmp_path: Path) -> None:
    data = tmp_path / "home"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigurationError) as failed:
            run("serve", "--home", str(data), "--port", str(port))
    assert failed.value.message == f"cannot listen on 127.0.0.1:{port}: Address already in use"
    app = create_app(data)
    try:
        assert (app.tokens.bootstrapped(), app.tokens.list()) == (False, [])
    finally:
        app.close()
    proc, lines, _port = _start(data)
    proc.terminate()
    proc.communicate(timeout=30)
    assert lines[0] == "First start: created an admin API token for workspace 'default'."
    assert TOKEN.match(lines[2].strip())


class SlowClients:
    """Connections that send the start of a request head, then one header line at a time."""

    def __init__(self, port: int, count: int) -> None:
        self.sockets: list[socket.socket] = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            self.sockets.append(sock)

    def drip(self) -> None:
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.sendall(b"X-Drip: 1\r\n")

    def still_open(self) -> int:
        """How many the server has not closed (a closed one reads as end of file)."""
        count = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                count += sock.recv(1, socket.MSG_PEEK) != b""
            except BlockingIOError:
                count += 1
            except OSError:
                pass
        return count

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def _closed_within(sock: socket.socket, turns: int) -> bool:
    """Drip a header line each tenth of a second until the server closes, ``turns`` at most."""
    sock.settimeout(0.1)
    for _ in range(turns):
        try:
            sock.sendall(b"X-Drip: 1\r\n")
            if sock.recv(1) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


def test_more_slow_connections_than_the_limit_do_not_stop_answers(
    running_server: Any, tmp_path: Path
) -> None:
    limits = Limits(max_connections=40, header_timeout=60, body_timeout=60)
    server: Running = running_server(tmp_path / "home", threads=2, limits=limits)
    slow = SlowClients(server.server.port, 120)
    try:
        for _ in range(10):
            slow.drip()
            assert server.request("GET", "/healthz", token=None).raw == b'{"status":"ok"}'
            assert server.request("GET", server.credentials_path()).status == 200
        # The oldest were closed to make room; never more than the limit stay.
        assert slow.still_open() <= 40
    finally:
        slow.close()


def test_a_request_head_that_does_not_arrive_in_time_is_closed(
    running_server: Any, tmp_path: Path
) -> None:
    limits = Limits(header_timeout=0.5)
    server: Running = running_server(tmp_path / "home", threads=2, limits=limits)
    with socket.create_connection(("127.0.0.1", server.server.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        assert _closed_within(sock, 100)
    # A kept-alive connection that sends no next request is closed the same way.
    conn = http.client.HTTPConnection("127.0.0.1", server.server.port, timeout=10)
    conn.request("GET", "/healthz")
    assert conn.getresponse().read() == b'{"status":"ok"}'
    assert conn.sock is not None
    assert _closed_within(conn.sock, 100)
    conn.close()


def test_a_body_that_does_not_arrive_in_time_is_408(running_server: Any, tmp_path: Path) -> None:
    server: Running = running_server(tmp_path / "home", threads=2, limits=Limits(body_timeout=0.5))
    head = (
        f"POST {server.credentials_path()} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"X-TILEDB-REST-API-KEY: {server.token}\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n"
    )
    reply = server.exchange(head.encode(), [b'{"name": '])
    assert_error(reply, 408, "the request body did not arrive in time")
    assert reply.headers["Connection"] == "close"


def test_an_unauthenticated_body_is_refused_before_it_is_sent(server: Running) -> None:
    head = (
        f"POST {server.credentials_path()} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {16 * 1024 * 1024}\r\n\r\n"
    )
    reply = server.exchange(head.encode())
    assert_error(
        reply, 401, "missing API token: send it in X-TILEDB-REST-API-KEY or Authorization: Bearer"
    )
    assert reply.headers["Connection"] == "close"
    # Sent anyway, the body is discarded and the answer still arrives.
    reply = server.exchange(head.encode(), [b"x" * 65536] * 4)
    assert reply.status == 401


def test_a_large_body_is_read_in_memory_only(
    server: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []

    def recording(name: str) -> Any:
        real = getattr(tempfile, name)

        def make(*args: Any, **kwargs: Any) -> Any:
            made.append(name)
            return real(*args, **kwargs)

        return make

    for name in ("TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, recording(name))
    body = aws_key_body("spooled", CANARY_SECRET, pad="x" * 900_000)
    assert server.request("POST", server.credentials_path(), body=body).status == 201
    assert made == []
