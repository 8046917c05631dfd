"""The HTTP transport: one urllib3 pool per client, retries, deadline, errors.

This module imports urllib3, so the client imports it only on the first HTTP
request: ``import tilecred`` stays cheap.
"""

from __future__ import annotations

import base64
import email.utils
import logging
import math
import random
import re
import time
import warnings
from collections.abc import Sequence
from urllib.parse import urlencode, urljoin, urlsplit

import msgspec
import urllib3
from urllib3 import BaseHTTPResponse
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    InsecureRequestWarning,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from ._config import Settings
from ._errors import CredentialsError, error_for_status, scrub
from ._models import ErrorBody, iter_secrets
from ._version import __version__

__all__ = ["Query", "Response", "Transport"]

logger = logging.getLogger("tilecred")

# Methods that may be sent again after their bytes reached the server.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Lower-case: header names are compared case-insensitively.
AUTH_HEADERS = frozenset({"x-tiledb-rest-api-key", "authorization"})
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 10.0
BACKOFF_BASE = 0.25
BACKOFF_CAP = 8.0

_ERROR_DECODER = msgspec.json.Decoder(ErrorBody)

Query = Sequence[tuple[str, str]]
Origin = tuple[str, str, int | None]


class Response:
    """What a successful request returned."""

    __slots__ = ("data", "request_id", "status")

    def __init__(self, status: int, data: bytes, request_id: str | None) -> None:
        self.status = status
        self.data = data
        self.request_id = request_id


class Transport:
    """Sends requests to one host with one connection pool.

    Thread-safe: urllib3's pools are, and nothing here changes after
    construction. Headers, the pool for the configured host and the error
    decoder are built once, not per call.

    Parameters:
        settings: an HTTP configuration (``settings.host`` set).
    """

    def __init__(self, settings: Settings) -> None:
        if settings.host is None:
            raise CredentialsError("no host configured for the HTTP backend")
        split = urlsplit(settings.host)
        self._root = f"{split.scheme}://{split.netloc}"
        self._base_path = split.path
        self._origin = _origin_of(settings.host)
        self._timeout = settings.timeout
        self._retries = settings.retries
        # The first attempt has the whole deadline: its timeout is built once.
        self._first_timeout = urllib3.Timeout(
            connect=min(CONNECT_TIMEOUT, settings.timeout), read=settings.timeout
        )
        headers = {"User-Agent": f"tilecred/{__version__}", "Accept": "application/json"}
        basic = None
        if settings.token:
            headers["X-TILEDB-REST-API-KEY"] = settings.token
        elif settings.username is not None:
            pair = f"{settings.username}:{settings.password or ''}".encode()
            basic = base64.b64encode(pair).decode("ascii")
            headers["Authorization"] = f"Basic {basic}"
        self._headers = headers
        self._json_headers = {**headers, "Content-Type": "application/json"}
        # Everything that would let someone act as this client; scrubbed from
        # every error message, whatever the server echoes back.
        self.secrets = tuple(s for s in (settings.token, settings.password, basic) if s)
        if not settings.verify_ssl and split.scheme.lower() == "https":
            _warn_unverified(split.hostname or "")
        self._pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=16,
            cert_reqs="CERT_REQUIRED" if settings.verify_ssl else "CERT_NONE",
            ca_certs=settings.ca_file,
        )
        # The pool for our own host, looked up once instead of on every call.
        self._host_pool = self._pool.connection_from_url(settings.host)

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.clear()

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        body: bytes | None = None,
        sent: object = None,
    ) -> Response:
        """Send one request, with retries and redirects, within the deadline.

        Parameters:
            method: the HTTP method.
            path: the path below the host, starting with ``/``, already encoded.
            query: parameters, repeated names allowed; sent in this order.
            body: the JSON body, if any.
            sent: the model ``body`` was encoded from; its secrets are
                scrubbed from any error message.

        Returns:
            The response of a 2xx status.

        Raises:
            CredentialsError: a failing status (or its subclass for 404 and
                409), a connection failure, or the deadline passed.
        """
        target = self._base_path + path
        if query:
            target += "?" + urlencode(query)
        headers = self._json_headers if body is not None else self._headers
        deadline = time.monotonic() + self._timeout
        return self._send(method, target, body, headers, deadline, sent)

    def _send(
        self,
        method: str,
        target: str,
        body: bytes | None,
        headers: dict[str, str],
        deadline: float,
        sent: object,
    ) -> Response:
        url: str | None = None  # an absolute URL once redirected
        attempt = 0
        redirects = 0
        while True:
            started = time.monotonic()
            if attempt == redirects == 0:
                timeout = self._first_timeout
            else:
                remaining = deadline - started
                if remaining <= 0:
                    raise CredentialsError(f"no answer from {self._root} within {self._timeout:g}s")
                timeout = urllib3.Timeout(connect=min(CONNECT_TIMEOUT, remaining), read=remaining)
            try:
                if url is None:
                    resp = self._host_pool.urlopen(
                        method, target, body=body, headers=headers, retries=False,
                        redirect=False, timeout=timeout, assert_same_host=False,
                        preload_content=False,
                    )  # fmt: skip
                else:
                    resp = self._pool.urlopen(
                        method, url, body=body, headers=headers, retries=False,
                        redirect=False, timeout=timeout, preload_content=False,
                    )  # fmt: skip
                data = _read_body(resp, deadline)
                if data is None:
                    raise self._too_late(method, url)
            except ConnectTimeoutError as exc:
                # No connection, so nothing was sent: any method may try again.
                self._log_failure(method, url or target, started, exc)
                if attempt < self._retries and self._pause(attempt, None, deadline):
                    attempt += 1
                    continue
                tries = "" if attempt == 0 else f" ({attempt + 1} attempts)"
                raise CredentialsError(
                    f"cannot connect to {self._where(url)}: {_why(exc)}{tries}"
                ) from exc
            except SSLError as exc:
                raise CredentialsError(
                    f"TLS failure talking to {self._where(url)}: {_why(exc)}"
                ) from exc
            except (ReadTimeoutError, ProtocolError) as exc:
                # The request may have reached the server: only methods that
                # are safe to repeat are sent again.
                self._log_failure(method, url or target, started, exc)
                if (
                    method in IDEMPOTENT
                    and attempt < self._retries
                    and self._pause(attempt, None, deadline)
                ):
                    attempt += 1
                    continue
                if isinstance(exc, ReadTimeoutError):
                    raise self._too_late(method, url) from exc
                raise CredentialsError(
                    f"connection to {self._where(url)} dropped: {_why(exc)}" + _maybe_done(method)
                ) from exc
            except HTTPError as exc:
                raise CredentialsError(
                    f"{method} to {self._where(url)} failed: {_why(exc)}"
                ) from exc

            status = resp.status
            request_id = resp.headers.get("X-Request-Id")
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s %s -> %d in %.1f ms (request id %s)",
                    method, _path_of(url or target), status,
                    (time.monotonic() - started) * 1000, request_id,
                )  # fmt: skip

            if (
                status in RETRY_STATUSES
                and method in IDEMPOTENT
                and attempt < self._retries
                and self._pause(attempt, resp.headers.get("Retry-After"), deadline)
            ):
                attempt += 1
                continue
            location = resp.headers.get("Location") if status in REDIRECT_STATUSES else None
            if location:
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise CredentialsError(f"more than {MAX_REDIRECTS} redirects from {self._root}")
                url = urljoin(url or self._root + target, location)
                if status == 303 and method != "HEAD":
                    # "See other": fetch the answer; the body is not sent again.
                    method, body, headers = "GET", None, _without(headers, {"content-type"})
                if _origin_of(url) != self._origin:
                    if body is not None:
                        # The body may hold secrets: they go to our host only.
                        raise CredentialsError(
                            f"refusing to send a request body to another origin: {_origin(url)}"
                        )
                    headers = _without(headers, AUTH_HEADERS)
                continue
            if status >= 400:
                secrets = (*self.secrets, *iter_secrets(sent))
                raise _status_error(status, data, request_id, secrets)
            return Response(status, data, request_id)

    def _where(self, url: str | None) -> str:
        """The origin a request went to: ours, or where a redirect sent it."""
        return self._root if url is None else _origin(url)

    def _too_late(self, method: str, url: str | None) -> CredentialsError:
        """The error for an answer that did not arrive (in full) before the deadline."""
        return CredentialsError(
            f"no answer from {self._where(url)} within {self._timeout:g}s" + _maybe_done(method)
        )

    def _pause(self, attempt: int, retry_after: str | None, deadline: float) -> bool:
        """Sleep before the next attempt; ``False`` if that would pass the deadline."""
        wait = _retry_after_seconds(retry_after)
        if wait is None:
            ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)
            # Half fixed, half random: spread out, but never hammer at once.
            wait = ceiling / 2 + random.uniform(0, ceiling / 2)
        if time.monotonic() + wait >= deadline:
            logger.debug("not retrying: waiting %.2f s would pass the deadline", wait)
            return False
        logger.debug("retrying in %.2f s (attempt %d of %d)", wait, attempt + 2, self._retries + 1)
        time.sleep(wait)
        return True

    def _log_failure(self, method: str, where: str, started: float, exc: Exception) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s failed in %.1f ms: %s",
                method, _path_of(where), (time.monotonic() - started) * 1000, _why(exc),
            )  # fmt: skip


def _warn_unverified(hostname: str) -> None:
    """Warn once that ``hostname``'s certificates go unchecked; quiet urllib3 for it alone.

    urllib3 warns on every request made without verification, which would
    drown the output of a user who turned it off on purpose. Its warning is
    silenced only for this host: other code in the process that talks to
    other hosts unverified is still warned. The filter is added once per
    client, never per request.
    """
    warnings.warn(
        f"TLS certificates of {hostname} are not verified: verify_ssl is off",
        InsecureRequestWarning,
        stacklevel=2,
    )
    warnings.filterwarnings(
        "ignore",
        message=f"Unverified HTTPS request is being made to host '{re.escape(hostname)}'",
        category=InsecureRequestWarning,
        module=r"urllib3\.connectionpool",
    )


def _read_body(resp: BaseHTTPResponse, deadline: float) -> bytes | None:
    """The whole (decoded) body, or ``None`` if the deadline passed first.

    urllib3's read timeout starts again with every byte received, so a server
    that trickles its answer could hold a call for as long as it liked; here
    each read may wait only until the deadline. A connection given up on is
    closed and not returned to the pool: its unread rest would be taken for
    the next answer.
    """
    # Without a content-encoding there is nothing to decode, and read1 can hand
    # over what it read as it is: with decoding on, urllib3 copies every chunk
    # through its decoded-content buffer (a listing page is read 3 to 5 times
    # over, about 5% of a listing's time).
    decode = "content-encoding" in resp.headers
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            resp.close()
            return None
        # The connection is None once urllib3 has put it back in the pool, where
        # another thread may take it; its socket is None once http.client has
        # handed it to the response ("Connection: close"). Either way the read
        # timeout set for the request bounds the read.
        sock = getattr(resp.connection, "sock", None)
        if sock is not None:
            sock.settimeout(remaining)
        chunk = resp.read1(decode_content=decode)
        if not chunk:
            break
        chunks.append(chunk)
        if resp.closed and not decode:
            break  # all read, and nothing left in a decoder: no need to ask for more
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _maybe_done(method: str) -> str:
    """What a failure after sending means for a method that is not safe to repeat."""
    return "" if method in IDEMPOTENT else f"; the {method} may have been carried out"


def _retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        return max(0.0, when.timestamp() - time.time())
    if math.isnan(seconds) or seconds < 0:
        return None
    return seconds


def _why(exc: BaseException) -> str:
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
    text = str(getattr(exc, "reason", None) or exc)
    # urllib3 prefixes messages with the connection's repr: "HTTPConnection(...): why".
    if "): " in text and text.startswith(("<", "HTTP")):
        text = text.split("): ", 1)[1]
    return text or type(exc).__name__


def _origin_of(url: str) -> Origin:
    split = urlsplit(url)
    scheme = split.scheme.lower()
    try:
        port = split.port
    except ValueError:
        port = None
    return (scheme, (split.hostname or "").lower(), port or DEFAULT_PORTS.get(scheme))


def _origin(url: str) -> str:
    split = urlsplit(url)
    return f"{split.scheme}://{split.netloc}"


def _path_of(target: str) -> str:
    """The path of a target or URL, without its query: what a log line may show."""
    return urlsplit(target).path


def _without(headers: dict[str, str], names: frozenset[str] | set[str]) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key.lower() not in names}


def _status_error(
    status: int, data: bytes, request_id: str | None, secrets: Sequence[str]
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
            fields = "; ".join(f"{f.field}: {f.message}" for f in body.validation_error.fields)
            message = f"{message or 'invalid request'} ({fields})"
    if not message:
        message = "no error message in the response"
    # Scrubbed before the error is built: it cuts long messages short, and a
    # secret cut in half could no longer be found.
    message = scrub(message, secrets)
    if request_id is not None:
        request_id = scrub(request_id, secrets)
    return error_for_status(status, message, code=code, request_id=request_id)
