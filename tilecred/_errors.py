"""The one error family every tilecred failure belongs to.

::

    CredentialsError(Exception)        .message .status .code .request_id .retryable .attempts
    ├── ConfigurationError             nothing usable configured, unreadable profile, bad key
    ├── InvalidArgumentError(ValueError)  rejected before any request was sent
    ├── AuthenticationError            401: no token, or one the server does not know
    ├── PermissionDeniedError          403: not allowed (token scope, or not allowed_in_tasks)
    ├── NotFoundError                  404: no such credential, teamspace or workspace
    ├── ConflictError                  409: name already in use
    ├── RateLimitError                 429: too many requests (retryable)
    ├── ServerError                    5xx: the server failed (retryable for 502, 503, 504)
    └── TransportError                 no answer: could not connect, dropped, timed out (retryable)
        └── RequestTimeoutError        no answer within the call's deadline
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "CredentialsError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
    "SecretExpiryWarning",
    "ServerError",
    "TransportError",
    "VerificationFailedError",
    "error_for_status",
    "scrub",
    "secret_forms",
]

# A message longer than this is cut: a server's message is one sentence, and
# anything longer is most likely a body echoed back to us.
_MAX_MESSAGE = 300
_WHITESPACE = re.compile(r"\s+")
# Secrets shorter than this are not scrubbed as substrings: replacing every "a"
# in a message would make it unreadable and protects nothing.
_MIN_SCRUB = 4
# A multi-line secret (a PEM key) is also scrubbed line by line, for lines at
# least this long: a message may quote part of it, or reflow it.
_MIN_PIECE = 8
_ELLIPSIS = "…"
# How a message may mark a value it cut short.
_CUT_MARKS = (_ELLIPSIS, "...")
MASK = "***"


# A path longer than this in a message too long is cut in its middle.
_MAX_PATH = 60


def _one_line(text: str) -> str:
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) > _MAX_MESSAGE:
        # Our long messages are long for their paths (a deep temporary
        # directory): cutting those in the middle keeps the remedy at the end.
        words = text.split(" ")
        text = " ".join(_short_path(word) if "/" in word else word for word in words)
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 1] + _ELLIPSIS
    return text


def _short_path(path: str) -> str:
    """``path`` with whole directories from its middle replaced by ``…``.

    Its first part and as much of its end as fit are kept, and no part is cut
    in two: a secret in a path is then either shown whole, and scrubbed, or
    not at all.
    """
    parts = path.split("/")
    # An absolute path keeps its first directory too ("/tmp"), a URL its host.
    first = 2 if parts[0] == "" else 1
    if parts[0].endswith(":") and parts[1:2] == [""]:
        first = 3
    if len(path) <= _MAX_PATH or len(parts) < first + 2:
        return path
    head, tail = "/".join(parts[:first]), [parts[-1]]
    for part in reversed(parts[first:-1]):
        if len(head) + len("/…/") + len("/".join([part, *tail])) > _MAX_PATH:
            break
        tail.insert(0, part)
    if len(tail) == len(parts) - first:
        return path
    return f"{head}/{_ELLIPSIS}/{'/'.join(tail)}"


def secret_forms(secret: str) -> Iterator[str]:
    """The ways a whole secret can appear in a message, longest first."""
    # As sent; quoted inside a JSON string (a body echoed back); percent-encoded
    # (a URL or form echoed back); and reflowed onto one line.
    yield secret
    yield from _json_forms(secret)
    yield from _url_forms(secret)
    yield _WHITESPACE.sub(" ", secret).strip()


def _pieces(secret: str) -> Iterator[str]:
    """Each long enough piece of a multi-line secret: a message may quote one line."""
    pieces = _WHITESPACE.sub(" ", secret).strip().split(" ")
    if len(pieces) > 1:
        yield from (piece for piece in pieces if len(piece) >= _MIN_PIECE)


def _json_forms(secret: str) -> Iterator[str]:
    """A secret inside a JSON string: as tilecred sends it, and ASCII-escaped."""
    import json  # only on the way to an error message

    try:
        as_sent = msgspec.json.encode(secret).decode()[1:-1]
    except (UnicodeError, msgspec.EncodeError):
        as_sent = None  # a lone surrogate: it was never sent in this form
    if as_sent is not None:
        yield as_sent
    yield json.dumps(secret)[1:-1]


def _url_forms(secret: str) -> Iterator[str]:
    """A secret percent-encoded, as in a path or query, and as in a form."""
    from urllib.parse import quote, quote_plus  # only on the way to an error message

    try:
        yield quote(secret, safe="")
        yield quote_plus(secret, safe="")
    except UnicodeError:
        return  # a lone surrogate: it cannot be in a URL


def _scrub_cut(text: str, secret: str) -> str:
    """``text`` with the start of ``secret`` scrubbed wherever it is cut short.

    A message (ours or the server's) may cut a value short and mark the cut
    with ``…`` or ``...``; the part before the mark is still the secret's.
    """
    start = secret[: len(secret) - 1].lower()
    for mark in _CUT_MARKS:
        at = text.find(mark)
        while at != -1:
            for size in range(min(len(start), at), _MIN_SCRUB - 1, -1):
                if text[at - size : at].lower() == start[:size]:
                    text = text[: at - size] + MASK + text[at:]
                    at += len(MASK) - size
                    break
            at = text.find(mark, at + len(mark))
    return text


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret in it replaced by ``***``.

    Secrets are matched in any case (a server may upper- or lower-case what it
    echoes), and the start of a secret cut short with ``…`` or ``...`` is
    scrubbed too.
    """
    for secret in secrets:
        if len(secret) < _MIN_SCRUB:
            continue
        for form in dict.fromkeys(secret_forms(secret)):
            # A form shorter than a secret may be (a secret of blanks reflowed
            # to nothing) would match everywhere.
            if len(form) >= _MIN_SCRUB:
                text = re.sub(re.escape(form), MASK, text, flags=re.IGNORECASE)
        # Pieces match in their own case only: a PEM key's "ENCRYPTED" line
        # piece must not take "encrypted" out of a sentence.
        for piece in _pieces(secret):
            text = text.replace(piece, MASK)
        text = _scrub_cut(text, secret)
    return text


class CredentialsError(Exception):
    """A credential operation failed.

    Attributes:
        message: what went wrong, as the server or the check said it.
        status: the HTTP status, or ``None`` when no response was received.
        code: the server's error code, when it sent one.
        request_id: the server's request id, when it sent one.
        action: what was being done (``"get credential"``), when known.
        name: the credential's name, when known.
        teamspace: the teamspace, when known.
        retryable: whether trying the same call again later can help.
        attempts: how many times the request was sent (0: never sent).
    """

    #: Whether trying again later can help, when the instance does not say.
    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | str | None = None,
        request_id: str | None = None,
        action: str | None = None,
        name: str | None = None,
        teamspace: str | None = None,
        retryable: bool | None = None,
        attempts: int = 0,
    ) -> None:
        self.message = _one_line(message)
        self.status = status
        self.code = code
        self.request_id = request_id
        self.action = action
        self.name = name
        self.teamspace = teamspace
        self.retryable = type(self).default_retryable if retryable is None else retryable
        self.attempts = attempts
        super().__init__(self.message)

    def __str__(self) -> str:
        parts: list[str] = []
        if self.action:
            subject = f"could not {self.action}"
            if self.name is not None:
                subject += f" {self.name!r}"
            if self.teamspace is not None:
                subject += f" in teamspace {self.teamspace!r}"
            parts.append(subject + ": ")
        if self.status is not None:
            parts.append(f"{self.status} {_reason(self.status)}: ")
        parts.append(self.message)
        if self.request_id:
            parts.append(f" (request id {self.request_id})")
        return "".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception's default pickling replays ``args`` only and would drop the
        # keyword-only fields; the instance dict carries all of them.
        return (type(self), (self.message,), self.__dict__.copy())

    def add_context(
        self,
        *,
        action: str,
        name: str | None = None,
        teamspace: str | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        """Say what was being done, and scrub values that must never print."""
        if self.action is None:
            self.action = action
            self.name = name if self.name is None else self.name
            self.teamspace = teamspace if self.teamspace is None else self.teamspace
        secrets = tuple(secrets)
        self.message = scrub(self.message, secrets)
        if isinstance(self.code, str):
            # A server's code is meant to be a number; a string one may echo anything.
            self.code = scrub(self.code, secrets)
        if self.request_id is not None:
            self.request_id = scrub(self.request_id, secrets)
        self.args = (self.message,)


class SecretExpiryWarning(UserWarning):
    """A secret being verified expires within 7 days (a warning, not an error).

    Issued by ``verify_credential`` with :mod:`warnings`; the command line
    prints it as ``warning: …``.
    """


class VerificationFailedError(CredentialsError):
    """``update_credential(..., verify_first=True)``: the new secret failed
    verification, so the credential was not changed (its status is the
    verification's, usually 422). ``verify_credential(name, live=True)``: the
    credential's service refused it; ``code`` is the service's own code and
    the message quotes its words."""


class ConfigurationError(CredentialsError):
    """Nothing usable is configured, or the configuration cannot be read."""


class InvalidArgumentError(CredentialsError, ValueError):
    """An argument was rejected before any request was sent."""


class AuthenticationError(CredentialsError):
    """No API token was sent, or the server does not know it (401)."""


class PermissionDeniedError(CredentialsError):
    """The caller may not do this (403): a read-only or task token, or a
    credential that is not ``allowed_in_tasks``."""


class NotFoundError(CredentialsError):
    """The credential, teamspace or workspace does not exist (404)."""


class ConflictError(CredentialsError):
    """The name is already in use (409)."""


class RateLimitError(CredentialsError):
    """The server asked to slow down (429); trying again later can help."""

    default_retryable = True


class ServerError(CredentialsError):
    """The server failed (5xx); 502, 503 and 504 are worth trying again."""


class TransportError(CredentialsError):
    """No usable answer: the connection failed or dropped; trying again can help."""

    default_retryable = True


class RequestTimeoutError(TransportError):
    """No answer arrived within the call's deadline."""


def _reason(status: int) -> str:
    # Imported here, on the error path: ``import tilecred`` stays cheap.
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_for_status(status: int, message: str, **fields: Any) -> CredentialsError:
    """Build the error of the right class for an HTTP status."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else CredentialsError
    if cls is ServerError and "retryable" not in fields:
        fields["retryable"] = status in _RETRYABLE_SERVER_STATUSES
    return cls(message, status=status, **fields)


_BY_STATUS: dict[int, type[CredentialsError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}
_RETRYABLE_SERVER_STATUSES = frozenset({502, 503, 504})
