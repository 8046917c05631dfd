"""What the server says about the two TLS mistakes people make setting it up.

- A client that sends plain HTTP to the HTTPS port gets a plain-HTTP 400 whose
  JSON body says the server speaks HTTPS (the handshake's failure alone would
  only drop the connection), and the server logs it.
- ``--tls-cert`` and ``--tls-key`` given the wrong way round: the file that
  holds the other kind of PEM block is named.
"""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
from pathlib import Path
from typing import Any

import msgspec

__all__ = ["answer_plain_http", "check_pem_kinds"]

logger = logging.getLogger("tilecred.server")

_SPEAKS_HTTPS = (
    "this server speaks HTTPS, and a plain-HTTP request came to its port: "
    "give the host as https://, not http://"
)


def answer_plain_http(sock: ssl.SSLSocket, address: Any, exc: BaseException) -> None:
    """If a failed handshake was a plain-HTTP request, answer it in plain HTTP and log it."""
    if getattr(exc, "reason", None) != "HTTP_REQUEST":
        return
    peer = address[0] if isinstance(address, tuple) and address else address
    logger.warning("plain-HTTP request from %s to the HTTPS port: the client needs https://", peer)
    body = msgspec.json.encode({"code": 400, "message": _SPEAKS_HTTPS})
    head = (
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    # The TLS layer never started: the answer goes on the socket underneath. A
    # client already gone leaves only the log line.
    with contextlib.suppress(OSError):
        os.write(sock.fileno(), head.encode("ascii") + body)


def _blocks(path: Path) -> set[str]:
    """The kinds of PEM block in a file: "certificate", "key" (any private key)."""
    try:
        text = path.read_bytes()
    except OSError:
        return set()
    kinds = set()
    if b"-----BEGIN CERTIFICATE-----" in text:
        kinds.add("certificate")
    if b"PRIVATE KEY-----" in text:
        kinds.add("key")
    return kinds


def check_pem_kinds(cert: Path, key: Path) -> str | None:
    """Which of the two files holds the wrong kind of PEM, said as a sentence, or None."""
    in_cert, in_key = _blocks(cert), _blocks(key)
    swapped = " (are --tls-cert and --tls-key the wrong way round?)"
    if "certificate" not in in_cert and "key" in in_cert:
        hint = swapped if "certificate" in in_key else ""
        return f"--tls-cert {cert} holds a private key, not a certificate{hint}"
    if "key" not in in_key and "certificate" in in_key:
        return f"--tls-key {key} holds a certificate, not a private key"
    return None
