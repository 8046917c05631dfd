"""What a program can act on: the class, attempts and retryable of every failure.

Real servers on 127.0.0.1: pytest-httpserver for statuses, small socket servers
for what an HTTP server would not do (drop an answer, speak plain HTTP to TLS).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest
from pytest_httpserver import HTTPServer

import tilecred
from tests._http_helpers import WORKSPACE, RawServer, ThreadedServer, make_client, seen
from tests.conftest import CANARY_SECRET, CANARY_TOKEN

CREDENTIALS = f"/v4/credentials/{WORKSPACE}"
PATH = f"{CREDENTIALS}/c"
AWS_KEY = {"aws": {"access_key_id": "AKIA1", "secret_access_key": CANARY_SECRET}}
NOW = {"Retry-After": "0"}


def http_answer(status: int, body: dict[str, object] | None = None) -> bytes:
    data = b"" if body is None else msgspec.json.encode(body)
    head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}"
    return head.encode() + b"\r\n\r\n" + data


def lose_first_answer(then: bytes) -> Callable[[socket.socket], None]:
    """Close the first connection after reading its request; answer ``then`` after."""
    count = [0]

    def answer(conn: socket.socket) -> None:
        count[0] += 1
        if count[0] == 1:
            conn.close()  # the request was read whole: it may have been carried out
        else:
            conn.sendall(then)

    return answer


@pytest.fixture
def raw() -> Iterator[list[RawServer]]:
    servers: list[RawServer] = []
    yield servers
    for server in servers:
        server.close()


def raw_client(server: RawServer, **settings: Any) -> tilecred.Client:
    return tilecred.Client(host=server.url, token=CANARY_TOKEN, workspace=WORKSPACE, **settings)


# -- statuses after retries ------------------------------------------------------------


def test_retried_status_counts_every_attempt(httpserver: HTTPServer) -> None:
    for _ in range(3):
        httpserver.expect_oneshot_request(PATH).respond_with_json(
            {"message": "busy", "request_id": "r1"}, status=503, headers=NOW
        )

    with (
        make_client(httpserver, retries=2) as client,
        pytest.raises(tilecred.ServerError) as caught,
    ):
        client.get_credential("c")

    error = caught.value
    assert (error.status, error.attempts, error.retryable) == (503, 3, True)
    assert (
        str(error) == "could not get credential 'c': 503 Service Unavailable: busy (request id r1)"
    )


@pytest.mark.parametrize(("status", "lost"), [(502, True), (503, False), (504, True)])
def test_post_answered_by_a_gateway_says_whether_it_may_have_been_done(
    httpserver: HTTPServer, status: int, lost: bool
) -> None:
    httpserver.expect_request(CREDENTIALS, method="POST").respond_with_json(
        {"message": "upstream", "request_id": "g1"}, status=status
    )

    with (
        make_client(httpserver, retries=3) as client,
        pytest.raises(tilecred.ServerError) as caught,
    ):
        client.create_credential("c", "AWS", credential=AWS_KEY)

    error = caught.value
    maybe = "; the POST may have been carried out" if lost else ""
    assert error.message == f"upstream{maybe}"
    # 502 and 504: a gateway lost the answer, so repeating could create twice.
    assert (error.attempts, error.retryable) == (1, not lost)
    assert len(seen(httpserver)) == 1


# -- no answer ---------------------------------------------------------------------


def test_dropped_answers_count_attempts(raw: list[RawServer]) -> None:
    raw.append(server := RawServer(lambda conn: conn.close()))

    with raw_client(server, retries=2) as client:
        with pytest.raises(tilecred.TransportError) as got:
            client.get_credential("c")
        with pytest.raises(tilecred.TransportError) as created:
            client.create_credential("c", "AWS", credential=AWS_KEY)

    assert type(got.value) is tilecred.TransportError
    assert (got.value.status, got.value.attempts, got.value.retryable) == (None, 3, True)
    assert type(created.value) is tilecred.TransportError
    assert (created.value.attempts, created.value.retryable) == (1, False)
    assert str(created.value) == (
        f"could not create credential 'c': connection to {server.url} dropped: "
        "Remote end closed connection without response; the POST may have been carried out"
    )
    assert len(server.heads) == 4


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_deadline_is_a_request_timeout(raw: list[RawServer], method: str) -> None:
    raw.append(server := RawServer(lambda conn: None))  # reads, never answers

    def call(client: tilecred.Client) -> None:
        if method == "GET":
            client.get_credential("c")
        else:
            client.create_credential("c", "AWS", credential=AWS_KEY)

    with (
        raw_client(server, retries=3, timeout=0.5) as client,
        pytest.raises(tilecred.RequestTimeoutError) as caught,
    ):
        call(client)

    error = caught.value
    assert isinstance(error, tilecred.TransportError)
    assert (error.status, error.attempts, error.retryable) == (None, 1, method == "GET")
    maybe = "" if method == "GET" else "; the POST may have been carried out"
    assert error.message == f"no answer from {server.url} within 0.5s{maybe}"


# -- a DELETE whose first answer was lost ----------------------------------------------


def test_delete_retried_after_a_lost_answer_takes_404_as_done(
    raw: list[RawServer], caplog: pytest.LogCaptureFixture
) -> None:
    gone = http_answer(404, {"message": "credential not found", "request_id": "d2"})
    raw.append(server := RawServer(lose_first_answer(gone)))
    caplog.set_level(logging.DEBUG, logger="tilecred")

    with raw_client(server, retries=2) as client:
        client.delete_credential("c")  # no NotFoundError

    assert [head.split(b" ", 2)[:2] for head in server.heads] == [[b"DELETE", PATH.encode()]] * 2
    assert "DELETE repeated after a lost answer got 404: taken as done" in caplog.messages


def test_delete_retried_after_a_gateway_error_takes_404_as_done(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(PATH, method="DELETE").respond_with_data(
        "", status=504, headers=NOW
    )
    httpserver.expect_oneshot_request(PATH, method="DELETE").respond_with_json(
        {"message": "credential not found"}, status=404
    )

    with make_client(httpserver, retries=1) as client:
        client.delete_credential("c")

    assert [r.method for r in seen(httpserver)] == ["DELETE", "DELETE"]


@pytest.mark.parametrize("first", [None, 503, 429])
def test_delete_404_is_not_found_when_no_answer_was_lost(
    httpserver: HTTPServer, first: int | None
) -> None:
    # 503 and 429 say the server did not act: the 404 after them is the truth.
    if first is not None:
        httpserver.expect_oneshot_request(PATH, method="DELETE").respond_with_data(
            "", status=first, headers=NOW
        )
    httpserver.expect_oneshot_request(PATH, method="DELETE").respond_with_json(
        {"message": "credential not found", "request_id": "n1"}, status=404
    )

    with (
        make_client(httpserver, retries=1) as client,
        pytest.raises(tilecred.NotFoundError) as caught,
    ):
        client.delete_credential("c")

    assert str(caught.value) == (
        "could not delete credential 'c': 404 Not Found: credential not found (request id n1)"
    )
    assert (caught.value.attempts, caught.value.retryable) == (1 if first is None else 2, False)


# -- https:// to a server that speaks plain HTTP --------------------------------------


class SilentOnTLS(ThreadedServer):
    """A plain-HTTP server that, like waitress, waits for a request line forever.

    A real request gets ``404``, unless ``answers`` is false: then nothing is
    ever answered.
    """

    def __init__(self, *, answers: bool = True) -> None:
        self._answers = answers
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        conn.settimeout(0.05)
        data = b""
        with conn:
            while not self.stopping.is_set() and b"\r\n\r\n" not in data:
                try:
                    chunk = conn.recv(4096)
                except TimeoutError:
                    continue
                if not chunk:
                    return
                data += chunk
            if b"\r\n\r\n" in data and self._answers:
                conn.sendall(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")


def test_https_to_a_plain_http_server_that_answers_says_so(httpserver: HTTPServer) -> None:
    url = f"https://127.0.0.1:{httpserver.port}"

    with (
        tilecred.Client(host=url, token=CANARY_TOKEN, workspace=WORKSPACE, retries=3) as client,
        pytest.raises(tilecred.TransportError) as caught,
    ):
        client.create_credential("c", "AWS", credential=AWS_KEY)

    assert str(caught.value) == (
        f"could not create credential 'c': {url} answered in plain HTTP, not HTTPS: "
        f"if the server has no TLS, give the host as http://127.0.0.1:{httpserver.port}"
    )
    # Nothing was sent: the request never got past the handshake.
    assert (caught.value.attempts, caught.value.retryable) == (0, False)
    assert all(CANARY_TOKEN not in str(entry) for entry in httpserver.log)


def test_https_to_a_plain_http_server_that_waits_says_so_within_the_deadline() -> None:
    server = SilentOnTLS()
    url = f"https://127.0.0.1:{server.port}"
    try:
        # The deadline bounds the wait: connecting may take half of it, and
        # the other half leaves the check time enough on a loaded machine.
        with (
            tilecred.Client(host=url, token=CANARY_TOKEN, workspace=WORKSPACE, timeout=5) as client,
            pytest.raises(tilecred.TransportError) as caught,
        ):
            client.get_credential("c")
    finally:
        server.close()

    assert str(caught.value) == (
        f"could not get credential 'c': {url} answered in plain HTTP, not HTTPS: "
        f"if the server has no TLS, give the host as http://127.0.0.1:{server.port}"
    )
    assert (caught.value.attempts, caught.value.retryable) == (0, False)


def test_tls_handshake_that_never_ends_is_a_connect_failure() -> None:
    # Takes the connection, reads, answers nothing, not even to plain HTTP.
    server = SilentOnTLS(answers=False)
    url = f"https://127.0.0.1:{server.port}"
    try:
        with (
            tilecred.Client(
                host=url, token=CANARY_TOKEN, workspace=WORKSPACE, timeout=1, retries=0
            ) as client,
            pytest.raises(tilecred.TransportError) as caught,
        ):
            client.create_credential("c", "AWS", credential=AWS_KEY)
    finally:
        server.close()

    # No request went out: a POST is safe to send again, and nothing says otherwise.
    assert str(caught.value) == (
        f"could not create credential 'c': cannot connect to {url}: TLS handshake timed out"
    )
    assert type(caught.value) is tilecred.TransportError
    assert (caught.value.attempts, caught.value.retryable) == (0, True)
