"""The one error family every tilecred failure belongs to.

::

    CredentialsError(Exception)            .message .status .code .request_id .name .teamspace
    ├── ConfigurationError                 nothing usable configured, unreadable profile, bad key
    ├── InvalidArgumentError(ValueError)   rejected before any request was sent
    ├── NotFoundError                      404: no such credential, teamspace or workspace
    └── ConflictError                      409: name already in use
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

__all__ = [
    "ConfigurationError",
    "ConflictError",
    "CredentialsError",
    "InvalidArgumentError",
    "NotFoundError",
    "error_for_status",
]

# A message longer than this is cut: a server's message is one sentence, and
# anything longer is most likely a body echoed back to us.
_MAX_MESSAGE = 300
_WHITESPACE = re.compile(r"\s+")
# Secrets shorter than this are not scrubbed as substrings: replacing every "a"
# in a message would make it unreadable and protects nothing.
_MIN_SCRUB = 4


def _one_line(text: str) -> str:
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 1] + "…"
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
    """

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
    ) -> None:
        self.message = _one_line(message)
        self.status = status
        self.code = code
        self.request_id = request_id
        self.action = action
        self.name = name
        self.teamspace = teamspace
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
        for secret in secrets:
            if len(secret) >= _MIN_SCRUB and secret in self.message:
                self.message = self.message.replace(secret, "***")
        self.args = (self.message,)


class ConfigurationError(CredentialsError):
    """Nothing usable is configured, or the configuration cannot be read."""


class InvalidArgumentError(CredentialsError, ValueError):
    """An argument was rejected before any request was sent."""


class NotFoundError(CredentialsError):
    """The credential, teamspace or workspace does not exist (404)."""


class ConflictError(CredentialsError):
    """The name is already in use (409)."""


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_for_status(status: int, message: str, **fields: Any) -> CredentialsError:
    """Build the error of the right class for an HTTP status."""
    cls: type[CredentialsError] = CredentialsError
    if status == HTTPStatus.NOT_FOUND:
        cls = NotFoundError
    elif status == HTTPStatus.CONFLICT:
        cls = ConflictError
    return cls(message, status=status, **fields)
