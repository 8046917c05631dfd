"""Retries, the deadline and redirects, against real servers on 127.0.0.1."""

from __future__ import annotations

import email.utils
import logging
import socket
import time
from collections.abc import Callable, Iterator

import msgspec
import pytest
from pytest_httpserver import HTTPServer

import tilecred
from tests._http_helpers import (
    ARN,
    WORKSPACE,
    RawServer,
    base_url,
    credential_json,
    free_port,
    make_client,
    seen,
)
from tests.conftest import CANARY_SECRET, CANARY_TOKEN
from tilecred._config import Settings
from tilecred._http import Transport

CREDENTIALS = f"/v4/credentials/{WORKSPACE}"
GET_PATH = f"{CREDENTIALS}/c"
ROLE = {"aws": {"role_arn": ARN}}
AWS_KEY = {"aws": {"access_key_id": "AKIA1", "secret_access_key": CANARY_SECRET}}
NOW = {"Retry-After": "0"}

StartRaw = Callable[[Callable[[socket.socket], None]], RawServer]


@pytest.fixture
def raw_server() -> Iterator[StartRaw]:
    """Start :class:`RawServer` instances; all are closed afterwards."""
    started: list[RawServer] = []

    def start(answer: Callable[[socket.socket], None]) -> RawServer:
        server = RawServer(answer)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture(scope="module")
def other_server() -> Iterator[HTTPServer]:
    """A second HTTP server on another port: another origin."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def other(other_server: HTTPServer) -> HTTPServer:
    """The second server, with no handlers and an empty log."""
    other_server.clear()
    return other_server


def fail_status(
    server: HTTPServer, path: str, status: int, times: int, method: str = "GET"
) -> None:
    for _ in range(times):
        server.expect_oneshot_request(path, method=method).respond_with_json(
            {"code": status, "message": "try later", "request_id": f"r{status}"},
            status=status,
            headers=NOW,
        )


def respond_credential(server: HTTPServer, path: str = GET_PATH) -> None:
    server.expect_request(path, method="GET").respond_with_json({"data": credential_json("c")})


def drop(conn: socket.socket) -> None:
    conn.close()


def hold(conn: socket.socket) -> None:
    """Accept the request and never answer (the connection stays open)."""


CREDENTIAL_BODY = msgspec.json.encode({"data": credential_json("c")})


def answer(conn: socket.socket) -> None:
    """Answer at once with a credential."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    conn.sendall(head % len(CREDENTIAL_BODY) + CREDENTIAL_BODY)


def trickle(conn: socket.socket) -> None:
    """Send the head at once, then the body one byte every 50 ms (about 20 s in all).

    Each byte restarts a socket's read timeout: only an overall deadline ends this.
    """
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    conn.sendall(head % len(CREDENTIAL_BODY))
    try:
        for byte in CREDENTIAL_BODY:
            time.sleep(0.05)
            conn.sendall(bytes([byte]))
    except OSError:
        pass  # the client gave up and closed the connection


def trickle_then_answer() -> Callable[[socket.socket], None]:
    """Trickle on the first connection, answer at once on the next ones."""
    connections: list[socket.socket] = []

    def respond(conn: socket.socket) -> None:
        connections.append(conn)
        (trickle if len(connections) == 1 else answer)(conn)

    return respond


# -- which statuses and methods are retried ------------------------------------------


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_get_is_retried_on_status(httpserver: HTTPServer, status: int) -> None:
    fail_status(httpserver, GET_PATH, status, times=2)
    respond_credential(httpserver)

    with make_client(httpserver, retries=2) as client:
        assert client.get_credential("c").name == "c"

    assert [r.method for r in seen(httpserver)] == ["GET"] * 3


@pytest.mark.parametrize("retries", [0, 1, 3])
def test_retries_n_means_n_plus_one_requests(httpserver: HTTPServer, retries: int) -> None:
    fail_status(httpserver, GET_PATH, 503, times=retries + 5)

    with (
        make_client(httpserver, retries=retries) as client,
        pytest.raises(tilecred.CredentialsError) as caught,
    ):
        client.get_credential("c")

    assert len(seen(httpserver)) == retries + 1
    assert str(caught.value) == (
        "could not get credential 'c': 503 Service Unavailable: try later (request id r503)"
    )


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 500])
def test_other_statuses_are_not_retried(httpserver: HTTPServer, status: int) -> None:
    fail_status(httpserver, GET_PATH, status, times=3)

    with make_client(httpserver, retries=3) as client, pytest.raises(tilecred.CredentialsError):
        client.get_credential("c")

    assert len(seen(httpserver)) == 1


def test_delete_is_retried(httpserver: HTTPServer) -> None:
    fail_status(httpserver, GET_PATH, 502, times=1, method="DELETE")
    httpserver.expect_request(GET_PATH, method="DELETE").respond_with_data("", status=204)

    with make_client(httpserver, retries=1) as client:
        client.delete_credential("c")

    assert [r.method for r in seen(httpserver)] == ["DELETE", "DELETE"]


def test_put_is_retried(httpserver: HTTPServer) -> None:
    fail_status(httpserver, "/v4/thing", 504, times=2, method="PUT")
    httpserver.expect_request("/v4/thing", method="PUT").respond_with_data("done")
    transport = Transport(
        Settings(backend="http", host=base_url(httpserver), token=CANARY_TOKEN, retries=2)
    )

    response = transport.request("PUT", "/v4/thing", body=b"{}")

    assert (response.status, response.data) == (200, b"done")
    requests = seen(httpserver)
    assert [(r.method, r.body) for r in requests] == [("PUT", b"{}")] * 3
    transport.close()


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_post_and_patch_are_sent_once_on_status(httpserver: HTTPServer, status: int) -> None:
    fail_status(httpserver, CREDENTIALS, status, times=3, method="POST")
    fail_status(httpserver, GET_PATH, status, times=3, method="PATCH")
    fail_status(httpserver, "/v4/actions/credentials/verify", status, times=3, method="POST")

    with make_client(httpserver, retries=3) as client:
        with pytest.raises(tilecred.CredentialsError) as created:
            client.create_credential("c", "AWS", role=ROLE)
        with pytest.raises(tilecred.CredentialsError) as updated:
            client.update_credential("c", allowed_in_tasks=True)
        with pytest.raises(tilecred.CredentialsError):
            client.verify_credential("c", "AWS", role=ROLE)

    assert [r.method for r in seen(httpserver)] == ["POST", "PATCH", "POST"]
    assert (created.value.status, updated.value.status) == (status, status)


# -- connections that fail ------------------------------------------------------------


def test_dropped_connection_post_and_patch_are_sent_once(raw_server: StartRaw) -> None:
    server = raw_server(drop)

    with tilecred.Client(
        host=server.url, token=CANARY_TOKEN, workspace=WORKSPACE, retries=3
    ) as client:
        with pytest.raises(tilecred.CredentialsError) as created:
            client.create_credential("c", "AWS", credential=AWS_KEY)
        with pytest.raises(tilecred.CredentialsError) as updated:
            client.update_credential("c", credential=AWS_KEY)

    assert [head.split(b" ", 1)[0] for head in server.heads] == [b"POST", b"PATCH"]
    assert str(created.value) == (
        f"could not create credential 'c': connection to {server.url} dropped: "
        "Remote end closed connection without response; the POST may have been carried out"
    )
    assert str(updated.value) == (
        f"could not update credential 'c': connection to {server.url} dropped: "
        "Remote end closed connection without response; the PATCH may have been carried out"
    )


def test_dropped_connection_get_is_retried(raw_server: StartRaw) -> None:
    server = raw_server(drop)

    with (
        tilecred.Client(
            host=server.url, token=CANARY_TOKEN, workspace=WORKSPACE, retries=2
        ) as client,
        pytest.raises(tilecred.CredentialsError) as caught,
    ):
        client.get_credential("c")

    assert len(server.heads) == 3
    assert str(caught.value) == (
        f"could not get credential 'c': connection to {server.url} dropped: "
        "Remote end closed connection without response"
    )


@pytest.mark.parametrize(("retries", "suffix"), [(0, ""), (2, " (tried 3 times)")])
def test_connection_refused_is_retried_for_any_method(
    caplog: pytest.LogCaptureFixture, retries: int, suffix: str
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    caplog.set_level(logging.DEBUG, logger="tilecred")

    with (
        tilecred.Client(
            host=url, token=CANARY_TOKEN, workspace=WORKSPACE, retries=retries
        ) as client,
        pytest.raises(tilecred.CredentialsError) as caught,
    ):
        client.create_credential("c", "AWS", credential=AWS_KEY)

    assert str(caught.value) == (
        f"could not create credential 'c': cannot connect to {url}: Connection refused{suffix}"
    )
    # Never sent, so safe to try again, whatever the method.
    assert type(caught.value) is tilecred.TransportError
    assert (caught.value.status, caught.value.attempts, caught.value.retryable) == (None, 0, True)
    failures = [r.getMessage() for r in caplog.records if " failed in " in r.getMessage()]
    assert len(failures) == retries + 1
    assert all(f.startswith(f"POST {CREDENTIALS} failed in ") for f in failures)
    assert all(f.endswith(" ms: Connection refused") for f in failures)
    for record in caplog.records:
        assert CANARY_TOKEN not in record.getMessage()
        assert CANARY_SECRET not in record.getMessage()


@pytest.mark.parametrize(
    ("action", "call", "maybe"),
    [
        ("get", lambda client: client.get_credential("c"), ""),
        (
            "create",
            lambda client: client.create_credential("c", "AWS", role=ROLE),
            "; the POST may have been carried out",
        ),
    ],
)
def test_deadline_bounds_a_server_that_never_answers(
    raw_server: StartRaw, action: str, call: Callable[[tilecred.Client], object], maybe: str
) -> None:
    server = raw_server(hold)

    with (
        tilecred.Client(
            host=server.url, token=CANARY_TOKEN, workspace=WORKSPACE, retries=5, timeout=0.5
        ) as client,
        pytest.raises(tilecred.CredentialsError) as caught,
    ):
        call(client)

    assert str(caught.value) == (
        f"could not {action} credential 'c': no answer from {server.url} within 0.5s{maybe}"
    )
    assert len(server.heads) == 1


def test_deadline_bounds_a_body_that_trickles_in(raw_server: StartRaw) -> None:
    server = raw_server(trickle_then_answer())

    with tilecred.Client(
        host=server.url, token=CANARY_TOKEN, workspace=WORKSPACE, retries=3, timeout=1.0
    ) as client:
        with pytest.raises(tilecred.CredentialsError) as caught:
            client.get_credential("c")
        # The connection given up on is not reused: its unread rest would be
        # taken for the next answer.
        again = client.get_credential("c")

    assert str(caught.value) == (
        f"could not get credential 'c': no answer from {server.url} within 1s"
    )
    assert caught.value.status is None
    # No retry: the deadline had passed.
    assert [head.split(b" ", 2)[:2] for head in server.heads] == [[b"GET", GET_PATH.encode()]] * 2
    assert again.name == "c"


def test_post_whose_answer_trickles_in_is_sent_once(raw_server: StartRaw) -> None:
    server = raw_server(trickle)

    with (
        tilecred.Client(
            host=server.url, token=CANARY_TOKEN, workspace=WORKSPACE, retries=3, timeout=1.0
        ) as client,
        pytest.raises(tilecred.CredentialsError) as caught,
    ):
        client.create_credential("c", "AWS", credential=AWS_KEY)

    assert str(caught.value) == (
        f"could not create credential 'c': no answer from {server.url} within 1s"
        "; the POST may have been carried out"
    )
    assert [head.split(b" ", 1)[0] for head in server.heads] == [b"POST"]
    assert CANARY_SECRET not in repr(caught.value)


def test_deadline_bounds_retries_with_backoff(httpserver: HTTPServer) -> None:
    for _ in range(100):
        httpserver.expect_oneshot_request(GET_PATH).respond_with_data("", status=503)

    with (
        make_client(httpserver, retries=99, timeout=2) as client,
        pytest.raises(tilecred.CredentialsError) as caught,
    ):
        client.get_credential("c")

    # Backoff doubles from 0.125-0.25 s: a few attempts fit in two seconds, not 100.
    assert 2 <= len(seen(httpserver)) < 10
    assert caught.value.status == 503


# -- Retry-After ------------------------------------------------------------------------


def retry_after(server: HTTPServer, value: str) -> None:
    server.expect_oneshot_request(GET_PATH).respond_with_data(
        "", status=503, headers={"Retry-After": value}
    )
    respond_credential(server)


def http_date(offset: float) -> str:
    return email.utils.formatdate(time.time() + offset, usegmt=True)


@pytest.mark.parametrize(
    ("value", "timeout", "requests"),
    [
        # Without Retry-After the backoff (at most 0.25 s) would retry in each case.
        ("2", 1.0, 1),  # would pass the deadline: not retried
        ("1", 5.0, 2),  # fits: waited for, then retried
        ("0", 5.0, 2),
        ("3600", 30.0, 1),
    ],
)
def test_retry_after_seconds(
    httpserver: HTTPServer, value: str, timeout: float, requests: int
) -> None:
    retry_after(httpserver, value)

    with make_client(httpserver, retries=3, timeout=timeout) as client:
        if requests == 1:
            with pytest.raises(tilecred.CredentialsError) as caught:
                client.get_credential("c")
            assert caught.value.status == 503
        else:
            assert client.get_credential("c").name == "c"

    assert len(seen(httpserver)) == requests


@pytest.mark.parametrize(("offset", "requests"), [(3600, 1), (-60, 2)])
def test_retry_after_http_date(httpserver: HTTPServer, offset: float, requests: int) -> None:
    retry_after(httpserver, http_date(offset))

    with make_client(httpserver, retries=3, timeout=10) as client:
        if requests == 1:
            with pytest.raises(tilecred.CredentialsError):
                client.get_credential("c")
        else:
            client.get_credential("c")

    assert len(seen(httpserver)) == requests


# -- redirects --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("absolute", [False, True])
def test_redirect_to_same_origin_keeps_auth(
    httpserver: HTTPServer, status: int, absolute: bool
) -> None:
    location = "/moved/c" if not absolute else base_url(httpserver) + "/moved/c"
    httpserver.expect_request(GET_PATH).respond_with_data(
        "", status=status, headers={"Location": location}
    )
    respond_credential(httpserver, "/moved/c")

    with make_client(httpserver) as client:
        assert client.get_credential("c").name == "c"

    requests = seen(httpserver)
    assert [(r.method, r.path) for r in requests] == [("GET", GET_PATH), ("GET", "/moved/c")]
    assert all(r.headers["x-tiledb-rest-api-key"] == CANARY_TOKEN for r in requests)


@pytest.mark.parametrize("status", [302, 303, 307, 308])
def test_redirect_to_another_origin_drops_the_token(
    httpserver: HTTPServer, other: HTTPServer, status: int
) -> None:
    httpserver.expect_request(GET_PATH).respond_with_data(
        "", status=status, headers={"Location": base_url(other) + "/elsewhere"}
    )
    respond_credential(other, "/elsewhere")

    with make_client(httpserver) as client:
        assert client.get_credential("c").name == "c"

    [request] = seen(other)
    assert request.method == "GET"
    assert "x-tiledb-rest-api-key" not in request.headers
    assert "authorization" not in request.headers
    assert request.headers["user-agent"] == f"tilecred/{tilecred.__version__}"


def test_redirect_to_another_origin_drops_basic_auth(
    httpserver: HTTPServer, other: HTTPServer
) -> None:
    httpserver.expect_request(GET_PATH).respond_with_data(
        "", status=307, headers={"Location": base_url(other) + "/elsewhere"}
    )
    respond_credential(other, "/elsewhere")

    with tilecred.Client(
        host=base_url(httpserver), username="ada", password=CANARY_SECRET, workspace=WORKSPACE
    ) as client:
        client.get_credential("c")

    assert "authorization" in seen(httpserver)[0].headers
    [request] = seen(other)
    assert "authorization" not in request.headers
    assert "x-tiledb-rest-api-key" not in request.headers


def test_redirect_to_localhost_by_name_is_another_origin(httpserver: HTTPServer) -> None:
    # Same server, other host name: still another origin, so no token.
    httpserver.expect_request(GET_PATH).respond_with_data(
        "", status=307, headers={"Location": f"http://localhost:{httpserver.port}/named"}
    )
    respond_credential(httpserver, "/named")

    with make_client(httpserver) as client:
        client.get_credential("c")

    first, second = seen(httpserver)
    assert first.headers["x-tiledb-rest-api-key"] == CANARY_TOKEN
    assert "x-tiledb-rest-api-key" not in second.headers


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_body_is_never_sent_to_another_origin(
    httpserver: HTTPServer, other: HTTPServer, status: int
) -> None:
    httpserver.expect_request(CREDENTIALS, method="POST").respond_with_data(
        "", status=status, headers={"Location": base_url(other) + "/steal"}
    )

    with make_client(httpserver) as client, pytest.raises(tilecred.CredentialsError) as caught:
        client.create_credential("c", "AWS", credential=AWS_KEY)

    assert str(caught.value) == (
        "could not create credential 'c': refusing to send a request body to another origin: "
        f"{base_url(other)}"
    )
    assert seen(other) == []


def test_body_follows_a_same_origin_307(httpserver: HTTPServer) -> None:
    httpserver.expect_request(CREDENTIALS, method="POST").respond_with_data(
        "", status=307, headers={"Location": "/v4/credentials/ws_moved"}
    )
    httpserver.expect_request("/v4/credentials/ws_moved", method="POST").respond_with_data(
        "", status=201
    )

    with make_client(httpserver) as client:
        client.create_credential("c", "AWS", role=ROLE)

    first, second = seen(httpserver)
    assert (second.method, second.path) == ("POST", "/v4/credentials/ws_moved")
    assert second.body == first.body
    assert second.json() == {"name": "c", "provider": "AWS", "role": ROLE}
    assert second.headers["x-tiledb-rest-api-key"] == CANARY_TOKEN
    assert second.headers["content-type"] == "application/json"


def test_303_after_patch_fetches_without_body_or_auth_elsewhere(
    httpserver: HTTPServer, other: HTTPServer
) -> None:
    httpserver.expect_request(GET_PATH, method="PATCH").respond_with_data(
        "", status=303, headers={"Location": base_url(other) + "/result"}
    )
    other.expect_request("/result", method="GET").respond_with_data("")

    with make_client(httpserver) as client:
        client.update_credential("c", credential=AWS_KEY)

    [request] = seen(other)
    assert (request.method, request.body) == ("GET", b"")
    assert "x-tiledb-rest-api-key" not in request.headers
    assert "content-type" not in request.headers


def test_redirect_loop_ends(httpserver: HTTPServer) -> None:
    httpserver.expect_request(GET_PATH).respond_with_data(
        "", status=302, headers={"Location": GET_PATH}
    )

    with make_client(httpserver) as client, pytest.raises(tilecred.CredentialsError) as caught:
        client.get_credential("c")

    assert str(caught.value) == (
        f"could not get credential 'c': more than 5 redirects from {base_url(httpserver)}"
    )
    assert len(seen(httpserver)) == 6


def test_failure_after_a_redirect_names_where_it_went(httpserver: HTTPServer) -> None:
    elsewhere = f"http://127.0.0.1:{free_port()}"
    httpserver.expect_request(GET_PATH).respond_with_data(
        "", status=307, headers={"Location": elsewhere + "/gone"}
    )

    with (
        make_client(httpserver, retries=0) as client,
        pytest.raises(tilecred.CredentialsError) as caught,
    ):
        client.get_credential("c")

    assert str(caught.value) == (
        f"could not get credential 'c': cannot connect to {elsewhere}: Connection refused"
    )
