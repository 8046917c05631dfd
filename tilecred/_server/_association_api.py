"""The association routes, ``/tilecred/v1/associations/{workspace}``, and the use
route that lets an association choose: ``/tilecred/v1/credentials/{workspace}/use``.

Associating and dissociating change state: read-write management and admin
tokens (the route table says so). Any token may list; a task token sees only
its teamspace and its credentials. The chosen use is resolved here, on the
server, so a task token's limits hold for the credential actually chosen:
they are checked in the transaction that chooses and opens it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import msgspec

from .._arguments import check_name, check_purpose
from .._errors import InvalidArgumentError, PermissionDeniedError
from .._local._associations import use_detail
from .._local._audit import AuditEntry, audited
from .._models import AssociationListResponse, AssociationRequest, AssociationResponse
from .._targets import check_target, check_use_choice
from ._parsing import decode_body, invalid_request
from ._request import HttpError, Request, Response, first_param
from ._token_check import token_still_valid
from ._wire import delivered_credential_body

if TYPE_CHECKING:
    from .._local import Store, TeamspaceRecord, WorkspaceRecord
    from .._local._engine import Connection
    from .._local._service import StoreBackend
    from ._tokens import TokenRecord

__all__ = ["AssociationHandlers", "refuse_in_clear"]

_ENCODER = msgspec.json.Encoder()


def refuse_in_clear(request: Request) -> None:
    """Refuse (403) to hand a secret out over plain HTTP to another machine."""
    if not request.secure:
        raise HttpError(
            403,
            "secrets are delivered only over TLS or to a client on this machine: "
            "serve with --tls-cert and --tls-key, or call from a loopback address",
        )


def _param(request: Request, name: str) -> str | None:
    value = first_param(request.params, name)
    if value is None:
        return None
    try:
        return check_target(value, name) if name == "target" else check_name(value, name)
    except InvalidArgumentError as exc:
        raise invalid_request(exc, name) from exc


class AssociationHandlers:
    """The association routes' handlers; :class:`~tilecred._server._handlers.Handlers` has them."""

    store: Store
    # Kinds the use routes never hand out, and why (the Handlers' own).
    withheld_kinds: Mapping[tuple[str, str], str] = {}

    if TYPE_CHECKING:

        def _workspace(self, caller: TokenRecord, ident: str) -> WorkspaceRecord: ...

        def _scope(
            self,
            caller: TokenRecord,
            request: Request,
            service: StoreBackend,
            entry: AuditEntry | None = None,
        ) -> TeamspaceRecord | None: ...

        def _entry(
            self, caller: TokenRecord, request: Request, action: str, credential: str | None = None
        ) -> tuple[StoreBackend, AuditEntry]: ...

        @staticmethod
        def _limited(caller: TokenRecord, name: str, teamspace: TeamspaceRecord | None) -> str: ...

    def list_associations(self, caller: TokenRecord, request: Request, ws: str) -> Response:
        name, target = _param(request, "name"), _param(request, "target")
        service, entry = self._entry(caller, request, "association.list", name)
        with audited(self.store, entry, refusals_only=True):
            self._workspace(caller, ws)
            teamspace = self._scope(caller, request, service)
        # A task token held to credentials sees theirs only (by id).
        found = service.list_associations(teamspace, name, target, ids=caller.bound)
        return Response(200, _ENCODER.encode(AssociationListResponse(data=found)))

    def create_association(self, caller: TokenRecord, request: Request, ws: str) -> Response:
        service, entry = self._entry(caller, request, "association.create")
        with audited(self.store, entry):
            body = decode_body(request.body, AssociationRequest)
            entry.credential = body.name
            try:
                name, target = check_name(body.name), check_target(body.target)
            except InvalidArgumentError as exc:
                raise invalid_request(exc, "$") from exc
            self._workspace(caller, ws)
            teamspace = self._scope(caller, request, service, entry)
            made = service.associate(name, target, body.default, teamspace, entry)
        return Response(201, _ENCODER.encode(AssociationResponse(data=made)))

    def delete_association(self, caller: TokenRecord, request: Request, ws: str) -> Response:
        name, target = _param(request, "name"), _param(request, "target")
        service, entry = self._entry(caller, request, "association.delete", name)
        with audited(self.store, entry):
            if name is None or target is None:
                missing = "name" if name is None else "target"
                raise HttpError(
                    400, f"query parameter {missing} is required: the credential and the "
                    "target to dissociate", field=missing,
                )  # fmt: skip
            self._workspace(caller, ws)
            service.dissociate(name, target, self._scope(caller, request, service, entry), entry)
        return Response(204)

    def use_chosen_credential(self, caller: TokenRecord, request: Request, ws: str) -> Response:
        service, entry = self._entry(caller, request, "use")
        with audited(self.store, entry):
            params = request.params
            try:
                purpose = check_purpose(first_param(params, "purpose"))
                chosen = check_use_choice(
                    None, *(first_param(params, how) for how in ("url", "target", "provider"))
                )
            except InvalidArgumentError as exc:
                raise invalid_request(exc, "url") from exc
            assert chosen is not None  # no name: one of the three
            how, value = chosen
            entry.detail = entry.purpose = use_detail(how, value, purpose)
            refuse_in_clear(request)
            self._workspace(caller, ws)
            teamspace = self._scope(caller, request, service, entry)
            token_check = token_still_valid(caller, request.token_digest)
            bound = caller.bound

            def check(conn: Connection) -> None:
                # The store has chosen (entry.credential and its id); the
                # token's limits hold for that one, in the transaction that opens it.
                if bound is not None and entry.credential_id not in bound:
                    refusal = self._limited(caller, entry.credential or "", teamspace)
                    raise PermissionDeniedError(refusal, status=403)
                token_check(conn)

            cred = service.use_by(
                how, value, teamspace, entry, check=check, withheld=self.withheld_kinds
            )
        return Response(200, delivered_credential_body(cred))
