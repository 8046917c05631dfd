"""The HTTP transport: one urllib3 pool per client, retries, deadline, errors.

This module imports urllib3, so the client imports it only on the first HTTP
request: ``import tilecred`` stays cheap.
"""

from __future__ import annotations

import base64
import logging
import random
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import urllib3
from urllib3 import BaseHTTPResponse
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)

from ._config import Settings
from ._errors import CredentialsError, RequestTimeoutError, TransportError
from ._http_errors import (
    IDEMPOTENT,
    PROBE_TIMEOUT,
    answers_plain_http,
    certificate_hint,
    handshake_timed_out,
    is_certificate_failure,
    maybe_done,
    plain_http_error,
    proxy_failure,
    status_error,
    why,
)
from ._http_wire import (
    new_manager,
    origin,
    origin_of,
    path_of,
    proxy_secrets,
    read_body,
    retry_after_seconds,
    warn_unverified,
    without,
)
from ._models import iter_secrets
from ._proxy import mask_proxy
from ._version import __version__

__all__ = ["Query", "Response", "Transport"]

logger = logging.getLogger("tilecred")

RETRY_STATUSES = frozenset({429, 502, 503, 504})
# A gateway's "no answer from upstream": the request may have been carried out.
MAYBE_DONE_STATUSES = frozenset({502, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Lower-case: header names are compared case-insensitively.
AUTH_HEADERS = frozenset({"x-tiledb-rest-api-key", "authorization"})
MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 10.0
BACKOFF_BASE = 0.25
BACKOFF_CAP = 8.0

Query = Sequence[tuple[str, str]]


class Response:
    """What a successful request returned."""

    __slots__ = ("data", "request_id", "status")

    def __init__(self, status: int, data: bytes, request_id: str | None) -> None:
        self.status = status
        self.data = data
        self.request_id = request_id


class _Call:
    """One call's state across its attempts and redirects."""

    __slots__ = (
        "body", "deadline", "headers", "maybe_done", "method", "redirects", "sent", "target",
        "tries", "url",
    )  # fmt: skip

    def __init__(
        self, method: str, target: str, body: bytes | None, headers: dict[str, str], deadline: float
    ) -> None:
        self.method = method
        self.target = target  # below our host; used until a redirect sets ``url``
        self.url: str | None = None  # an absolute URL once redirected
        self.body = body
        self.headers = headers
        self.deadline = deadline
        self.tries = 0  # attempts made after the first (retries)
        self.redirects = 0
        # Attempts whose bytes went out: answered, or lost after sending.
        self.sent = 0
        # Whether an earlier attempt may have been carried out with its answer
        # lost (no answer, dropped, 502 or 504).
        self.maybe_done = False


class Transport:
    """Sends requests to one host with one connection pool.

    Thread-safe: urllib3's pools are, and nothing here changes after
    construction but the cache of pools for redirect targets, under a lock.
    Headers, the pool for the configured host and the error decoder are built
    once, not per call.

    Parameters:
        settings: an HTTP configuration (``settings.host`` set).
    """

    def __init__(self, settings: Settings) -> None:
        if settings.host is None:
            raise CredentialsError("no host configured for the HTTP backend")
        split = urlsplit(settings.host)
        self._root = f"{split.scheme}://{split.netloc}"
        self._base_path = split.path
        self._origin = origin_of(settings.host)
        self._timeout = settings.timeout
        self._retries = settings.retries
        # The first attempt has the whole deadline: its timeout is built once.
        # Connecting (TLS handshake included) gets at most half of it: a server
        # that takes the connection but never starts TLS leaves time to ask
        # whether it speaks plain HTTP.
        self._first_timeout = urllib3.Timeout(
            connect=min(CONNECT_TIMEOUT, settings.timeout / 2), read=settings.timeout
        )
        # X-Tilecred-Kinds: tilecred serve leaves its own kinds of credential
        # out of /v4 answers unless the client says it reads them (docs/wire.md).
        headers = {
            "User-Agent": f"tilecred/{__version__}",
            "Accept": "application/json",
            "X-Tilecred-Kinds": "all",
        }
        basic = None
        # Where what this client signs in with came from, for a 401 to name.
        self._sign_in_source: str | None = None
        if settings.token:
            headers["X-TILEDB-REST-API-KEY"] = settings.token
            self._sign_in_source = f"the token from {settings.sources.get('token', 'argument')}"
        elif settings.username is not None:
            pair = f"{settings.username}:{settings.password or ''}".encode()
            basic = base64.b64encode(pair).decode("ascii")
            headers["Authorization"] = f"Basic {basic}"
            source = settings.sources.get("username", "argument")
            self._sign_in_source = f"the username and password from {source}"
        self._headers = headers
        self._json_headers = {**headers, "Content-Type": "application/json"}
        self._proxies = settings.proxies
        proxy = settings.proxy
        # Everything that would let someone act as this client; scrubbed from
        # every error message, whatever the server echoes back.
        self.secrets = tuple(
            s for s in (settings.token, settings.password, basic, *proxy_secrets(proxy)) if s
        )
        if not settings.verify_ssl and split.scheme.lower() == "https":
            warn_unverified(split.hostname or "")
        self._pool_options: dict[str, Any] = {
            "num_pools": 4,
            "maxsize": 16,
            "cert_reqs": "CERT_REQUIRED" if settings.verify_ssl else "CERT_NONE",
            "ca_certs": settings.ca_file,
        }
        self._managers_lock = threading.Lock()
        self._pool = new_manager(proxy, self._pool_options)
        self._managers: dict[str | None, urllib3.PoolManager] = {proxy: self._pool}
        # The pool for our own host, looked up once instead of on every call;
        # through a proxy, a plain-HTTP request is forwarded whole instead.
        forwarded = proxy is not None and split.scheme.lower() == "http"
        self._host_pool = None if forwarded else self._pool.connection_from_url(settings.host)

    def close(self) -> None:
        """Close every pooled connection."""
        with self._managers_lock:
            managers = list(self._managers.values())
        for manager in managers:
            manager.clear()

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
            The response of a 2xx status; or of a 404 to a DELETE repeated
            after an attempt that may have been carried out (it was).

        Raises:
            CredentialsError: the subclass for a failing status, a
                ``TransportError`` when no answer came; ``.attempts`` says how
                many requests were sent.
        """
        target = self._base_path + path
        if query:
            target += "?" + urlencode(query)
        headers = self._json_headers if body is not None else self._headers
        call = _Call(method, target, body, headers, time.monotonic() + self._timeout)
        while True:
            started = time.monotonic()
            try:
                resp, data = self._attempt(call, started)
            except HTTPError as exc:
                self._log_failure(call, started, exc)
                self._recover(call, exc)  # returns only to try again
                continue
            call.sent += 1
            answer = self._answered(call, resp, data, started, sent)
            if answer is not None:
                return answer

    # -- the steps of one call --------------------------------------------------

    def _answered(
        self, call: _Call, resp: BaseHTTPResponse, data: bytes, started: float, sent: object
    ) -> Response | None:
        """The call's result from an answer, or ``None`` to send again (retry, redirect)."""
        status = resp.status
        request_id = resp.headers.get("X-Request-Id")
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d in %.1f ms (request id %s)",
                call.method, path_of(call.url or call.target), status,
                (time.monotonic() - started) * 1000, request_id,
            )  # fmt: skip
        if status < 300:
            return Response(status, data, request_id)
        if self._retry_status(call, status, resp.headers.get("Retry-After")):
            return None
        if status in REDIRECT_STATUSES and self._redirect(call, status, resp):
            return None
        if status == 404 and call.method == "DELETE" and call.maybe_done:
            # An earlier attempt's answer was lost; the likeliest reason the
            # name is gone now is that that attempt deleted it.
            logger.debug("DELETE repeated after a lost answer got 404: taken as done")
            return Response(status, data, request_id)
        if status >= 400:
            raise self._status_failure(call, status, data, request_id, sent)
        return Response(status, data, request_id)

    def _attempt(self, call: _Call, started: float) -> tuple[BaseHTTPResponse, bytes]:
        """Send once and read the whole answer within the deadline.

        Raises:
            HTTPError: the attempt failed; ``_recover`` decides what that means.
            RequestTimeoutError: the deadline passed.
        """
        if call.tries == call.redirects == 0:
            timeout = self._first_timeout
        else:
            remaining = call.deadline - started
            if remaining <= 0:
                raise self._no_answer(call)
            timeout = urllib3.Timeout(connect=min(CONNECT_TIMEOUT, remaining), read=remaining)
        if call.url is None and self._host_pool is not None:
            resp = self._host_pool.urlopen(
                call.method, call.target, body=call.body, headers=call.headers,
                retries=False, redirect=False, timeout=timeout, assert_same_host=False,
                preload_content=False,
            )  # fmt: skip
        else:
            url = call.url or self._root + call.target
            resp = self._manager_for(url).urlopen(
                call.method, url, body=call.body, headers=call.headers, retries=False,
                redirect=False, timeout=timeout, preload_content=False,
            )  # fmt: skip
        data = read_body(resp, call.deadline)
        if data is None:
            call.sent += 1
            raise self._no_answer(call)
        return resp, data

    def _recover(self, call: _Call, exc: HTTPError) -> None:
        """After an attempt that got no answer: return to try again, or raise.

        A failure before the request went out (no connection, no TLS
        handshake, no tunnel through the proxy) may be retried for any
        method; one after it may have reached the server only for methods
        that are safe to repeat.
        """
        where = self._where(call)
        if isinstance(exc, ProxyError):
            raise proxy_failure(exc, self._proxy_of(call), where, call.sent) from exc
        if isinstance(exc, ConnectTimeoutError) or handshake_timed_out(exc):
            if self._plain_http(call, exc):
                raise plain_http_error(where, call.sent) from exc
            if self._may_retry(call, None):
                return
            tries = "" if call.tries == 0 else f" (tried {call.tries + 1} times)"
            why_ = "TLS handshake timed out" if isinstance(exc, ReadTimeoutError) else why(exc)
            raise TransportError(
                f"cannot connect to {where}: {why_}{tries}", attempts=call.sent
            ) from exc
        if isinstance(exc, SSLError):
            if self._plain_http(call, exc):
                raise plain_http_error(where, call.sent) from exc
            hint = certificate_hint(self._pool_options["ca_certs"]) if is_certificate_failure(
                exc
            ) else ""  # fmt: skip
            raise TransportError(
                f"TLS failure talking to {where}: {why(exc)}{hint}",
                attempts=call.sent,
                retryable=False,
            ) from exc
        if isinstance(exc, ReadTimeoutError | ProtocolError):
            call.sent += 1
            call.maybe_done = True
            if call.method in IDEMPOTENT and self._may_retry(call, None):
                return
            if isinstance(exc, ReadTimeoutError):
                raise self._no_answer(call) from exc
            raise TransportError(
                f"connection to {where} dropped: {why(exc)}{maybe_done(call.method, call.sent)}",
                attempts=call.sent,
                retryable=call.method in IDEMPOTENT,
            ) from exc
        raise TransportError(
            f"{call.method} to {where} failed: {why(exc)}", attempts=call.sent, retryable=False
        ) from exc

    def _retry_status(self, call: _Call, status: int, retry_after: str | None) -> bool:
        """Whether to send again after a status that asks for it (waiting first)."""
        if (
            status in RETRY_STATUSES
            and call.method in IDEMPOTENT
            and self._may_retry(call, retry_after)
        ):
            call.maybe_done = call.maybe_done or status in MAYBE_DONE_STATUSES
            return True
        return False

    def _redirect(self, call: _Call, status: int, resp: BaseHTTPResponse) -> bool:
        """Whether to follow a redirect; points ``call`` at its target."""
        location = resp.headers.get("Location")
        if not location:
            return False
        call.redirects += 1
        if call.redirects > MAX_REDIRECTS:
            raise CredentialsError(
                f"more than {MAX_REDIRECTS} redirects from {self._root}", attempts=call.sent
            )
        url = call.url = urljoin(call.url or self._root + call.target, location)
        if status == 303 and call.method != "HEAD":
            # "See other": fetch the answer; the body is not sent again.
            call.method, call.body = "GET", None
            call.headers = without(call.headers, {"content-type"})
        if origin_of(url) != self._origin:
            if call.body is not None:
                # The body may hold secrets: they go to our host only.
                raise CredentialsError(
                    f"refusing to send a request body to another origin: {origin(url)}",
                    attempts=call.sent,
                )
            call.headers = without(call.headers, AUTH_HEADERS)
        return True

    def _may_retry(self, call: _Call, retry_after: str | None) -> bool:
        """Wait and count a retry, if one is left and fits in the deadline."""
        if call.tries < self._retries and self._pause(call.tries, retry_after, call.deadline):
            call.tries += 1
            return True
        return False

    # -- what a failure says ----------------------------------------------------

    def _where(self, call: _Call) -> str:
        """The origin a request went to: ours, or where a redirect sent it."""
        return self._root if call.url is None else origin(call.url)

    def _no_answer(self, call: _Call) -> RequestTimeoutError:
        """The error for an answer that did not arrive (in full) before the deadline."""
        suffix = maybe_done(call.method, call.sent)
        return RequestTimeoutError(
            f"no answer from {self._where(call)} within {self._timeout:g}s{suffix}",
            attempts=call.sent,
            retryable=not suffix,
        )

    def _status_failure(
        self, call: _Call, status: int, data: bytes, request_id: str | None, sent: object
    ) -> CredentialsError:
        secrets = (*self.secrets, *iter_secrets(sent))
        if call.method not in IDEMPOTENT and status in MAYBE_DONE_STATUSES:
            # A gateway lost the answer: the server behind it may have acted.
            suffix = f"; the {call.method} may have been carried out"
            return status_error(
                status, data, request_id, secrets,
                suffix=suffix, attempts=call.sent, retryable=False,
            )  # fmt: skip
        if status == 401 and self._sign_in_source is not None:
            suffix = f" ({self._sign_in_source})"
            return status_error(
                status, data, request_id, secrets, suffix=suffix, attempts=call.sent
            )
        return status_error(status, data, request_id, secrets, attempts=call.sent)

    def _proxy_of(self, call: _Call) -> str | None:
        if self._proxies is None:
            return None
        found = self._proxies.for_url(call.url or self._root)
        return None if found is None else mask_proxy(found[0])

    def _plain_http(self, call: _Call, exc: HTTPError) -> bool:
        """Whether a failed TLS connection went to a server that speaks plain HTTP."""
        url = call.url or self._root
        if not url.lower().startswith("https:") or self._proxy_of(call) is not None:
            return False
        if isinstance(exc, ConnectTimeoutError) or is_certificate_failure(exc):
            return False
        wait = min(PROBE_TIMEOUT, call.deadline - time.monotonic())
        return wait > 0 and answers_plain_http(url, wait)

    # -- pools, waits and logs --------------------------------------------------

    def _manager_for(self, url: str) -> urllib3.PoolManager:
        """The pool manager for a URL: direct, or through the proxy for it."""
        found = None if self._proxies is None else self._proxies.for_url(url)
        proxy = None if found is None else found[0]
        manager = self._managers.get(proxy)
        if manager is None:
            with self._managers_lock:
                manager = self._managers.get(proxy)
                if manager is None:
                    manager = self._managers[proxy] = new_manager(proxy, self._pool_options)
        return manager

    def _pause(self, attempt: int, retry_after: str | None, deadline: float) -> bool:
        """Sleep before the next attempt; ``False`` if that would pass the deadline."""
        wait = retry_after_seconds(retry_after)
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

    def _log_failure(self, call: _Call, started: float, exc: Exception) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s failed in %.1f ms: %s",
                call.method, path_of(call.url or call.target),
                (time.monotonic() - started) * 1000, why(exc),
            )  # fmt: skip
