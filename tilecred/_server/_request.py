"""A request as the handlers see it, their response, and the HTTP error."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from http import HTTPStatus

__all__ = ["HttpError", "Request", "Response", "first_param", "status_line"]


class HttpError(Exception):
    """A failure to report to the caller as a JSON error body.

    Parameters:
        status: the HTTP status.
        message: one line saying what failed and why; never a secret.
        field: the JSON path of the field at fault, for a validation error.
        headers: extra response headers (``Allow`` on a 405).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = tuple(headers)


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """One parsed request; ``params`` holds every value of each query parameter.

    ``secure``: the request came over TLS, or from this machine (loopback),
    so a secret in the answer crosses no network in clear. ``token_digest``:
    the SHA-256 digest of the caller's token (never the token), to check it
    again where a secret is opened. ``all_kinds``: the client said it reads
    tilecred's own kinds of credential (``_kinds.py``).
    """

    params: Mapping[str, Sequence[str]]
    body: bytes
    request_id: str
    secure: bool = False
    token_digest: str = ""
    all_kinds: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Response:
    """A status and an already-encoded JSON body (empty for 204)."""

    status: int
    body: bytes = b""


def status_line(status: int) -> str:
    """The WSGI status line, ``"404 Not Found"`` for ``404``."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Error"


def first_param(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    """The first value of a query parameter, or ``None`` when it is absent."""
    values = params.get(name)
    return values[0] if values else None
