"""The token routes, ``/tilecred/v1/tokens/{workspace}[/{token_id}[/…]]``: a
management token manages its workspace's API tokens (tilecred extension).

Read-only management tokens may only list; task tokens may do none of it
(the route table says so, :func:`~tilecred._server._tokens.refusal` refuses).
Only an admin token may issue a task token, or deactivate, activate,
regenerate or revoke a token other than itself; no token may issue an admin
token (that is done on the server's machine, ``tilecred token create --admin``).
Every change is audited (``token.create``, ``token.rename``, …) with the
caller as the actor, a refused or failed one too. A token's text is in the
answer to create and regenerate only, never in a listing, a log line, an
audit record or an error.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Literal, TypeVar, cast

import msgspec

from .._errors import InvalidArgumentError, PermissionDeniedError
from .._local._audit import AuditEntry, audited
from ._parsing import decode_body, invalid_request
from ._request import Response
from ._token_records import ADMIN, TASK, TokenRecord
from ._tokens import TokenStore, check_token_name

if TYPE_CHECKING:
    from .._local import Store, WorkspaceRecord
    from ._request import Request

__all__ = [
    "ApiToken",
    "IssuedToken",
    "IssuedTokenResponse",
    "TokenCreateRequest",
    "TokenHandlers",
    "TokenListResponse",
    "TokenRenameRequest",
    "TokenResponse",
]


_Kind = Literal["management", "admin", "task"]
_State = Literal["active", "inactive", "expired", "revoked"]


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
    kind: _Kind
    read_only: bool
    active: bool
    state: _State
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


class TokenListResponse(msgspec.Struct, kw_only=True):
    """The answer to a token listing: every token of the workspace, oldest first."""

    data: list[ApiToken]


class TokenResponse(msgspec.Struct, kw_only=True):
    """The answer to rename, deactivate and activate: the token as it is now."""

    data: ApiToken


class IssuedTokenResponse(msgspec.Struct, kw_only=True):
    """The answer to create and regenerate: the token and its new text."""

    data: IssuedToken


class TokenCreateRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Issue a token in the workspace of the path.

    A task token may be held to one teamspace (``teamspace_id``: id or name)
    and to named credentials of that teamspace (else of the workspace level),
    bound to their ids now; a name with no credential is refused unless
    ``allow_missing``. ``read_only`` is for management tokens. Only
    an admin token may ask for a task token; none may ask for an admin token.
    """

    name: str
    kind: _Kind = "management"
    read_only: bool = False
    teamspace_id: str | None = None
    credentials: list[str] | None = None
    expires_at: datetime.datetime | None = None
    allow_missing: bool = False


class TokenRenameRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A token's new name."""

    name: str


_ENCODER = msgspec.json.Encoder()


def _token(record: TokenRecord) -> ApiToken:
    return ApiToken(
        token_id=record.id, name=record.name, workspace_id=record.workspace_id,
        kind=cast(_Kind, record.kind), read_only=record.read_only, active=record.active,
        state=cast(_State, record.state), created_at=record.created_at,
        teamspace_id=record.teamspace_id,
        credentials=None if record.credentials is None else list(record.credentials),
        credential_ids=None if record.credential_ids is None
        else {n: list(i) for n, i in record.credential_ids.items()},
        expires_at=record.expires_at, last_used_at=record.last_used_at,
        revoked_at=record.revoked_at,
    )  # fmt: skip


def _issued(record: TokenRecord, text: str) -> bytes:
    issued = IssuedToken(**msgspec.structs.asdict(_token(record)), token=text)
    return _ENCODER.encode(IssuedTokenResponse(data=issued))


_Named = TypeVar("_Named", TokenCreateRequest, TokenRenameRequest)


def _named(body: bytes, model: type[_Named]) -> _Named:
    """A request body that names a token, its name checked (400 naming ``$.name``)."""
    request = decode_body(body, model)
    try:
        check_token_name(request.name)
    except InvalidArgumentError as exc:
        raise invalid_request(exc, "$.name") from exc
    return request


def _refuse_kind(caller: TokenRecord, kind: str) -> None:
    """Only an admin token issues task tokens; admin tokens come from the server's machine."""
    if kind == ADMIN:
        raise PermissionDeniedError(
            "an admin token is issued only on the server's machine, with "
            "`tilecred token create --admin`",
            status=403,
        )
    if kind == TASK and not caller.admin:
        raise PermissionDeniedError(
            "only an admin token can issue a task token, and this is a management token "
            "(`tilecred token create --admin` on the server's machine issues an admin token)",
            status=403,
        )


def _refuse_other(caller: TokenRecord, token_id: str, action: str) -> None:
    """Only an admin token switches off, on or re-keys a token other than itself."""
    if token_id != caller.id and not caller.admin:
        raise PermissionDeniedError(
            f"only an admin token can {action} another token, and this is a management "
            "token; a management token can do it to itself",
            status=403,
        )


class TokenHandlers:
    """The token routes' handlers; :class:`~tilecred._server._handlers.Handlers` has them."""

    store: Store

    if TYPE_CHECKING:

        def _workspace(self, caller: TokenRecord, ident: str) -> WorkspaceRecord: ...

    @property
    def _tokens(self) -> TokenStore:
        return TokenStore(self.store)

    def _token_entry(
        self, caller: TokenRecord, request: Request, action: str, token_id: str = ""
    ) -> AuditEntry:
        detail = f"token {token_id}" if token_id else None
        return AuditEntry(caller.actor, caller.workspace_id, action,
                          request_id=request.request_id, detail=detail)  # fmt: skip

    def list_tokens(self, caller: TokenRecord, request: Request, ws: str) -> Response:
        self._workspace(caller, ws)
        records = self._tokens.list(caller.workspace_id)
        return Response(200, _ENCODER.encode(TokenListResponse(data=[_token(r) for r in records])))

    def create_token(self, caller: TokenRecord, request: Request, ws: str) -> Response:
        entry = self._token_entry(caller, request, "token.create")
        with audited(self.store, entry):
            self._workspace(caller, ws)
            body = _named(request.body, TokenCreateRequest)
            _refuse_kind(caller, body.kind)
            record, text = self._tokens.create(
                caller.workspace_id, body.name, read_only=body.read_only, kind=body.kind,
                teamspace_id=body.teamspace_id, credentials=body.credentials,
                expires_at=body.expires_at, actor=caller.actor, request_id=request.request_id,
                allow_missing=body.allow_missing,
            )  # fmt: skip
            entry.recorded = True  # with the token, in its transaction
        return Response(201, _issued(record, text))

    def rename_token(self, caller: TokenRecord, request: Request, ws: str, ident: str) -> Response:
        entry = self._token_entry(caller, request, "token.rename", ident)
        with audited(self.store, entry):
            self._workspace(caller, ws)
            body = _named(request.body, TokenRenameRequest)
            record = self._tokens.rename(
                ident, body.name, workspace_id=caller.workspace_id, actor=caller.actor,
                request_id=request.request_id,
            )  # fmt: skip
            entry.recorded = True
        return Response(200, _ENCODER.encode(TokenResponse(data=_token(record))))

    def _switch(
        self, caller: TokenRecord, request: Request, ws: str, ident: str, action: str
    ) -> TokenRecord:
        entry = self._token_entry(caller, request, f"token.{action}", ident)
        with audited(self.store, entry):
            self._workspace(caller, ws)
            _refuse_other(caller, ident, action)
            record: TokenRecord = getattr(self._tokens, action)(
                ident, workspace_id=caller.workspace_id, actor=caller.actor,
                request_id=request.request_id,
            )  # fmt: skip
            entry.recorded = True
        return record

    def deactivate_token(
        self, caller: TokenRecord, request: Request, ws: str, ident: str
    ) -> Response:
        record = self._switch(caller, request, ws, ident, "deactivate")
        return Response(200, _ENCODER.encode(TokenResponse(data=_token(record))))

    def activate_token(
        self, caller: TokenRecord, request: Request, ws: str, ident: str
    ) -> Response:
        record = self._switch(caller, request, ws, ident, "activate")
        return Response(200, _ENCODER.encode(TokenResponse(data=_token(record))))

    def regenerate_token(
        self, caller: TokenRecord, request: Request, ws: str, ident: str
    ) -> Response:
        entry = self._token_entry(caller, request, "token.regenerate", ident)
        with audited(self.store, entry):
            self._workspace(caller, ws)
            _refuse_other(caller, ident, "regenerate")
            record, text = self._tokens.regenerate(
                ident, workspace_id=caller.workspace_id, actor=caller.actor,
                request_id=request.request_id,
            )  # fmt: skip
            entry.recorded = True
        return Response(200, _issued(record, text))

    def revoke_token(self, caller: TokenRecord, request: Request, ws: str, ident: str) -> Response:
        self._switch(caller, request, ws, ident, "revoke")
        return Response(204)
