"""Shared pieces of the HTTP tests: clients on a real local server, what it saw.

Clients always talk to ``127.0.0.1``; pytest-httpserver listens there
(its default host, ``localhost``, is ``127.0.0.1`` too).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import ipaddress
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pytest_httpserver import HTTPServer

import tilecred
from tests.conftest import CANARY_TOKEN

__all__ = [
    "ARN",
    "WORKSPACE",
    "RawServer",
    "Seen",
    "ThreadedServer",
    "base_url",
    "credential_json",
    "free_port",
    "make_client",
    "seen",
    "self_signed",
    "teamspace_json",
    "workspace_json",
]

WORKSPACE = "ws_test1"
ARN = "arn:aws:iam::123456789012:role/demo"
CREATED = "2026-11-01T10:00:00Z"


def base_url(server: HTTPServer) -> str:
    """The server's root URL by address, not by name."""
    return f"http://127.0.0.1:{server.port}"


def make_client(server: HTTPServer, **settings: Any) -> tilecred.Client:
    """A client on ``server`` with the canary token and a ``ws_`` workspace."""
    settings.setdefault("token", CANARY_TOKEN)
    settings.setdefault("workspace", WORKSPACE)
    return tilecred.Client(host=base_url(server), **settings)


@dataclasses.dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str  # exactly as sent: still percent-encoded
    query: collections.Counter[tuple[str, str]]
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return msgspec.json.decode(self.body)


def seen(server: HTTPServer) -> list[Seen]:
    """Every request the server received, in order."""
    requests = []
    for request, _ in server.log:
        raw = request.environ["RAW_URI"]
        path, _, query = raw.partition("?")
        requests.append(
            Seen(
                method=request.method,
                path=path,
                query=collections.Counter(parse_qsl(query, keep_blank_values=True)),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=request.get_data(),
            )
        )
    return requests


def credential_json(name: str = "prod-s3", **fields: Any) -> dict[str, Any]:
    """An AccessCredential as a server sends it: secret fields as ``""``."""
    value: dict[str, Any] = {
        "credential_type": "workspace",
        "id": f"cred_{name}",
        "name": name,
        "provider": "AWS",
        "provider_default": True,
        "created_at": CREATED,
        "updated_at": "2026-11-02T10:00:00Z",
        "allowed_in_tasks": False,
        "role": {"aws": {"role_arn": ARN, "external_id": ""}},
        "server_added_field": {"ignored": True},
    }
    value.update(fields)
    return value


def _user(role: str) -> dict[str, str]:
    return {
        "user_id": "u_1",
        "username": "ada",
        "display_name": "Ada",
        "email": "ada@example.com",
        "role": role,
        "added_by": "u_0",
        "created_at": CREATED,
    }


def teamspace_json(name: str, ident: str) -> dict[str, Any]:
    """A teamspace lookup response body."""
    return {
        "data": {
            "teamspace_id": ident,
            "name": name,
            "space_type": "teamspace",
            "created_at": CREATED,
            "created_by": _user("owner"),
            "visibility": "private",
        }
    }


def workspace_json(name: str, ident: str) -> dict[str, Any]:
    """A workspace lookup response body."""
    return {
        "data": {
            "workspace_id": ident,
            "name": name,
            "created_at": CREATED,
            "created_by": _user("owner"),
            "self": _user("admin"),
        }
    }


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _read_request(conn: socket.socket) -> bytes:
    """Read one request, head and body: closing with bytes unread would reset."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


class RawServer:
    """A TCP server for what an HTTP server would not do.

    ``answer`` gets each connection after its request head has been read;
    it may reply, close, or hold the connection open. Every request (head
    and body as received) is kept in :attr:`heads`, one per connection.
    """

    def __init__(self, answer: Callable[[socket.socket], None]) -> None:
        self._answer = answer
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.heads: list[bytes] = []
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self._listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._open.append(conn)
            conn.settimeout(5)
            self.heads.append(_read_request(conn))
            self._answer(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._open:
            conn.close()
        self._listener.close()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files in ``folder``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)  # a server refuses a key others can read
    return cert_file, key_file


class ThreadedServer:
    """A TCP server on 127.0.0.1 whose connections each get a thread running ``handle``.

    One connection held open (a TLS handshake it cannot read, a tunnel) holds
    that thread only. ``handle`` should return soon after :attr:`stopping` is set.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def _serve(self) -> None:
        self._listener.settimeout(0.05)
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self.handle, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def close(self) -> None:
        self.stopping.set()
        self._accept.join()
        for thread in self._threads:
            thread.join()
        self._listener.close()
