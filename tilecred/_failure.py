"""What a client call adds to a failure: what was being done, secrets scrubbed."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from ._errors import CredentialsError
from ._models import iter_secrets

if TYPE_CHECKING:
    from ._models import _Model

__all__ = ["HasSecrets", "_Failure"]


class HasSecrets(Protocol):
    """A client, as a failure sees it: the secrets to scrub from its message."""

    def _secrets(self) -> list[str]: ...


class _Failure:
    """Adds what was being done to a CredentialsError; wraps anything else.

    A class rather than ``contextlib.contextmanager``: it is on every call's
    path, and this is several times cheaper.
    """

    __slots__ = ("action", "client", "name", "request", "teamspace")

    def __init__(
        self,
        client: HasSecrets,
        action: str,
        name: str | None,
        teamspace: str | None,
        request: _Model | None = None,
    ) -> None:
        self.client = client
        self.action = action
        self.name = name
        self.teamspace = teamspace
        self.request = request

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or not isinstance(exc, Exception):
            return
        secrets = [*iter_secrets(self.request), *self.client._secrets()]
        if isinstance(exc, CredentialsError):
            exc.add_context(
                action=self.action, name=self.name, teamspace=self.teamspace, secrets=secrets
            )
            return
        # Nothing but CredentialsError leaves tilecred; the cause stays chained.
        error = CredentialsError(f"unexpected {type(exc).__name__}: {exc}")
        error.add_context(
            action=self.action, name=self.name, teamspace=self.teamspace, secrets=secrets
        )
        raise error from exc
