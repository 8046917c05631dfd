"""API tokens as the token routes and the library show them: never their text,
but once, when one is issued or regenerated.
"""

import datetime
from typing import Any, Literal

import msgspec

__all__ = [
    "ApiToken",
    "IssuedToken",
    "IssuedTokenResponse",
    "TokenCreateRequest",
    "TokenKind",
    "TokenListResponse",
    "TokenRenameRequest",
    "TokenResponse",
    "TokenState",
]

TokenKind = Literal["management", "admin", "task"]
TokenState = Literal["active", "inactive", "expired", "revoked"]


class ApiToken(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An API token as the token routes show it: never its text.

    ``state`` is ``active``, ``inactive`` (deactivated), ``expired`` or
    ``revoked``, the first that holds. ``teamspace_id`` and ``credentials``
    are a task token's limits; absent, it has none. ``credentials`` are the
    names it was issued with; ``credential_ids`` the ids each was bound to
    then (an empty list: the first credential made under that name), which
    are what it may use.
    """

    token_id: str
    name: str
    workspace_id: str
    kind: TokenKind
    read_only: bool
    active: bool
    state: TokenState
    created_at: datetime.datetime
    teamspace_id: str | None = None
    credentials: list[str] | None = None
    credential_ids: dict[str, list[str]] | None = None
    expires_at: datetime.datetime | None = None
    last_used_at: datetime.datetime | None = None
    revoked_at: datetime.datetime | None = None


class IssuedToken(ApiToken, kw_only=True):
    """A token just created or regenerated, with its text: shown this once."""

    token: str

    def __repr__(self) -> str:
        return f"IssuedToken(token_id={self.token_id!r}, name={self.name!r}, token='***')"

    __str__ = __repr__

    def __rich_repr__(self) -> list[tuple[str, str]]:
        # msgspec's own would yield every field, the text included.
        return [("token_id", self.token_id), ("name", self.name), ("token", "***")]

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython's pretty printer looks here before __repr__.
        printer.text(repr(self))


class TokenListResponse(msgspec.Struct, kw_only=True):
    """The answer to a token listing: every token of the workspace, oldest first."""

    data: list[ApiToken]


class TokenResponse(msgspec.Struct, kw_only=True):
    """The answer to rename, deactivate and activate: the token as it is now."""

    data: ApiToken


class IssuedTokenResponse(msgspec.Struct, kw_only=True):
    """The answer to create and regenerate: the token and its new text."""

    data: IssuedToken


class TokenCreateRequest(
    msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """Issue a token in the workspace of the path.

    A task token may be held to one teamspace (``teamspace_id``: id or name)
    and to named credentials of that teamspace (else of the workspace level),
    bound to their ids now; a name with no credential is refused unless
    ``allow_missing``. ``read_only`` is for management tokens. Only
    an admin token may ask for a task token; none may ask for an admin token.
    """

    name: str
    kind: TokenKind = "management"
    read_only: bool = False
    teamspace_id: str | None = None
    credentials: list[str] | None = None
    expires_at: datetime.datetime | None = None
    allow_missing: bool = False


class TokenRenameRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A token's new name."""

    name: str
