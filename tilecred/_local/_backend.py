"""The local backend: the operations on the store, for the client."""

from __future__ import annotations

import datetime
import os
from typing import TYPE_CHECKING

from .._backend import AuditQuery, ListQuery, Page, TokenSwitch
from .._config import DATABASE_ENV, Settings, resolve_home
from .._errors import CredentialsError
from .._models import (
    AccessCredential,
    Association,
    AuditRecord,
    CredentialCreateRequest,
    CredentialsVerifyRequest,
    CredentialUpdateRequest,
    Teamspace,
    TeamspaceCreateRequest,
    UsageSummary,
    iter_secrets,
)
from .._token_models import ApiToken, IssuedToken, TokenCreateRequest
from ._associations import use_detail
from ._audit import ACTIVATION, audited, describe_create, describe_update, local_actor
from ._open import open_store
from ._service import StoreBackend
from ._token_service import TokenService, api_token, issued_token
from ._views import teamspace_view

if TYPE_CHECKING:
    from .._live import LiveVerification

__all__ = ["LocalBackend"]


class _AsServed:
    """Gives a store error the ``code`` a server's error body would carry.

    ``tilecred serve`` sends the status as the code; the same failure must read
    the same on both backends.
    """

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, CredentialsError) and exc.code is None and exc.status is not None:
            exc.code = exc.status


_AS_SERVED = _AsServed()


def _any_host(host: str) -> None:
    del host


class LocalBackend:
    """Calls the store in ``settings.home`` (or ``TILECRED_DATABASE_URL``) for
    ``settings.workspace``.

    The workspace is created on first use. Teamspaces come into being on the
    first credential created in them; every other call naming one that does
    not exist is a ``NotFoundError``, as on a server. The store is reached
    through a :class:`StoreBackend`, as the server's handlers reach it.
    """

    def __init__(self, settings: Settings) -> None:
        # TILECRED_DATABASE_URL names a PostgreSQL store (a server's) to use
        # instead of the home directory's file, unless a home was given.
        database = (
            None if settings.sources.get("home") == "argument" else os.environ.get(DATABASE_ENV)
        )
        self.store = open_store(database or resolve_home(settings.home))
        self._workspace = settings.workspace or "default"
        self._actor = local_actor()
        self._service: StoreBackend | None = None
        self._tokens: TokenService | None = None

    def close(self) -> None:
        self.store.close()

    def service(self) -> StoreBackend:
        """The store, for this client's workspace and user (made on first use)."""
        if self._service is None:
            workspace_id = self.store.ensure_workspace(self._workspace).id
            self._service = StoreBackend(self.store, workspace_id, self._actor)
        return self._service

    def workspace_id(self) -> str:
        return self.service().workspace_id

    # -- the six operations -----------------------------------------------------

    def create(
        self, request: CredentialCreateRequest, teamspace: str | None, *, exist_ok: bool = False
    ) -> None:
        with _AS_SERVED:
            service = self.service()
            entry = service.entry("create", request.name, teamspace)
            entry.detail, entry.secrets = describe_create(request), tuple(iter_secrets(request))
            with audited(self.store, entry):
                if exist_ok:
                    service.create_or_same(request, teamspace, entry, make_teamspace=True)
                else:
                    service.create(request, teamspace, entry, make_teamspace=True)

    def get(self, name: str, teamspace: str | None) -> AccessCredential:
        with _AS_SERVED:
            service = self.service()
            return service.get(name, service.scope(teamspace))

    def list_page(
        self, query: ListQuery, page: int, per_page: int | None
    ) -> Page[AccessCredential]:
        with _AS_SERVED:
            service = self.service()
            return service.list_page(service.scope(query.teamspace), query, page, per_page)

    def update(self, name: str, request: CredentialUpdateRequest, teamspace: str | None) -> None:
        with _AS_SERVED:
            service = self.service()
            entry = service.entry("update", name, teamspace)
            entry.detail, entry.secrets = describe_update(request), tuple(iter_secrets(request))
            with audited(self.store, entry):
                service.update(name, request, service.scope(teamspace, entry), entry)

    def delete(self, name: str, teamspace: str | None) -> None:
        with _AS_SERVED:
            service = self.service()
            entry = service.entry("delete", name, teamspace)
            with audited(self.store, entry):
                service.delete(name, service.scope(teamspace, entry), entry)

    def verify(self, request: CredentialsVerifyRequest, teamspace: str | None) -> None:
        with _AS_SERVED:
            service = self.service()
            entry = service.entry("verify", request.name, teamspace)
            entry.secrets = tuple(iter_secrets(request))
            with audited(self.store, entry):
                # The teamspace is checked before the credential, as a server does.
                service.scope(teamspace, entry)
                service.verify(request)

    def verify_live(self, name: str, teamspace: str | None) -> LiveVerification:
        from ._outbound import verify_stored_live  # loads on first use

        with _AS_SERVED:
            service = self.service()
            entry = service.entry("verify.live", name, teamspace)
            with audited(self.store, entry):
                scope = service.scope(teamspace, entry)
                # The store's owner calls out from this process: no host limit.
                return verify_stored_live(service, name, scope, entry, allow=_any_host)

    # -- use and the audit log --------------------------------------------------

    def use(self, name: str, teamspace: str | None, purpose: str | None) -> AccessCredential:
        with _AS_SERVED:
            service = self.service()
            entry = service.entry("use", name, teamspace)
            entry.detail = entry.purpose = purpose
            with audited(self.store, entry):
                return service.use(name, service.scope(teamspace, entry), entry)

    def use_by(
        self, how: str, value: str, teamspace: str | None, purpose: str | None
    ) -> AccessCredential:
        with _AS_SERVED:
            service = self.service()
            entry = service.entry("use", None, teamspace)
            entry.detail = entry.purpose = use_detail(how, value, purpose)
            with audited(self.store, entry):
                return service.use_by(how, value, service.scope(teamspace, entry), entry)

    # -- associations ---------------------------------------------------------------

    def associate(
        self, name: str, target: str, teamspace: str | None, default: bool
    ) -> Association:
        with _AS_SERVED:
            service = self.service()
            entry = service.entry("association.create", name, teamspace)
            with audited(self.store, entry):
                return service.associate(
                    name, target, default, service.scope(teamspace, entry), entry
                )

    def dissociate(self, name: str, target: str, teamspace: str | None) -> None:
        with _AS_SERVED:
            service = self.service()
            entry = service.entry("association.delete", name, teamspace)
            with audited(self.store, entry):
                service.dissociate(name, target, service.scope(teamspace, entry), entry)

    def list_associations(
        self, name: str | None, target: str | None, teamspace: str | None
    ) -> list[Association]:
        with _AS_SERVED:
            service = self.service()
            return service.list_associations(service.scope(teamspace), name, target)

    def set_active(self, name: str, teamspace: str | None, active: bool) -> AccessCredential:
        with _AS_SERVED:
            service = self.service()
            entry = service.entry(ACTIVATION[active], name, teamspace)
            with audited(self.store, entry):
                return service.set_active(name, active, service.scope(teamspace, entry), entry)

    def audit(self, query: AuditQuery) -> list[AuditRecord]:
        return self.service().read_audit(query)

    def audit_summary(
        self, name: str, teamspace: str | None, since: datetime.datetime | None
    ) -> list[UsageSummary]:
        with _AS_SERVED:
            service = self.service()
            return service.usage(name, service.scope(teamspace), since)

    # -- teamspaces -----------------------------------------------------------------

    def create_teamspace(self, request: TeamspaceCreateRequest) -> Teamspace:
        with _AS_SERVED:
            record = self.service().create_teamspace(
                request.name, visibility=request.visibility, description=request.description
            )
        return teamspace_view(record)

    def list_teamspaces(self) -> list[Teamspace]:
        return [teamspace_view(record) for record in self.service().list_teamspaces()]

    # -- API tokens: the store's, in this client's workspace -------------------------

    def _token_service(self) -> tuple[TokenService, str]:
        workspace_id = self.workspace_id()
        if self._tokens is None:
            self._tokens = TokenService(self.store, self._actor, workspace_id)
        return self._tokens, workspace_id

    def create_token(self, request: TokenCreateRequest) -> IssuedToken:
        with _AS_SERVED:
            tokens, workspace_id = self._token_service()
            record, text = tokens.create(
                workspace_id, request.name, kind=request.kind, read_only=request.read_only,
                teamspace=request.teamspace_id, credentials=request.credentials,
                expires=request.expires_at, allow_missing=request.allow_missing,
            )  # fmt: skip
        return issued_token(record, text)

    def list_tokens(self) -> list[ApiToken]:
        tokens, workspace_id = self._token_service()
        return [api_token(record) for record in tokens.list(workspace_id)]

    def rename_token(self, token_id: str, name: str) -> ApiToken:
        with _AS_SERVED:
            tokens, workspace_id = self._token_service()
            return api_token(tokens.rename(token_id, name, workspace_id))

    def switch_token(self, token_id: str, action: TokenSwitch) -> ApiToken:
        with _AS_SERVED:
            tokens, workspace_id = self._token_service()
            return api_token(tokens.switch(action, token_id, workspace_id))

    def regenerate_token(self, token_id: str) -> IssuedToken:
        with _AS_SERVED:
            tokens, workspace_id = self._token_service()
            return issued_token(*tokens.regenerate(token_id, workspace_id))

    def revoke_token(self, token_id: str) -> None:
        with _AS_SERVED:
            tokens, workspace_id = self._token_service()
            tokens.switch("revoke", token_id, workspace_id)
