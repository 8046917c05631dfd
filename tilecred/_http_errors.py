"""What a failed HTTP attempt means, in words a person (and a program) can act on.

Imported by ``_http``, on the first request: never at ``import tilecred``.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Sequence
from urllib.parse import urlsplit

import msgspec
from urllib3.exceptions import ConnectTimeoutError, HTTPError, ProtocolError

from ._errors import CredentialsError, TransportError, error_for_status, scrub
from ._models import ErrorBody

__all__ = [
    "IDEMPOTENT",
    "answers_plain_http",
    "certificate_hint",
    "handshake_timed_out",
    "is_certificate_failure",
    "maybe_done",
    "plain_http_error",
    "proxy_failure",
    "status_error",
    "why",
]

# Methods that may be sent again after their bytes reached the server.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

_ERROR_DECODER = msgspec.json.Decoder(ErrorBody)
# How long the plain-HTTP check may take: a server that speaks HTTP answers
# a request at once.
PROBE_TIMEOUT = 2.0


def why(exc: BaseException) -> str:
    """A short reason from a urllib3 error, without its nested reprs."""
    # urllib3 raises connection errors from the socket's OSError; its
    # strerror ("Connection refused") says it best.
    cause = exc.__cause__
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    if isinstance(exc, ConnectTimeoutError):
        return "connection timed out"
    if isinstance(exc, ProtocolError) and len(exc.args) > 1:
        inner = exc.args[1]
        return str(inner) or type(inner).__name__
    original = getattr(exc, "original_error", None)  # urllib3's ProxyError
    if isinstance(original, BaseException) and original is not exc:
        return why(original)
    text = str(getattr(exc, "reason", None) or exc)
    # urllib3 prefixes messages with the connection's repr: "HTTPConnection(...): why".
    if "): " in text and text.startswith(("<", "HTTP")):
        text = text.split("): ", 1)[1]
    return text or type(exc).__name__


def handshake_timed_out(exc: HTTPError) -> bool:
    """Whether a read timeout came from the TLS handshake, before anything was sent.

    urllib3 reports a handshake that never finishes as a read timeout; the
    socket's own error, chained as the cause, says which it was.
    """
    cause = exc.__cause__
    return isinstance(cause, TimeoutError) and "handshake" in str(cause)


def is_certificate_failure(exc: HTTPError) -> bool:
    """Whether a TLS failure is the server's certificate being refused."""
    inner = exc.args[0] if exc.args else None
    return isinstance(inner, ssl.SSLCertVerificationError | ssl.CertificateError)


def certificate_hint(ca_file: str | None) -> str:
    """What to do about a server certificate that was not trusted."""
    if ca_file is None:
        return (
            "; for a self-signed or private-CA certificate, give its file as ca_file= "
            "or TILEDB_SSL_CA_FILE"
        )
    return f"; the server's certificate is not signed by ca_file {ca_file}"


def answers_plain_http(url: str, timeout: float) -> bool:
    """Whether the server at ``url`` answers a plain-HTTP request.

    Asked only after TLS to it failed without a certificate problem: a
    plain-HTTP server given a TLS handshake either answers garbage (an error
    OpenSSL calls "wrong version number") or waits for the rest of a request
    line that never comes. A ``HEAD /`` without any credential settles it.
    """
    split = urlsplit(url)
    host, port = split.hostname or "", split.port or 443
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"HEAD / HTTP/1.0\r\nHost: %s\r\n\r\n" % split.netloc.encode("idna"))
            start = b""
            while len(start) < 5:
                chunk = sock.recv(5 - len(start))
                if not chunk:
                    break
                start += chunk
            return start == b"HTTP/"
    except (OSError, UnicodeError):
        return False


def maybe_done(method: str, sent: int) -> str:
    """What a failure after sending means for a method that is not safe to repeat."""
    if sent == 0 or method in IDEMPOTENT:
        return ""
    return f"; the {method} may have been carried out"


def plain_http_error(where: str, attempts: int) -> TransportError:
    """An ``https://`` host whose server speaks plain HTTP: say so, and what to do."""
    plain = "http" + where[len("https") :]
    return TransportError(
        f"{where} answered in plain HTTP, not HTTPS: if the server has no TLS, "
        f"give the host as {plain}",
        attempts=attempts,
        retryable=False,
    )


def proxy_failure(exc: HTTPError, proxy: str | None, where: str, attempts: int) -> TransportError:
    """No connection to the proxy, or no tunnel through it: nothing reached the server."""
    original = getattr(exc, "original_error", None)
    if isinstance(original, ConnectTimeoutError):
        return TransportError(
            f"cannot connect to proxy {proxy}: {why(original)}", attempts=attempts
        )
    return TransportError(
        f"proxy {proxy} gave no way through to {where}: {why(exc)}",
        attempts=attempts,
        retryable=False,
    )


def status_error(
    status: int,
    data: bytes,
    request_id: str | None,
    secrets: Sequence[str],
    **fields: object,
) -> CredentialsError:
    """The error for a response with a failing status, from whatever body it has."""
    code: int | str | None = None
    message: str | None = None
    try:
        body = _ERROR_DECODER.decode(data) if data.strip() else None
    except msgspec.MsgspecError:
        body = None
        if data.lstrip()[:15].lower().startswith((b"<!doctype", b"<html")):
            message = "the server sent an HTML page instead of a JSON error"
        else:
            message = "the server sent a body that is not a JSON error"
    if body is not None:
        code = body.code
        message = body.message
        request_id = body.request_id or request_id
        if isinstance(code, str):
            # A server's code is meant to be a number; a string one may echo anything.
            code = scrub(code, secrets)
        if body.validation_error and body.validation_error.fields:
            found = "; ".join(f"{f.field}: {f.message}" for f in body.validation_error.fields)
            message = f"{message or 'invalid request'} ({found})"
    if not message:
        message = "no error message in the response"
    # Scrubbed before the error is built: it cuts long messages short, and a
    # secret cut in half could no longer be found.
    message = scrub(message, secrets) + str(fields.pop("suffix", ""))
    if request_id is not None:
        request_id = scrub(request_id, secrets)
    return error_for_status(status, message, code=code, request_id=request_id, **fields)
