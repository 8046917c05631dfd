"""The HTTP transport: one urllib3 pool per client, retries, deadline, errors.

This module imports urllib3, so the client imports it only on the first HTTP
request: ``import tilecred`` stays cheap.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
import warnings
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import msgspec
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    InsecureRequestWarning,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from ._config import Settings
from ._errors import CredentialsError, error_for_status
from ._models import ErrorBody
from ._version import __version__

__all__ = ["Response", "Transport"]

logger = logging.getLogger("tilecred")

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
AUTH_HEADERS = ("X-TILEDB-REST-API-KEY", "Authorization")
MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 10.0
BACKOFF_BASE = 0.25
BACKOFF_CAP = 8.0

_ERROR_DECODER = msgspec.json.Decoder(ErrorBody)

Query = Sequence[tuple[str, str]]


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
    construction.
    """

    def __init__(self, settings: Settings) -> None:
        assert settings.host is not None
        self._base = settings.host
        split = urlsplit(self._base)
        self._origin = (split.scheme, split.hostname, split.port)
        self._timeout = settings.timeout
        self._retries = settings.retries
        headers = {
            "User-Agent": f"tilecred/{__version__}",
            "Accept": "application/json",
        }
        if settings.token:
            headers["X-TILEDB-REST-API-KEY"] = settings.token
        elif settings.username is not None:
            headers.update(
                urllib3.make_headers(basic_auth=f"{settings.username}:{settings.password or ''}")
            )
        self._headers = headers
        self._json_headers = {**headers, "Content-Type": "application/json"}
        self.secrets = tuple(s for s in (settings.token, settings.password) if s)
        if not settings.verify_ssl:
            # The user turned verification off on purpose; one warning per
            # request would drown their output.
            warnings.filterwarnings("ignore", category=InsecureRequestWarning)
        self._pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=16,
            cert_reqs="CERT_REQUIRED" if settings.verify_ssl else "CERT_NONE",
            ca_certs=settings.ca_file,
        )
        # The pool for our own host, looked up once instead of on every call.
        self._host_pool = self._pool.connection_from_url(self._base)
        self._base_path = split.path

    def close(self) -> None:
        self._pool.clear()

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        body: bytes | None = None,
    ) -> Response:
        """Send one request, with retries and redirects, within the deadline.

        A status of 400 or more raises the matching :class:`CredentialsError`.
        """
        target = self._base_path + path
        if query:
            target += "?" + urlencode(query)
        headers = self._json_headers if body is not None else self._headers
        deadline = time.monotonic() + self._timeout
        return self._send(method, target, body, headers, deadline)

    def _send(
        self,
        method: str,
        target: str,
        body: bytes | None,
        headers: dict[str, str],
        deadline: float,
    ) -> Response:
        url: str | None = None  # an absolute URL once redirected elsewhere
        attempt = 0
        redirects = 0
        while True:
            started = time.monotonic()
            remaining = deadline - started
            if remaining <= 0:
                raise CredentialsError(f"no answer from {self._base} within {self._timeout:g}s")
            timeout = urllib3.Timeout(connect=min(CONNECT_TIMEOUT, remaining), read=remaining)
            try:
                if url is None:
                    resp = self._host_pool.urlopen(
                        method, target, body=body, headers=headers, retries=False,
                        redirect=False, timeout=timeout, assert_same_host=False,
                    )  # fmt: skip
                else:
                    resp = self._pool.urlopen(
                        method, url, body=body, headers=headers, retries=False,
                        redirect=False, timeout=timeout,
                    )  # fmt: skip
            except (ConnectTimeoutError, NewConnectionError) as exc:
                # Nothing was sent: safe to try again whatever the method.
                if attempt < self._retries and self._pause(attempt, None, deadline):
                    attempt += 1
                    continue
                raise CredentialsError(f"cannot connect to {self._base}: {_why(exc)}") from exc
            except SSLError as exc:
                raise CredentialsError(f"TLS failure talking to {self._base}: {_why(exc)}") from exc
            except (ReadTimeoutError, ProtocolError) as exc:
                # The request may have reached the server: only methods that
                # are safe to repeat are sent again.
                if (
                    method in IDEMPOTENT
                    and attempt < self._retries
                    and self._pause(attempt, None, deadline)
                ):
                    attempt += 1
                    continue
                maybe = "" if method in IDEMPOTENT else "; it may have been carried out"
                raise CredentialsError(
                    f"{method} to {self._base} failed: {_why(exc)}{maybe}"
                ) from exc
            except HTTPError as exc:
                raise CredentialsError(f"{method} to {self._base} failed: {_why(exc)}") from exc

            status = resp.status
            request_id = resp.headers.get("X-Request-Id")
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s %s -> %d in %.1f ms (request id %s)",
                    method, target.split("?", 1)[0], status,
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
            if status in REDIRECT_STATUSES and "Location" in resp.headers:
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise CredentialsError(f"too many redirects from {self._base}")
                current = url or (self._base + target[len(self._base_path) :])
                url = urljoin(current, resp.headers["Location"])
                if status == 303 or (status in (301, 302) and method == "POST"):
                    method, body = "GET", None
                if not self._same_origin(url):
                    if body is not None:
                        # The body may hold secrets: they go to our host only.
                        raise CredentialsError(
                            f"refusing to send a request body to another origin: {_origin(url)}"
                        )
                    headers = {k: v for k, v in headers.items() if k not in AUTH_HEADERS}
                continue
            if status >= 400:
                raise _status_error(status, resp.data, request_id)
            return Response(status, resp.data, request_id)

    def _same_origin(self, url: str) -> bool:
        split = urlsplit(url)
        return (split.scheme, split.hostname, split.port) == self._origin

    def _pause(self, attempt: int, retry_after: str | None, deadline: float) -> bool:
        """Sleep before the next attempt; ``False`` if that would pass the deadline."""
        wait = _retry_after_seconds(retry_after)
        if wait is None:
            ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)
            # Half fixed, half random: spread out, but never hammer at once.
            wait = ceiling / 2 + random.uniform(0, ceiling / 2)
        if time.monotonic() + wait >= deadline:
            return False
        time.sleep(wait)
        return True


def _retry_after_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _why(exc: BaseException) -> str:
    """A short reason from a urllib3 error, without its nested reprs."""
    reason: Any = getattr(exc, "reason", None) or exc
    text = str(reason)
    # urllib3 prefixes messages with the connection object's repr.
    if ": " in text and text.startswith("<"):
        text = text.split(": ", 1)[1]
    return text or type(exc).__name__


def _origin(url: str) -> str:
    split = urlsplit(url)
    return f"{split.scheme}://{split.netloc}"


def _status_error(status: int, data: bytes, request_id: str | None) -> CredentialsError:
    """The error for a response with a failing status, from whatever body it has."""
    code: int | str | None = None
    message: str | None = None
    try:
        body = _ERROR_DECODER.decode(data) if data else None
    except msgspec.MsgspecError:
        body = None
        stripped = data.lstrip()[:15].lower()
        if stripped.startswith((b"<!doctype", b"<html")):
            message = "the server sent an HTML page instead of JSON"
        else:
            message = "the server sent a body that is not a JSON error"
    if body is not None:
        code = body.code
        message = body.message
        request_id = body.request_id or request_id
        if body.validation_error and body.validation_error.fields:
            first = body.validation_error.fields[0]
            message = f"{message or 'invalid request'} ({first.field}: {first.message})"
    if not message:
        message = "no error message in the response"
    return error_for_status(status, message, code=code, request_id=request_id)
