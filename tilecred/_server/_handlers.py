"""The operations behind each route, over the local store.

Every handler gets the caller's token record, the request and the segments
its route captured, and returns a :class:`Response` or raises
:class:`HttpError`. A workspace other than the token's is reported exactly as
a missing one (404), so a token cannot learn what else the server holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from .._arguments import check_name, check_provider, check_secret
from .._backend import ListQuery
from .._errors import CredentialsError, InvalidArgumentError
from .._limits import MAX_TEAMSPACE_NAME
from .._models import (
    CloudProvider,
    CredentialCreateRequest,
    CredentialsVerifyRequest,
    CredentialType,
    CredentialUpdateRequest,
    TeamspaceCreateRequest,
)
from ._request import HttpError, Request, Response, first_param
from ._tokens import TokenRecord
from ._wire import (
    credential_body,
    credentials_page_body,
    teamspace_body,
    teamspaces_body,
    workspace_body,
)

if TYPE_CHECKING:
    from .._local import Store, TeamspaceRecord, WorkspaceRecord

__all__ = ["DEFAULT_PER_PAGE", "MAX_PER_PAGE", "Handlers"]

T = TypeVar("T")

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000
VISIBILITIES = ("private", "public")

_MISSING_FIELD = re.compile(r"^Object missing required field `([^`]+)`")
_AT_PATH = re.compile(r" - at `(\$[^`]*)`$")
_SECRET_PATH = re.compile(r"(credential|role|token)(\.\w+)*")
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})

# One decoder per request model, built on first use and reused.
_DECODERS: dict[type, msgspec.json.Decoder[Any]] = {}

Verifier = Callable[[CredentialsVerifyRequest], None]


def decode_body(body: bytes, model: type[T]) -> T:
    """A request body as ``model``; a failure is a 400 naming the field's JSON path."""
    decoder = _DECODERS.get(model)
    if decoder is None:
        decoder = _DECODERS[model] = msgspec.json.Decoder(model)
    try:
        result: T = decoder.decode(body)
        return result
    except msgspec.ValidationError as exc:
        text = str(exc)
        at = _AT_PATH.search(text)
        path = at.group(1) if at else "$"
        message = text[: at.start()] if at else text
        missing = _MISSING_FIELD.match(message)
        if missing:
            path = f"{path}.{missing.group(1)}"
        raise HttpError(400, f"invalid request body: {text}", field=path) from exc
    except msgspec.DecodeError as exc:
        raise HttpError(400, f"request body is not valid JSON: {exc}") from exc


def check_request(
    body: CredentialCreateRequest | CredentialUpdateRequest | CredentialsVerifyRequest,
    *,
    required: bool,
) -> None:
    """The client's own argument checks, on a request that did not come through it."""
    try:
        if body.name is not None:
            check_name(body.name)
    except InvalidArgumentError as exc:
        raise _invalid(exc, "$.name") from exc
    try:
        check_secret(body.provider, body.credential, body.role, body.token, required=required)
    except InvalidArgumentError as exc:
        raise _invalid(exc, "$") from exc


def _invalid(exc: InvalidArgumentError, default_field: str) -> HttpError:
    # "credential.aws.secret_access_key is required" names its field; "give
    # only one of credential, role and token" is about the whole body.
    found = _SECRET_PATH.match(exc.message)
    field = "$." + found.group(0) if found and default_field == "$" else default_field
    return HttpError(400, f"invalid request: {exc.message}", field=field)


def _bool_param(request: Request, name: str) -> bool | None:
    value = first_param(request.params, name)
    if value is None:
        return None
    lowered = value.lower()
    # TileDB's client sends Python's str(bool): "True" / "False".
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise HttpError(400, f"query parameter {name} must be true or false, not {value!r}", field=name)


def _int_param(request: Request, name: str, default: int, *, maximum: int) -> int:
    value = first_param(request.params, name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= maximum:
        raise HttpError(
            400, f"query parameter {name} must be an integer from 1 to {maximum}, not {value!r}",
            field=name,
        )  # fmt: skip
    return number


def _providers_param(request: Request, name: str) -> tuple[CloudProvider, ...] | None:
    values = [v for raw in request.params.get(name, ()) for v in raw.split(",") if v]
    if not values:
        return None
    try:
        return tuple(check_provider(value, f"query parameter {name}") for value in values)
    except InvalidArgumentError as exc:
        raise HttpError(400, exc.message, field=name) from exc


def _type_param(request: Request) -> CredentialType | None:
    value = first_param(request.params, "type")
    if value is None or value == "":
        return None
    try:
        return CredentialType(value.lower())
    except ValueError:
        raise HttpError(
            400, f"query parameter type must be workspace or teamspace, not {value!r}", field="type"
        ) from None


class Handlers:
    """The route handlers over one store.

    Parameters:
        store: the local store.
        verifier: checks a credential's structure; raises ``CredentialsError``.
        openapi: the OpenAPI document, already encoded.
    """

    def __init__(self, store: Store, verifier: Verifier, openapi: bytes) -> None:
        self.store = store
        self.verifier = verifier
        self.openapi_document = openapi
        self._workspaces: dict[str, WorkspaceRecord] = {}

    # -- scopes -----------------------------------------------------------------

    def _workspace(self, caller: TokenRecord, ident: str) -> WorkspaceRecord:
        # Workspaces are never renamed or deleted, so one found by id or name
        # stays valid. A name that looks like an id is not kept: a workspace
        # with that id, made later, would take precedence over it.
        record = self._workspaces.get(ident)
        if record is None:
            record = self.store.find_workspace(ident)
            if record is not None and (record.id == ident or not ident.startswith("ws_")):
                self._workspaces[ident] = record
        if record is None or record.id != caller.workspace_id:
            # Another workspace's existence is nobody else's business.
            raise HttpError(404, f"workspace {ident!r} not found")
        return record

    def _teamspace(self, workspace: WorkspaceRecord, ident: str | None) -> TeamspaceRecord | None:
        if ident is None:
            return None
        record = self.store.find_teamspace(workspace.id, ident)
        if record is None:
            raise HttpError(404, f"teamspace {ident!r} not found in workspace {workspace.name!r}")
        return record

    def _scope(self, caller: TokenRecord, request: Request, ident: str) -> tuple[str, str | None]:
        workspace = self._workspace(caller, ident)
        teamspace = self._teamspace(workspace, first_param(request.params, "teamspace_id") or None)
        return workspace.id, None if teamspace is None else teamspace.id

    # -- public -----------------------------------------------------------------

    def healthz(self, caller: TokenRecord | None, request: Request) -> Response:
        return Response(200, b'{"status":"ok"}')

    def openapi(self, caller: TokenRecord | None, request: Request) -> Response:
        return Response(200, self.openapi_document)

    # -- credentials ------------------------------------------------------------

    def create_credential(self, caller: TokenRecord, request: Request, ws: str) -> Response:
        body = decode_body(request.body, CredentialCreateRequest)
        check_request(body, required=True)
        workspace_id, teamspace_id = self._scope(caller, request, ws)
        created = self.store.create_credential(workspace_id, teamspace_id, body)
        return Response(201, credential_body(created))

    def get_credential(self, caller: TokenRecord, request: Request, ws: str, name: str) -> Response:
        workspace_id, teamspace_id = self._scope(caller, request, ws)
        cred = self.store.get_credential(workspace_id, teamspace_id, name, with_secrets=False)
        return Response(200, credential_body(cred))

    def list_credentials(self, caller: TokenRecord, request: Request, ws: str) -> Response:
        page = _int_param(request, "page", 1, maximum=2**31 - 1)
        per_page = _int_param(request, "per_page", DEFAULT_PER_PAGE, maximum=MAX_PER_PAGE)
        provider = _providers_param(request, "provider")
        exclude = _providers_param(request, "excl_provider")
        credential_type = _type_param(request)
        verify = _bool_param(request, "verify")
        workspace_id, teamspace_id = self._scope(caller, request, ws)
        query = ListQuery(
            teamspace=teamspace_id,
            provider=provider,
            exclude_provider=exclude,
            credential_type=credential_type,
            verify=verify,
        )
        result = self.store.list_credentials(workspace_id, teamspace_id, query, page, per_page)
        return Response(200, credentials_page_body(result, per_page))

    def update_credential(
        self, caller: TokenRecord, request: Request, ws: str, name: str
    ) -> Response:
        body = decode_body(request.body, CredentialUpdateRequest)
        if all(getattr(body, field) is None for field in body.__struct_fields__):
            raise HttpError(400, "invalid request: nothing to update", field="$")
        check_request(body, required=False)
        workspace_id, teamspace_id = self._scope(caller, request, ws)
        updated = self.store.update_credential(workspace_id, teamspace_id, name, body)
        return Response(200, credential_body(updated))

    def delete_credential(
        self, caller: TokenRecord, request: Request, ws: str, name: str
    ) -> Response:
        workspace_id, teamspace_id = self._scope(caller, request, ws)
        self.store.delete_credential(workspace_id, teamspace_id, name)
        return Response(204)

    def verify_credential(self, caller: TokenRecord, request: Request) -> Response:
        body = decode_body(request.body, CredentialsVerifyRequest)
        check_request(body, required=True)
        # The workspace and teamspace named in the body are checked like a path's.
        workspace = self._workspace(caller, body.workspace_id or caller.workspace_id)
        self._teamspace(workspace, body.teamspace_id)
        self.verifier(body)
        return Response(200, b'{"data":{"status":"verified"}}')

    # -- teamspaces and workspaces ------------------------------------------------

    def create_teamspace(self, caller: TokenRecord, request: Request, ws: str) -> Response:
        body = decode_body(request.body, TeamspaceCreateRequest)
        try:
            check_name(body.name, "name", MAX_TEAMSPACE_NAME)
        except InvalidArgumentError as exc:
            raise _invalid(exc, "$.name") from exc
        if body.name.startswith("ts_"):
            raise HttpError(
                400, f"invalid request: teamspace name {body.name!r} must not start with 'ts_'",
                field="$.name",
            )  # fmt: skip
        if body.visibility not in VISIBILITIES:
            raise HttpError(
                400,
                f"invalid request: visibility must be private or public, not {body.visibility!r}",
                field="$.visibility",
            )
        workspace = self._workspace(caller, ws)
        record = self.store.create_teamspace(
            workspace.id, body.name, visibility=body.visibility, description=body.description
        )
        return Response(201, teamspace_body(record))

    def get_teamspace(self, caller: TokenRecord, request: Request, ws: str, ts: str) -> Response:
        record = self._teamspace(self._workspace(caller, ws), ts)
        assert record is not None
        return Response(200, teamspace_body(record))

    def list_teamspaces(self, caller: TokenRecord, request: Request, ws: str) -> Response:
        workspace = self._workspace(caller, ws)
        return Response(200, teamspaces_body(self.store.list_teamspaces(workspace.id)))

    def get_workspace(self, caller: TokenRecord, request: Request, ws: str) -> Response:
        workspace = self._workspace(caller, ws)
        return Response(
            200,
            workspace_body(
                workspace,
                caller_id=caller.id,
                caller_name=caller.name,
                caller_role="member" if caller.read_only else "admin",
                caller_since=caller.created_at,
            ),
        )


def store_error(exc: CredentialsError) -> HttpError:
    """The HTTP error for a store failure: its status, or 400 for a rejected argument."""
    if exc.status is not None and 400 <= exc.status < 500:
        return HttpError(exc.status, exc.message)
    if isinstance(exc, InvalidArgumentError):
        return HttpError(400, f"invalid request: {exc.message}")
    return HttpError(500, "the credential store failed; the server log has the details")
