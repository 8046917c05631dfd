"""The WSGI application: parse, authenticate, route, answer, log one line.

Runs under any WSGI server; ``tilecred serve`` uses cheroot. Every response
carries ``X-Request-Id``; every error is the JSON body
``{"code", "message", "request_id"}``. The access log has one line per
request and never a body, a query string or a token.
"""

from __future__ import annotations

import ipaddress
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote_to_bytes

import msgspec

from .._errors import CredentialsError
from .._local._token_records import digest
from ._console import Console, load_console
from ._handlers import Handlers, store_error
from ._kinds import KINDS_ENVIRON, knows_every_kind
from ._openapi import openapi_document, takes_body
from ._request import HttpError, Request, Response, status_line
from ._routes import Route, match
from ._tokens import TokenRecord, TokenStore
from ._wire import error_body

if TYPE_CHECKING:
    from .._local import Store
    from ._outbound import Outbound

__all__ = ["MAX_BODY", "ServerApp", "create_app"]

MAX_BODY = 1024 * 1024
READ_CHUNK = 64 * 1024
# What one access-log line shows of the path and the method, at most.
MAX_LOGGED_PATH = 200
MAX_LOGGED_METHOD = 16

access_log = logging.getLogger("tilecred.server.access")
logger = logging.getLogger("tilecred.server")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_JSON = ("Content-Type", "application/json")
# No answer of this API is for a cache: one of them carries secrets, and the
# others describe what a token may see.
_NO_STORE = ("Cache-Control", "no-store")


def _secure(environ: dict[str, Any]) -> bool:
    """Whether the request came over TLS, or from this machine (loopback)."""
    if environ.get("wsgi.url_scheme") == "https":
        return True
    try:
        address = ipaddress.ip_address(str(environ.get("REMOTE_ADDR", "")).split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _raw_path(environ: dict[str, Any]) -> str:
    """The path as the client sent it, still percent-encoded, without the query."""
    # cheroot gives REQUEST_URI and gunicorn RAW_URI; routing on it keeps an
    # encoded "/" inside its segment. Other servers give only the decoded
    # PATH_INFO (latin-1 text of its bytes), encoded again here.
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if raw:
        path = str(raw).split("?", 1)[0]
        if not path.startswith("/"):  # absolute-form: http://host/path
            path = "/" + path.split("://", 1)[-1].partition("/")[2]
        return path
    return quote(str(environ.get("PATH_INFO", "")).encode("latin-1"), safe="/") or "/"


def _segments(path: str) -> tuple[str, ...]:
    parts = path.split("/")[1:]
    if "" in parts[:-1] or (len(parts) > 1 and not parts[-1]):
        raise HttpError(404, "no such route: the path has an empty segment")
    try:
        return tuple(unquote_to_bytes(part).decode("utf-8") for part in parts)
    except UnicodeError as exc:
        raise HttpError(400, "the request path is not valid UTF-8") from exc


def _logged(text: str, limit: int) -> str:
    # Quoted so a path cannot forge a log line; cut so one request cannot flood the log.
    shown = quote(text, safe="/%:@")
    return shown if len(shown) <= limit else f"{shown[:limit]}...[{len(shown)} chars]"


def _has_body(environ: dict[str, Any]) -> bool:
    # A POST with nothing in it (the delivery route) needs no Content-Type.
    length = str(environ.get("CONTENT_LENGTH") or "").strip()
    chunked = "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
    return chunked or length not in ("", "0")


def _check_content_type(environ: dict[str, Any]) -> None:
    given = str(environ.get("CONTENT_TYPE", "")).strip()
    if given.partition(";")[0].strip().lower() == "application/json":
        return
    if not given:
        raise HttpError(415, "request body must be application/json; no Content-Type was sent")
    raise HttpError(415, f"request body must be application/json, not {_logged(given, 60)!r}")


def _read_body(environ: dict[str, Any]) -> bytes:
    length_text = environ.get("CONTENT_LENGTH") or ""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    try:
        return _read_stream(stream, length_text)
    except TimeoutError as exc:
        raise HttpError(408, "the request body did not arrive in time") from exc
    except ValueError as exc:  # cheroot's word for a malformed chunked body
        raise HttpError(400, "the request body's chunked framing is malformed") from exc
    except OSError as exc:
        raise HttpError(400, "the request body could not be read") from exc


def _read_stream(stream: Any, length_text: str) -> bytes:
    if length_text:
        try:
            length = int(length_text)
        except ValueError:
            raise HttpError(400, "Content-Length is not a number") from None
        if length > MAX_BODY:
            raise HttpError(413, f"request body of {length} bytes is over the 1 MiB limit")
        return bytes(stream.read(length)) if length > 0 else b""
    # No length (chunked): read no more than one byte past the limit.
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BODY:
        chunk = stream.read(min(READ_CHUNK, MAX_BODY + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > MAX_BODY:
        raise HttpError(413, "request body is over the 1 MiB limit")
    return b"".join(chunks)


def _token(environ: dict[str, Any]) -> str:
    token = str(environ.get("HTTP_X_TILEDB_REST_API_KEY", "")).strip()
    if token:
        return token
    authorization = str(environ.get("HTTP_AUTHORIZATION", "")).strip()
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if authorization:
        raise HttpError(
            401,
            f"{scheme or 'this'} authorization is not supported; send an API token "
            "in X-TILEDB-REST-API-KEY or Authorization: Bearer",
        )
    raise HttpError(
        401, "missing API token: send it in X-TILEDB-REST-API-KEY or Authorization: Bearer"
    )


class ServerApp:
    """The WSGI callable over one store, its API tokens included.

    Parameters:
        store: the local store (``tilecred._local.Store``).
        tokens: the API tokens.
        console: serve the web console at ``/console/`` (its files need no token).
        outbound: what the server may call out to (``--outbound``); ``None``: nothing.
    """

    def __init__(
        self,
        store: Store,
        tokens: TokenStore,
        *,
        console: bool = True,
        outbound: Outbound | None = None,
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.handlers = Handlers(store, msgspec.json.encode(openapi_document()), outbound=outbound)
        self.console: Console | None = load_console() if console else None

    def close(self) -> None:
        """Close the store (the tokens live in it)."""
        self.store.close()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        request_id = uuid.uuid4().hex
        method = environ.get("REQUEST_METHOD", "GET").upper()
        caller: TokenRecord | None = None
        headers = [("X-Request-Id", request_id), _NO_STORE]
        path = _raw_path(environ)
        if self.console is not None and self.console.serves(path):
            return self._console(environ, start_response, method, path, request_id, started)
        try:
            route, captured = match(method, _segments(path))
            if not route.public:
                caller = self._authenticate(environ, request_id)
            response = self._dispatch(environ, method, route, captured, caller, request_id)
        except HttpError as exc:
            headers.extend(exc.headers)
            if exc.status == 401:
                headers.append(("WWW-Authenticate", "Bearer"))
            response = Response(
                exc.status, error_body(exc.status, exc.message, request_id, exc.field)
            )
        except Exception:
            # The traceback goes to the server log only; the caller gets the id.
            logger.exception("unexpected failure handling request %s", request_id)
            response = Response(500, error_body(500, "internal server error", request_id))
        if response.body:
            headers.append(_JSON)
        headers.append(("Content-Length", str(len(response.body))))
        start_response(status_line(response.status), headers)
        _log_access(environ, method, path, response.status, len(response.body), started,
                    request_id, caller.id if caller is not None else "-")  # fmt: skip
        return [response.body] if response.body else []

    def _console(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        method: str,
        path: str,
        request_id: str,
        started: float,
    ) -> Iterable[bytes]:
        assert self.console is not None
        reply = self.console.answer(method, path)
        headers = [("X-Request-Id", request_id), *reply.headers]
        if not any(name == "Content-Length" for name, _ in headers):
            headers.append(("Content-Length", str(len(reply.body))))
        start_response(status_line(reply.status), headers)
        _log_access(environ, method, path, reply.status, len(reply.body), started, request_id, "-")
        return [reply.body] if reply.body else []

    def _authenticate(self, environ: dict[str, Any], request_id: str) -> TokenRecord:
        text = _token(environ)
        try:
            caller = self.tokens.authenticate(text)
        except CredentialsError as exc:
            raise _store_failure(exc, request_id) from exc
        if caller is None:
            raise HttpError(401, "unknown or revoked API token")
        return caller

    def _dispatch(
        self,
        environ: dict[str, Any],
        method: str,
        route: Route,
        captured: list[str],
        caller: TokenRecord | None,
        request_id: str,
    ) -> Response:
        params = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if caller is not None:
            # Before the body is read: a token refused outright costs no more.
            self.handlers.authorize(caller, route, captured, params, request_id)
            if not takes_body(route) and _has_body(environ):
                raise HttpError(400, f"a {method} to this route takes no request body")
        body = b""
        if method in ("POST", "PATCH", "PUT"):
            if _has_body(environ):
                _check_content_type(environ)
            body = _read_body(environ)
        request = Request(
            params=params,
            body=body,
            request_id=request_id,
            secure=_secure(environ),
            token_digest=digest(_token(environ)) if caller is not None else "",
            all_kinds=knows_every_kind(environ.get(KINDS_ENVIRON)),
        )
        handler = getattr(self.handlers, route.handler)
        try:
            response: Response = handler(caller, request, *captured)
        except CredentialsError as exc:
            raise _store_failure(exc, request_id) from exc
        return response


def _log_access(
    environ: dict[str, Any],
    method: str,
    path: str,
    status: int,
    size: int,
    started: float,
    request_id: str,
    token_id: str,
) -> None:
    if access_log.isEnabledFor(logging.INFO):
        access_log.info(
            '%s "%s %s" %d %d %.1fms id=%s token=%s',
            _logged(str(environ.get("REMOTE_ADDR", "-")), 64),
            _logged(method, MAX_LOGGED_METHOD),
            _logged(path, MAX_LOGGED_PATH),
            status,
            size,
            (time.perf_counter() - started) * 1000,
            request_id,
            token_id,
        )


def _store_failure(exc: CredentialsError, request_id: str) -> HttpError:
    error = store_error(exc)
    if error.status >= 500:
        logger.error("store failure in request %s: %s", request_id, exc)
    return error


def create_app(
    home: str | Path | None = None,
    *,
    key: bytes | None = None,
    database: str | None = None,
    key_file: Path | None = None,
    pool_size: int | None = None,
    console: bool = True,
    outbound: Outbound | None = None,
) -> ServerApp:
    """Build the WSGI application over the store in ``home`` or ``database``.

    Works as a factory for any WSGI server, e.g.
    ``gunicorn 'tilecred._server:create_app()'``.

    Parameters:
        home: the data directory; default ``TILECRED_HOME`` or the user data dir.
        key: the store's master key; default ``TILECRED_MASTER_KEY`` or the key file.
        database: a PostgreSQL store's ``postgresql://`` URL instead of ``home``;
            default ``TILECRED_DATABASE_URL`` when no ``home`` is given.
        key_file: the key file (a PostgreSQL store has none unless given).
        pool_size: the most database connections at once (PostgreSQL).
        console: serve the web console at ``/console/``.
        outbound: what the server may call out to; ``None`` (the default): nothing.

    Returns:
        The application; call ``close()`` when done.

    Raises:
        CredentialsError: the store cannot be opened.
    """
    import os

    from .._config import DATABASE_ENV, resolve_home
    from .._local import open_store

    if database is None and home is None:
        database = os.environ.get(DATABASE_ENV) or None
    store = open_store(
        database or resolve_home(home), key=key, key_file=key_file, pool_size=pool_size
    )
    return ServerApp(store, TokenStore(store), console=console, outbound=outbound)
