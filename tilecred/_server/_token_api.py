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

from typing import TYPE_CHECKING, TypeVar

import msgspec

from .._errors import InvalidArgumentError, PermissionDeniedError
from .._local._audit import AuditEntry, audited
from .._local._token_records import ADMIN, TASK, TokenRecord
from .._local._token_service import api_token as _token
from .._token_models import (
    ApiToken,
    IssuedToken,
    IssuedTokenResponse,
    TokenCreateRequest,
    TokenListResponse,
    TokenRenameRequest,
    TokenResponse,
)
from ._parsing import decode_body, invalid_request
from ._request import Response
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


_ENCODER = msgspec.json.Encoder()


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
