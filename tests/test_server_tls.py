"""``tilecred serve`` over HTTPS, with a certificate each test makes for 127.0.0.1."""

from __future__ import annotations

import dataclasses
import http.client
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

import tilecred
from tests._http_helpers import self_signed
from tests.conftest import CANARY_SECRET
from tests.test_server_harness import ROLE_ARN, aws_key_body
from tilecred._errors import ConfigurationError, CredentialsError, InvalidArgumentError
from tilecred._server import create_app
from tilecred._server._serve import Server, TLSFiles, make_server
from tilecred._server._tokens import ADMIN, TASK

Environ = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""

    cert: Path
    key: Path

    @property
    def files(self) -> TLSFiles:
        return TLSFiles(self.cert, self.key)


def make_certificate(directory: Path) -> Certificate:
    directory.mkdir(parents=True, exist_ok=True)
    return Certificate(*self_signed(directory))


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    return make_certificate(tmp_path / "tls")


@pytest.fixture
def serving() -> Iterator[Callable[..., Server]]:
    """A factory: serve a WSGI app on a free port; every server started is stopped."""
    started: list[tuple[Server, threading.Thread]] = []

    def start(app: Any, tls: TLSFiles | None = None) -> Server:
        server = make_server(app, "127.0.0.1", 0, 2, tls=tls)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.stop()
        thread.join(timeout=30)
        assert not thread.is_alive()


def _scheme_app(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = str(environ["wsgi.url_scheme"]).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


def _https_get(server: Server, path: str, cafile: Path) -> tuple[int, bytes]:
    context = ssl.create_default_context(cafile=str(cafile))
    conn = http.client.HTTPSConnection(server.host, server.port, timeout=10, context=context)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_tls_is_served_and_the_scheme_is_https(
    serving: Callable[..., Server], certificate: Certificate
) -> None:
    server = serving(_scheme_app, certificate.files)
    assert re.fullmatch(r"https://127\.0\.0\.1:\d+", server.url)
    assert _https_get(server, "/", certificate.cert) == (200, b"https")


def test_plain_http_has_the_http_scheme(serving: Callable[..., Server]) -> None:
    server = serving(_scheme_app)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"http"
    conn.close()


def test_a_certificate_the_client_does_not_trust_is_refused(
    serving: Callable[..., Server], certificate: Certificate, tmp_path: Path
) -> None:
    server = serving(_scheme_app, certificate.files)
    other = make_certificate(tmp_path / "other")
    with pytest.raises(ssl.SSLCertVerificationError):
        _https_get(server, "/", other.cert)
    # The server is not hurt by the refused handshake.
    assert _https_get(server, "/", certificate.cert) == (200, b"https")


def test_tilecreds_client_verifies_the_server_with_ca_file(
    serving: Callable[..., Server], certificate: Certificate, tmp_path: Path
) -> None:
    app = create_app(tmp_path / "home")
    try:
        workspace = app.store.create_workspace("team")
        _record, token = app.tokens.create(workspace.id, "tls")
        server = serving(app, certificate.files)
        with tilecred.Client(host=server.url, token=token, ca_file=str(certificate.cert)) as c:
            c.create_credential("over-tls", "AWS", role={"aws": {"role_arn": ROLE_ARN}})
            assert c.get_credential("over-tls").name == "over-tls"
        with (
            tilecred.Client(host=server.url, token=token, retries=0) as untrusting,
            pytest.raises(CredentialsError) as refused,
        ):
            untrusting.get_credential("over-tls")
        assert refused.value.message.startswith(f"TLS failure talking to {server.url}")
    finally:
        app.close()


def test_unusable_tls_files_are_a_configuration_error(tmp_path: Path) -> None:
    cert = make_certificate(tmp_path / "a")
    other = make_certificate(tmp_path / "b")
    with pytest.raises(ConfigurationError) as missing:
        make_server(_scheme_app, "127.0.0.1", 0, 1, tls=TLSFiles(tmp_path / "no.crt", cert.key))
    assert missing.value.message == f"cannot serve TLS: no such file {tmp_path / 'no.crt'}"
    with pytest.raises(ConfigurationError) as mismatched:
        make_server(_scheme_app, "127.0.0.1", 0, 1, tls=TLSFiles(cert.cert, other.key))
    assert mismatched.value.message == (
        f"cannot serve TLS with certificate {cert.cert} and key {other.key}: KEY_VALUES_MISMATCH"
    )


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_a_tls_key_others_can_read_or_write_is_refused(tmp_path: Path, mode: int) -> None:
    cert = make_certificate(tmp_path / "tls")
    cert.key.chmod(mode)
    with pytest.raises(ConfigurationError) as refused:
        make_server(_scheme_app, "127.0.0.1", 0, 1, tls=cert.files)
    assert refused.value.message == (
        f"the TLS key file {cert.key} is not private (mode {mode:04o}): run chmod 600 {cert.key}"
    )
    cert.key.chmod(0o400)
    server = make_server(_scheme_app, "127.0.0.1", 0, 1, tls=cert.files)
    server.close()


def test_serve_needs_both_tls_options(tmp_path: Path) -> None:
    from tests.test_server_commands import run

    with pytest.raises(InvalidArgumentError) as alone:
        run("serve", "--home", str(tmp_path / "h"), "--port", "0", "--tls-cert", "c.pem")
    assert alone.value.message == "--tls-cert and --tls-key go together: give both or neither"
    assert not (tmp_path / "h").exists()


def test_serve_command_serves_https(certificate: Certificate, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TILEDB_", "TILECRED_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tilecred._server", "serve", "--home", str(tmp_path / "home"),
         "--port", "0", "--threads", "2", "--tls-cert", str(certificate.cert),
         "--tls-key", str(certificate.key)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        found = re.search(
            r" on https://127\.0\.0\.1:(\d+) \(2 threads\); console https://127\.0\.0\.1:\1/console/$",
            lines[3].rstrip(),
        )
        assert found, lines
        token = lines[2].strip()
        context = ssl.create_default_context(cafile=str(certificate.cert))
        conn = http.client.HTTPSConnection(
            "127.0.0.1", int(found.group(1)), timeout=10, context=context
        )
        conn.request("GET", "/v4/workspaces/default", headers={"X-TILEDB-REST-API-KEY": token})
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _err = proc.communicate(timeout=30)
    assert (proc.returncode, out) == (0, "tilecred stopped\n")


def test_silent_connections_do_not_hold_up_other_clients_handshakes(
    serving: Callable[..., Server], certificate: Certificate
) -> None:
    server = serving(_scheme_app, certificate.files)
    silent = [socket.create_connection((server.host, server.port), timeout=10) for _ in range(20)]
    try:
        for _ in range(3):
            assert _https_get(server, "/", certificate.cert) == (200, b"https")
    finally:
        for sock in silent:
            sock.close()


def test_a_task_token_receives_secrets_over_https(
    serving: Callable[..., Server], certificate: Certificate, tmp_path: Path
) -> None:
    # The delivery route end to end over real TLS: the client verifies the
    # server's certificate, the task token gets the secret, the use is audited.
    app = create_app(tmp_path / "home")
    try:
        server = serving(app, certificate.files)
        workspace = app.store.create_workspace("team")
        _admin, admin = app.tokens.create(workspace.id, "admin", kind=ADMIN)
        runner, task = app.tokens.create(workspace.id, "runner", kind=TASK)
        ca = str(certificate.cert)
        with tilecred.Client(host=server.url, token=admin, ca_file=ca) as manager:
            body = aws_key_body("lake", CANARY_SECRET, allowed_in_tasks=True)
            manager.create_credential("lake", "AWS", allowed_in_tasks=True,
                                      credential=body["credential"])  # fmt: skip
        with (
            tilecred.Client(host=server.url, token=task, ca_file=ca) as client,
            client.use_credential("lake") as access,
        ):
            assert access.env()["AWS_SECRET_ACCESS_KEY"] == CANARY_SECRET
        with tilecred.Client(host=server.url, token=admin, ca_file=ca) as manager:
            uses = [r for r in manager.audit(credential="lake") if r.action == "use"]
        assert [(r.actor, r.outcome) for r in uses] == [(runner.actor, "ok")]
    finally:
        app.close()


def _big_app(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = b"x" * (3 * 1024 * 1024)  # larger than any socket buffer: sent in many turns
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


def test_a_large_answer_arrives_whole_over_tls_to_a_client_that_reads_late(
    serving: Callable[..., Server], certificate: Certificate
) -> None:
    server = serving(_big_app, certificate.files)
    context = ssl.create_default_context(cafile=str(certificate.cert))
    raw = socket.create_connection((server.host, server.port), timeout=30)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        time.sleep(0.5)  # the server fills the socket's buffers and waits on it
        resp = http.client.HTTPResponse(tls)
        resp.begin()
        assert (resp.status, len(resp.read())) == (200, 3 * 1024 * 1024)
