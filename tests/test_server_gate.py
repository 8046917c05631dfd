"""The gate: clients that do not read their answers, or send their bodies slowly, hold no worker.

Every test runs a real server on 127.0.0.1 with two workers and generous
timeouts, so a worker held by a client would stay held for the whole test:
each asserts that other requests are still answered meanwhile.
"""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CANARY_SECRET
from tests.test_server_harness import Running, aws_key_body
from tests.test_server_routes import assert_error
from tilecred._server._gate import MAX_AWAITED_BODIES, MAX_PIPELINED
from tilecred._server._serve import Limits

pytest_plugins = ["tests.test_server_harness"]

# Long enough that a worker waiting on a client would still wait when the test ends.
PATIENT = Limits(max_connections=100, header_timeout=60, body_timeout=60)


@pytest.fixture
def two_workers(running_server: Any, tmp_path: Path) -> Running:
    server: Running = running_server(tmp_path / "home", threads=2, limits=PATIENT)
    return server


def _connect(port: int, receive_buffer: int | None = None) -> socket.socket:
    sock = socket.socket()
    if receive_buffer is not None:
        # Set before connecting, so the window stays small and answers back up fast.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    return sock


def _answers_meanwhile(server: Running) -> None:
    """/healthz and an authenticated listing answer, again and again for a few seconds.

    The pauses leave the held clients time to fill their sockets' buffers,
    after which a worker writing to one, or reading from one, would be stuck.
    """
    for _ in range(8):
        time.sleep(0.5)
        assert server.request("GET", "/healthz", token=None).raw == b'{"status":"ok"}'
        assert server.request("GET", server.credentials_path()).status == 200


def _read_to_end(sock: socket.socket) -> bytes:
    """All the server sends until it closes (at most 20 s between pieces)."""
    sock.settimeout(20)
    received = bytearray()
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
    return bytes(received)


def test_clients_that_pipeline_and_never_read_hold_no_worker(two_workers: Running) -> None:
    # Each asks for the 68 KB document 120 times and reads nothing: far more
    # than the socket buffers hold, so an answer written by a worker would block it.
    request = b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    clients = [_connect(two_workers.server.port, 4096) for _ in range(8)]
    try:
        for sock in clients:
            sock.sendall(request * 120)
        _answers_meanwhile(two_workers)
    finally:
        for sock in clients:
            sock.close()


def test_a_connection_answers_so_many_requests_sent_ahead_then_closes(
    two_workers: Running,
) -> None:
    with _connect(two_workers.server.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * (MAX_PIPELINED + 12))
        received = _read_to_end(sock)
    # MAX_PIPELINED answers, whole, then the server closed: the rest went unread.
    assert received.count(b"HTTP/1.1 200 OK\r\n") == MAX_PIPELINED
    assert received.endswith(b'{"status":"ok"}')
    assert received.count(b"Connection: close\r\n") == 0


def test_requests_sent_one_after_another_keep_the_connection(two_workers: Running) -> None:
    with _connect(two_workers.server.port) as sock:
        for _ in range(MAX_PIPELINED * 2):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            received = bytearray()
            while not received.endswith(b'{"status":"ok"}'):
                received += sock.recv(65536)
            assert received.startswith(b"HTTP/1.1 200 OK\r\n")


def test_slow_bodies_with_a_valid_token_hold_no_worker(two_workers: Running) -> None:
    head = (
        f"POST {two_workers.credentials_path()} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"X-TILEDB-REST-API-KEY: {two_workers.token}\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n"
    )
    clients = [_connect(two_workers.server.port) for _ in range(6)]
    try:
        for sock in clients:
            sock.sendall(head.encode() + b'{"name": ')
        _answers_meanwhile(two_workers)
    finally:
        for sock in clients:
            sock.close()


def test_a_body_sent_in_pieces_is_answered_once_whole(two_workers: Running) -> None:
    body = (
        b'{"name": "pieces", "provider": "AWS", "credential": {"aws": {"access_key_id": '
        b'"AKIAIOSFODNN7EXAMPLE", "secret_access_key": "' + CANARY_SECRET.encode() + b'"}}}'
    )
    head = (
        f"POST {two_workers.credentials_path()} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"X-TILEDB-REST-API-KEY: {two_workers.token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    pieces = [body[i : i + 7] for i in range(0, len(body), 7)]
    assert two_workers.exchange(head.encode(), pieces).status == 201
    assert two_workers.request("GET", two_workers.credentials_path("pieces")).status == 200


def _chunked(body: bytes, size: int) -> list[bytes]:
    parts = [b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size])
             for i in range(0, len(body), size)]  # fmt: skip
    return [*parts, b"0\r\n\r\n"]


def _chunked_head(server: Running, extra: str = "") -> bytes:
    return (
        f"POST {server.credentials_path()} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"X-TILEDB-REST-API-KEY: {server.token}\r\nContent-Type: application/json\r\n"
        f"Transfer-Encoding: chunked\r\n{extra}\r\n"
    ).encode()


def test_a_chunked_body_in_pieces_is_answered_once_whole(two_workers: Running) -> None:
    import msgspec

    body = msgspec.json.encode(aws_key_body("chunks", CANARY_SECRET))
    assert two_workers.exchange(_chunked_head(two_workers), _chunked(body, 9)).status == 201


def test_a_chunked_body_of_tiny_chunks_past_the_limit_is_413(two_workers: Running) -> None:
    # Two bytes a chunk: under 1 MiB decoded, but over twice that on the wire.
    reply = two_workers.exchange(_chunked_head(two_workers), [b"2\r\nab\r\n" * 400_000])
    assert_error(reply, 413, "request body is over the 1 MiB limit")
    assert reply.headers["Connection"] == "close"


@pytest.mark.parametrize("cut", [1, 3, 6, 7, 8, 10])
def test_a_body_cut_at_the_limit_reads_as_over_the_limit_wherever_the_cut_falls(cut: int) -> None:
    from tilecred._server._gate_io import Input, over_limit
    from tilecred._server._request import HttpError

    # Where the gate stops reading depends on how the bytes arrived: in a size
    # line, in a chunk's data, or between them. Each must read as the 413.
    data = (b"2\r\nab\r\n" * 3)[: 7 * 2 + cut]
    stream = Input(data, over_limit())

    def read_every_line() -> None:
        for _ in range(20):  # more lines than there are: past the end, the shortfall
            stream.readline()

    with pytest.raises(HttpError) as caught:
        read_every_line()
    assert caught.value.status == 413


def test_a_malformed_chunked_body_is_400(two_workers: Running) -> None:
    reply = two_workers.exchange(_chunked_head(two_workers), [b"zz\r\n{}\r\n0\r\n\r\n"])
    assert_error(reply, 400, "the request body's chunked framing is malformed")


def test_expect_continue_is_answered_while_the_body_is_awaited(two_workers: Running) -> None:
    import msgspec

    body = msgspec.json.encode(aws_key_body("expected", CANARY_SECRET))
    head = (
        f"POST {two_workers.credentials_path()} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"X-TILEDB-REST-API-KEY: {two_workers.token}\r\nContent-Type: application/json\r\n"
        f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with _connect(two_workers.server.port) as sock:
        sock.sendall(head.encode())
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        received = bytearray()
        while b"\r\n\r\n" not in received:
            received += sock.recv(65536)
    # One 100 Continue only: the worker's own copy is not sent again.
    assert received.startswith(b"HTTP/1.1 201 Created\r\n")


def test_more_slow_bodies_than_are_read_at_once_close_the_oldest(two_workers: Running) -> None:
    head = (
        f"POST {two_workers.credentials_path()} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
    ).encode()
    clients = [_connect(two_workers.server.port) for _ in range(MAX_AWAITED_BODIES + 16)]
    try:
        for sock in clients:
            sock.sendall(head + b"x" * 1000)
        _answers_meanwhile(two_workers)
        # The oldest were closed (end of file) so no more bodies are buffered at once.
        closed = 0
        for sock in clients[:16]:
            sock.settimeout(5)
            with contextlib.suppress(OSError):
                closed += sock.recv(1) == b""
        assert closed == 16
    finally:
        for sock in clients:
            sock.close()
