"""The client's API-token and teamspace methods (tilecred's extension for
tokens; TileDB's calls for teamspaces), after their arguments are checked.

On ``tilecred serve`` they call the token routes with the client's token;
on the local store they act on the store's tokens directly, audited as the
command line's ``tilecred token`` is. TileDB's hosted service has no API
tokens of tilecred's: there they fail before anything is sent.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._arguments import check_bool, check_description, check_teamspace, check_teamspace_name
from ._errors import InvalidArgumentError
from ._failure import _Failure
from ._models import Teamspace, TeamspaceCreateRequest
from ._token_arguments import (
    check_token_credentials,
    check_token_expiry,
    check_token_id,
    check_token_kind,
    check_token_name,
)
from ._token_models import ApiToken, IssuedToken, TokenCreateRequest, TokenKind

if TYPE_CHECKING:
    from ._backend import Backend, TokenSwitch

__all__ = ["TokenMethods"]

_VISIBILITIES = ("private", "public")


class TokenMethods:
    """API tokens and teamspaces, for :class:`~tilecred.Client`."""

    # Client's own; the methods below reach the backend and the secrets through them.
    def _get_backend(self) -> Backend:
        raise NotImplementedError

    def _secrets(self) -> list[str]:
        raise NotImplementedError

    def _failure(self, action: str, name: str | None = None) -> _Failure:
        return _Failure(self, action, name, None)

    # -- teamspaces -----------------------------------------------------------------

    def create_teamspace(
        self, name: str, *, visibility: str = "private", description: str | None = None
    ) -> Teamspace:
        """Create a teamspace in the workspace; see ``tilecred.create_teamspace``."""
        name = check_teamspace_name(name, "teamspace name")
        if visibility not in _VISIBILITIES:
            raise InvalidArgumentError(f"visibility must be private or public, not {visibility!r}")
        request = TeamspaceCreateRequest(
            name=name, visibility=visibility, description=check_description(description)
        )
        with self._failure("create teamspace", name):
            return self._get_backend().create_teamspace(request)

    def list_teamspaces(self) -> list[Teamspace]:
        """The workspace's teamspaces; see ``tilecred.list_teamspaces``."""
        with self._failure("list teamspaces"):
            return self._get_backend().list_teamspaces()

    # -- API tokens -------------------------------------------------------------------

    def create_token(
        self,
        name: str,
        *,
        kind: TokenKind = "management",
        read_only: bool = False,
        teamspace: object = None,
        credentials: Iterable[str] | None = None,
        expires: datetime.datetime | datetime.timedelta | None = None,
        allow_missing: bool = False,
    ) -> IssuedToken:
        """Issue an API token; see ``tilecred.create_token``."""
        check_token_name(name)
        check_token_kind(kind, read_only)
        scope = check_teamspace(teamspace)
        names = check_token_credentials(credentials)
        if kind != "task" and (scope is not None or names is not None):
            raise InvalidArgumentError(
                "only a task token is held to a teamspace or to named credentials"
            )
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        request = TokenCreateRequest(
            name=name, kind=kind, read_only=read_only, teamspace_id=scope,
            credentials=None if names is None else list(names),
            expires_at=check_token_expiry(expires, now),
            allow_missing=bool(check_bool(allow_missing, "allow_missing")),
        )  # fmt: skip
        with self._failure("create API token", name):
            return self._get_backend().create_token(request)

    def list_tokens(self) -> list[ApiToken]:
        """The workspace's API tokens; see ``tilecred.list_tokens``."""
        with self._failure("list API tokens"):
            return self._get_backend().list_tokens()

    def get_token(self, token_id: str) -> ApiToken:
        """One API token by id; see ``tilecred.get_token``."""
        from ._errors import NotFoundError

        ident = check_token_id(token_id)
        with self._failure("get API token", ident):
            found = next(
                (t for t in self._get_backend().list_tokens() if t.token_id == ident), None
            )
            if found is None:
                raise NotFoundError(f"no token with id {ident!r}", status=404, code=404)
            return found

    def rename_token(self, token_id: str, name: str) -> ApiToken:
        """Give an API token a new name; see ``tilecred.rename_token``."""
        ident = check_token_id(token_id)
        check_token_name(name)
        with self._failure("rename API token", ident):
            return self._get_backend().rename_token(ident, name)

    def deactivate_token(self, token_id: str) -> ApiToken:
        """Stop an API token working for now; see ``tilecred.deactivate_token``."""
        return self._switch(token_id, "deactivate")

    def activate_token(self, token_id: str) -> ApiToken:
        """Let a deactivated API token work again; see ``tilecred.activate_token``."""
        return self._switch(token_id, "activate")

    def _switch(self, token_id: str, action: TokenSwitch) -> ApiToken:
        ident = check_token_id(token_id)
        with self._failure(f"{action} API token", ident):
            return self._get_backend().switch_token(ident, action)

    def regenerate_token(self, token_id: str) -> IssuedToken:
        """A new text for an API token, same id; see ``tilecred.regenerate_token``."""
        ident = check_token_id(token_id)
        with self._failure("regenerate API token", ident):
            return self._get_backend().regenerate_token(ident)

    def revoke_token(self, token_id: str) -> None:
        """Stop an API token working, for good; see ``tilecred.revoke_token``."""
        ident = check_token_id(token_id)
        with self._failure("revoke API token", ident):
            self._get_backend().revoke_token(ident)
