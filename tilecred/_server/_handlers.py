"""The operations behind each route, over the local store.

Every handler gets the caller's token record, the request and the segments its
route captured, and returns a :class:`Response` or raises :class:`HttpError`.
A workspace other than the token's is reported exactly as a missing one (404).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from .._arguments import (
    DEFAULT_PER_PAGE,
    MAX_PAGE,
    VISIBILITIES,
    check_purpose,
    check_teamspace_name,
)
from .._backend import DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT, AuditQuery, ListQuery
from .._errors import CredentialsError, InvalidArgumentError, NotFoundError
from .._local._audit import (
    ACTIVATION,
    AuditEntry,
    audited,
    describe_create,
    describe_update,
)
from .._local._service import StoreBackend
from .._models import (
    EXTENSION_MEMBERS,
    CredentialCreateRequest,
    CredentialsVerifyRequest,
    CredentialUpdateRequest,
    TeamspaceCreateRequest,
    iter_secrets,
)
from ._association_api import AssociationHandlers, refuse_in_clear
from ._kinds import KINDS_HEADER, extension_kind
from ._outbound import Outbound, exchange_for_task, verify_live_answer
from ._parsing import (
    bool_param,
    check_request,
    decode_body,
    int_param,
    invalid_request,
    providers_param,
    since_param,
    type_param,
)
from ._request import HttpError, Request, Response, first_param
from ._routes import Route
from ._token_api import TokenHandlers
from ._token_check import token_still_valid
from ._tokens import TASK, TokenRecord, refusal
from ._verify_allowance import VerifyAllowance
from ._wire import (
    audit_body,
    credential_body,
    credentials_page_body,
    delivered_credential_body,
    teamspace_body,
    teamspaces_body,
    usage_body,
    workspace_body,
)

if TYPE_CHECKING:
    from .._local import Store, TeamspaceRecord, WorkspaceRecord

__all__ = ["Handlers"]

T = TypeVar("T")

logger = logging.getLogger("tilecred.server")

# Kinds the use route never hands out, and why. An OAuth client's secret and
# refresh token stay on the server: a caller is to get only an access token,
# from an exchange the server makes when the operator lets it call out.
_WITHHELD = {
    ("credential", "oauth"): (
        "is an OAuth client, whose client secret and refresh token the server never hands "
        "out; the server-side token exchange needs tilecred serve --outbound, which this "
        "server does not have: use it from the local store instead"
    ),
}


class Handlers(TokenHandlers, AssociationHandlers):
    """The route handlers over one store (the token routes' from :class:`TokenHandlers`,
    the association routes' from :class:`AssociationHandlers`).

    Parameters:
        store: the local store.
        openapi: the OpenAPI document, already encoded.
        outbound: what the server may call out to (``--outbound``); ``None``: nothing.
    """

    # The by-URL use route withholds these even with --outbound (no exchange there yet).
    withheld_kinds = _WITHHELD

    def __init__(self, store: Store, openapi: bytes, *, outbound: Outbound | None = None) -> None:
        self.store = store
        self.outbound = outbound
        self.openapi_document = openapi
        self._workspaces: dict[str, WorkspaceRecord] = {}
        self._verify = VerifyAllowance()

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

    def _service(self, caller: TokenRecord, request: Request) -> StoreBackend:
        # A token acts in its own workspace only: the path's is checked against it.
        return StoreBackend(
            self.store, caller.workspace_id, caller.actor, request_id=request.request_id,
            hands_out=caller.admin,
        )  # fmt: skip

    def _scope(
        self,
        caller: TokenRecord,
        request: Request,
        service: StoreBackend,
        entry: AuditEntry | None = None,
    ) -> TeamspaceRecord | None:
        ident = _wanted_teamspace(caller, request.params)
        self._check_teamspace(caller, service, ident)
        return service.scope(ident, entry)

    @staticmethod
    def _check_teamspace(caller: TokenRecord, service: StoreBackend, ident: str | None) -> None:
        """Refuse (403) a teamspace outside a task token's one teamspace, before looking
        the named one up: the answer is the same whether it exists or not."""
        if caller.teamspace_id is None:
            return
        held = service.find_teamspace(caller.teamspace_id)
        if held is not None and ident in (held.id, held.name):
            return
        name = held.name if held is not None else caller.teamspace_id
        raise HttpError(
            403,
            f"this task token is limited to teamspace {name!r}: pass teamspace={name!r} "
            f"(--teamspace {name}), or none and the token uses its own",
        )

    @staticmethod
    def _limited(caller: TokenRecord, name: str, teamspace: TeamspaceRecord | None) -> str:
        """Why a task token held to credentials may not have this one: the same
        words whether it exists or not."""
        issued = ", ".join(repr(held) for held in caller.credentials or ())
        where = "at the workspace level" if teamspace is None else f"in {teamspace.name!r}"
        return (
            f"this task token is limited to the credentials it was issued for ({issued}, as "
            f"they were then), and {name!r} {where} is not one of them"
        )

    # -- the audit log ------------------------------------------------------------

    def _entry(
        self, caller: TokenRecord, request: Request, action: str, credential: str | None = None
    ) -> tuple[StoreBackend, AuditEntry]:
        service = self._service(caller, request)
        teamspace = _wanted_teamspace(caller, request.params)
        return service, service.entry(action, credential, teamspace)

    def authorize(
        self,
        caller: TokenRecord,
        route: Route,
        captured: Sequence[str],
        params: Mapping[str, Sequence[str]],
        request_id: str,
    ) -> None:
        """Refuse (audited) a token that may not call this route at all: 401 for a
        deactivated token (it authenticates nobody), else 403."""
        message = refusal(caller, route)
        if message is None:
            return
        named = "credentials" in route.pattern and len(captured) > 1
        entry = AuditEntry(
            actor=caller.actor,
            workspace_id=caller.workspace_id,
            action=route.action,
            teamspace=first_param(params, "teamspace_id") or None,
            credential=captured[1] if named else None,
            request_id=request_id,
        )
        try:
            self.store.append_audit(entry, "denied", message)
        except CredentialsError as exc:
            # The refusal stands either way.
            logger.error("request %s: could not record a refusal: %s", request_id, exc)
        raise HttpError(403 if caller.active else 401, message)

    # -- public -----------------------------------------------------------------

    def healthz(self, caller: TokenRecord | None, request: Request) -> Response:
        return Response(200, b'{"status":"ok"}')

    def openapi(self, caller: TokenRecord | None, request: Request) -> Response:
        return Response(200, self.openapi_document)

    # -- credentials ------------------------------------------------------------

    def create_credential(self, caller: TokenRecord, request: Request, ws: str) -> Response:
        service, entry = self._entry(caller, request, "create")
        with audited(self.store, entry):
            body = decode_body(request.body, CredentialCreateRequest)
            entry.credential, entry.detail = body.name, describe_create(body)
            entry.secrets = tuple(iter_secrets(body))
            check_request(body, required=True)
            self._workspace(caller, ws)
            teamspace = self._scope(caller, request, service, entry)
            ident = None if teamspace is None else teamspace.id
            if bool_param(request, "exist_ok"):
                created = service.create_or_same(body, ident, entry)
            else:
                created = service.create(body, ident, entry)
        return Response(201, credential_body(created))

    def get_credential(self, caller: TokenRecord, request: Request, ws: str, name: str) -> Response:
        service, entry = self._entry(caller, request, "get", name)
        with audited(self.store, entry, refusals_only=True):
            self._workspace(caller, ws)
            teamspace = self._scope(caller, request, service, entry)
            bound = caller.bound
            try:
                found = service.get(name, teamspace)
            except NotFoundError:
                if bound is None:
                    raise
                found = None
            if bound is not None and (found is None or found.id not in bound):
                raise HttpError(403, self._limited(caller, name, teamspace))
        assert found is not None  # else refused or raised above
        if not request.all_kinds and (kind := extension_kind(found)) is not None:
            raise HttpError(
                404,
                f"credential {name!r} is of tilecred's kind {kind}, which TileDB's client "
                f"cannot read: ask with the header {KINDS_HEADER}: all (tilecred's client does)",
            )
        return Response(200, credential_body(found))

    def list_credentials(self, caller: TokenRecord, request: Request, ws: str) -> Response:
        page = int_param(request, "page", 1, maximum=MAX_PAGE)
        per_page = int_param(request, "per_page", DEFAULT_PER_PAGE, maximum=MAX_PAGE)
        query = ListQuery(
            provider=providers_param(request, "provider"),
            exclude_provider=providers_param(request, "excl_provider"),
            credential_type=type_param(request),
            verify=bool_param(request, "verify"),
        )
        service, entry = self._entry(caller, request, "list")
        with audited(self.store, entry, refusals_only=True):
            self._verify.check(caller, wanted=bool(query.verify))
            self._workspace(caller, ws)
            teamspace = self._scope(caller, request, service)
        with self._verify.budget(caller.id, wanted=bool(query.verify)) as budget:
            result = service.list_page(  # a task token held to credentials sees only those
                teamspace,
                query,
                page,
                per_page,
                ids=caller.bound,
                verify_budget=budget,
                without_members=() if request.all_kinds else EXTENSION_MEMBERS,
            )
        return Response(200, credentials_page_body(result, per_page))

    def update_credential(
        self, caller: TokenRecord, request: Request, ws: str, name: str
    ) -> Response:
        service, entry = self._entry(caller, request, "update", name)
        with audited(self.store, entry):
            body = decode_body(request.body, CredentialUpdateRequest)
            entry.secrets = tuple(iter_secrets(body))
            if all(getattr(body, field) is None for field in body.__struct_fields__):
                raise HttpError(400, "invalid request: nothing to update", field="$")
            entry.detail = describe_update(body)
            check_request(body, required=False)
            self._workspace(caller, ws)
            teamspace = self._scope(caller, request, service, entry)
            updated = service.update(name, body, teamspace, entry)
        return Response(200, credential_body(updated))

    def delete_credential(
        self, caller: TokenRecord, request: Request, ws: str, name: str
    ) -> Response:
        service, entry = self._entry(caller, request, "delete", name)
        with audited(self.store, entry):
            self._workspace(caller, ws)
            service.delete(name, self._scope(caller, request, service, entry), entry)
        return Response(204)

    def verify_credential(self, caller: TokenRecord, request: Request) -> Response:
        service, entry = self._entry(caller, request, "verify")
        with audited(self.store, entry):
            body = decode_body(request.body, CredentialsVerifyRequest)
            entry.credential, entry.teamspace = body.name, body.teamspace_id
            entry.secrets = tuple(iter_secrets(body))
            check_request(body, required=True)
            # The workspace and teamspace named in the body are checked like a path's.
            self._workspace(caller, body.workspace_id or caller.workspace_id)
            service.scope(body.teamspace_id, entry)
            service.verify(body)
        return Response(200, b'{"data":{"status":"verified"}}')

    # -- tilecred's extensions: using a credential, the audit log -------------------

    def use_credential(self, caller: TokenRecord, request: Request, ws: str, name: str) -> Response:
        service, entry = self._entry(caller, request, "use", name)
        with audited(self.store, entry):
            entry.detail = entry.purpose = check_purpose(first_param(request.params, "purpose"))
            refuse_in_clear(request)
            self._workspace(caller, ws)
            teamspace = self._scope(caller, request, service, entry)
            # Checked again where the secret is opened: the token may have
            # been revoked, deactivated or regenerated since the request came in.
            check = token_still_valid(caller, request.token_digest)
            cred = service.use(name, teamspace, entry, check=check, only=caller.bound,
                               refusal=self._limited(caller, name, teamspace),
                               withheld=_WITHHELD if self.outbound is None else None)  # fmt: skip
        if self.outbound is not None and cred.credential is not None and cred.credential.oauth:
            # The server makes the exchange: the task gets the access token only.
            cred = exchange_for_task(self.outbound, service, teamspace, cred)
        return Response(200, delivered_credential_body(cred))

    def verify_credential_live(
        self, caller: TokenRecord, request: Request, ws: str, name: str
    ) -> Response:
        service = self._service(caller, request)

        def scope(entry: AuditEntry) -> TeamspaceRecord | None:
            self._workspace(caller, ws)
            return self._scope(caller, request, service, entry)

        check = token_still_valid(caller, request.token_digest, "verify_credential_live")
        return verify_live_answer(self.outbound, service, name, scope, check, request.request_id)

    def deactivate_credential(
        self, caller: TokenRecord, request: Request, ws: str, name: str
    ) -> Response:
        return self._set_active(caller, request, ws, name, active=False)

    def activate_credential(
        self, caller: TokenRecord, request: Request, ws: str, name: str
    ) -> Response:
        return self._set_active(caller, request, ws, name, active=True)

    def _set_active(
        self, caller: TokenRecord, request: Request, ws: str, name: str, *, active: bool
    ) -> Response:
        service, entry = self._entry(caller, request, ACTIVATION[active], name)
        with audited(self.store, entry):
            self._workspace(caller, ws)
            teamspace = self._scope(caller, request, service, entry)
            cred = service.set_active(name, active, teamspace, entry)
        return Response(200, credential_body(cred))

    def read_audit(self, caller: TokenRecord, request: Request, ws: str) -> Response:
        credential = first_param(request.params, "credential") or None
        query = AuditQuery(
            credential=credential,
            since=since_param(request),
            limit=int_param(request, "limit", DEFAULT_AUDIT_LIMIT, maximum=MAX_AUDIT_LIMIT),
        )
        self._workspace(caller, ws)
        return Response(200, audit_body(self._service(caller, request).read_audit(query)))

    def audit_summary(self, caller: TokenRecord, request: Request, ws: str) -> Response:
        name = first_param(request.params, "credential")
        if not name:
            raise HttpError(
                400, "query parameter credential is required: the credential's name",
                field="credential",
            )  # fmt: skip
        since = since_param(request)
        self._workspace(caller, ws)
        service = self._service(caller, request)
        teamspace = self._scope(caller, request, service)
        return Response(200, usage_body(service.usage(name, teamspace, since)))

    # -- teamspaces and workspaces ------------------------------------------------

    def create_teamspace(self, caller: TokenRecord, request: Request, ws: str) -> Response:
        body = decode_body(request.body, TeamspaceCreateRequest)
        try:
            check_teamspace_name(body.name)
        except InvalidArgumentError as exc:
            raise invalid_request(exc, "$.name") from exc
        if body.visibility not in VISIBILITIES:
            raise HttpError(
                400,
                f"invalid request: visibility must be private or public, not {body.visibility!r}",
                field="$.visibility",
            )
        self._workspace(caller, ws)
        record = self._service(caller, request).create_teamspace(
            body.name, visibility=body.visibility, description=body.description
        )
        return Response(201, teamspace_body(record))

    def get_teamspace(self, caller: TokenRecord, request: Request, ws: str, ts: str) -> Response:
        self._workspace(caller, ws)
        service = self._service(caller, request)
        self._check_teamspace(caller, service, ts)
        record = service.scope(ts)
        assert record is not None
        return Response(200, teamspace_body(record))

    def list_teamspaces(self, caller: TokenRecord, request: Request, ws: str) -> Response:
        self._workspace(caller, ws)
        records = self._service(caller, request).list_teamspaces()
        if caller.teamspace_id is not None:
            # A token held to one teamspace does not learn the others' names.
            records = [record for record in records if record.id == caller.teamspace_id]
        return Response(200, teamspaces_body(records))

    def get_workspace(self, caller: TokenRecord, request: Request, ws: str) -> Response:
        workspace = self._workspace(caller, ws)
        return Response(
            200,
            workspace_body(
                workspace,
                caller_id=caller.id,
                caller_name=caller.name,
                # Only a read-write management or admin token administers the workspace.
                caller_role="member" if caller.read_only or caller.kind == TASK else "admin",
                caller_since=caller.created_at,
            ),
        )


def store_error(exc: CredentialsError) -> HttpError:
    """The HTTP error for a store failure: its status, or 400 for a rejected argument."""
    if exc.status is not None and 400 <= exc.status < 500:
        return HttpError(exc.status, exc.message)
    if exc.status in (501, 502):
        # A call out: the library it needs is missing, or its service was not reached.
        return HttpError(exc.status, exc.message)
    if exc.status == 503:
        # The database is unreachable (a restart, a dropped connection) or
        # stayed busy: the next request gets a fresh connection.
        return HttpError(
            503,
            "the credential store is unavailable; try again shortly",
            headers=[("Retry-After", "1")],
        )
    if isinstance(exc, InvalidArgumentError):
        return HttpError(400, f"invalid request: {exc.message}")
    return HttpError(500, "the credential store failed; the server log has the details")


def _wanted_teamspace(caller: TokenRecord, params: Mapping[str, Sequence[str]]) -> str | None:
    """The teamspace a request names; a task token held to one uses it when none is named."""
    named = first_param(params, "teamspace_id") or None
    return caller.teamspace_id if named is None else named
