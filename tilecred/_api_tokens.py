"""The module functions for API tokens and teamspaces, over the default client.

API tokens are tilecred's: ``tilecred serve`` checks them, and the local
store keeps the tokens a server on it would check. TileDB's hosted service
has none of tilecred's, so there these functions fail before anything is sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._api import get_client

if TYPE_CHECKING:
    import datetime
    from collections.abc import Iterable

    from ._models import Teamspace
    from ._token_models import ApiToken, IssuedToken, TokenKind

__all__ = [
    "activate_token",
    "create_teamspace",
    "create_token",
    "deactivate_token",
    "get_token",
    "list_teamspaces",
    "list_tokens",
    "regenerate_token",
    "rename_token",
    "revoke_token",
]


def create_teamspace(
    name: str, *, visibility: str = "private", description: str | None = None
) -> Teamspace:
    """Create a teamspace in the workspace, as ``tilecred teamspace create`` does.

    Parameters:
        name: the teamspace's name (not a ``ts_…`` id).
        visibility: ``"private"`` (default) or ``"public"``.
        description: what it is for.

    Returns:
        The teamspace as made, with its ``teamspace_id``.

    Raises:
        InvalidArgumentError: an argument is wrong; nothing was sent.
        ConflictError: the workspace has a teamspace of that name.
        CredentialsError: anything else went wrong.
    """
    return get_client().create_teamspace(name, visibility=visibility, description=description)


def list_teamspaces() -> list[Teamspace]:
    """The workspace's teamspaces, as ``tilecred teamspace list`` shows them.

    Raises:
        CredentialsError: the service or the store failed.
    """
    return get_client().list_teamspaces()


def create_token(
    name: str,
    *,
    kind: TokenKind = "management",
    read_only: bool = False,
    teamspace: object = None,
    credentials: Iterable[str] | None = None,
    expires: datetime.datetime | datetime.timedelta | None = None,
    allow_missing: bool = False,
) -> IssuedToken:
    """Issue an API token in the workspace: its text is in the answer, this once.

    The text is never stored (only its digest) and never shown again: keep
    ``.token`` where the program that will use it can read it. It is masked
    in the answer's ``repr``. Every issue, and every refusal, is audited.

    Parameters:
        name: a label for the token (printable, at most 200 characters).
        kind: ``"management"`` (create, update, delete, verify, list, get,
            read the audit log), ``"task"`` (list, get and use credentials) or
            ``"admin"`` (a management token that also decides which secrets
            tasks get). On ``tilecred serve`` only an admin token may issue a
            task token, and no token an admin token; on the local store
            (the server's machine) any may be issued.
        read_only: a management token that only reads.
        teamspace: a task token held to this teamspace (name or ``ts_…`` id).
        credentials: a task token held to the credentials of these names,
            bound now to their ids.
        expires: when the token stops working: an aware datetime, or a
            timedelta from now. Default: never.
        allow_missing: a name in ``credentials`` with no credential yet is
            bound to the first credential made under it (else refused).

    Returns:
        An ``IssuedToken``: the token's id, name, kind, limits and state, and
        its text in ``.token``.

    Raises:
        InvalidArgumentError: an argument is wrong; nothing was sent.
        PermissionDeniedError: the caller's token may not issue this kind.
        NotFoundError: the teamspace or a credential named does not exist.
        ConfigurationError: calls go to TileDB's service, which has none.
        CredentialsError: anything else went wrong.

    Examples:
        >>> issued = create_token("nightly", kind="task")
        >>> issued
        IssuedToken(token_id='tok_...', name='nightly', token='***')
        >>> issued.token.startswith("tc-ws_")
        True
    """
    return get_client().create_token(
        name, kind=kind, read_only=read_only, teamspace=teamspace, credentials=credentials,
        expires=expires, allow_missing=allow_missing,
    )  # fmt: skip


def list_tokens() -> list[ApiToken]:
    """The workspace's API tokens, revoked ones included, oldest first: never their text.

    On ``tilecred serve`` this needs a management or admin token.

    Raises:
        PermissionDeniedError: the caller's token may not list tokens.
        ConfigurationError: calls go to TileDB's service, which has none.
        CredentialsError: anything else went wrong.
    """
    return get_client().list_tokens()


def get_token(token_id: str) -> ApiToken:
    """One API token by its ``tok_…`` id (from the workspace's listing).

    Raises:
        InvalidArgumentError: ``token_id`` is not a token id; nothing was sent.
        NotFoundError: the workspace has no token of that id.
        CredentialsError: as for ``list_tokens``.
    """
    return get_client().get_token(token_id)


def rename_token(token_id: str, name: str) -> ApiToken:
    """Give an API token a new name; its text, kind and limits stay.

    Raises:
        InvalidArgumentError: an argument is wrong; nothing was sent.
        NotFoundError: the workspace has no live token of that id.
        CredentialsError: anything else went wrong.
    """
    return get_client().rename_token(token_id, name)


def deactivate_token(token_id: str) -> ApiToken:
    """Stop an API token working until it is activated again; the token as it is now.

    Deactivating the workspace's last token that can manage it is refused
    (``tilecred token deactivate --force`` on the server's machine can).
    On ``tilecred serve`` only an admin token may switch off another token.

    Raises:
        ConflictError: it is the last token that can manage the workspace.
        NotFoundError: the workspace has no live token of that id.
        PermissionDeniedError: the caller's token may not do this.
        CredentialsError: anything else went wrong.
    """
    return get_client().deactivate_token(token_id)


def activate_token(token_id: str) -> ApiToken:
    """Let a deactivated API token work again (an expired one stays expired).

    Raises:
        NotFoundError: the workspace has no live token of that id.
        PermissionDeniedError: the caller's token may not do this.
        CredentialsError: anything else went wrong.
    """
    return get_client().activate_token(token_id)


def regenerate_token(token_id: str) -> IssuedToken:
    """A new text for an API token, same id, name, kind and limits; the old text
    stops working at once. The new text is in ``.token``, this once.

    Raises:
        NotFoundError: the workspace has no live token of that id.
        PermissionDeniedError: the caller's token may not do this.
        CredentialsError: anything else went wrong.
    """
    return get_client().regenerate_token(token_id)


def revoke_token(token_id: str) -> None:
    """Stop an API token working, for good; it stays listed as revoked.

    Raises:
        ConflictError: it is the last token that can manage the workspace.
        NotFoundError: the workspace has no live token of that id.
        PermissionDeniedError: the caller's token may not do this.
        CredentialsError: anything else went wrong.
    """
    get_client().revoke_token(token_id)
