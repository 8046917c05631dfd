"""The local backend: the six operations on the store, for the client."""

from __future__ import annotations

import threading

from .._backend import AuditQuery, ListQuery, Page
from .._config import Settings, default_home
from .._errors import NotFoundError
from .._models import (
    AccessCredential,
    AuditRecord,
    CredentialCreateRequest,
    CredentialsVerifyRequest,
    CredentialUpdateRequest,
    iter_secrets,
)
from ._audit import AuditEntry, audited, describe_create, describe_update, local_actor
from ._store import DEFAULT_PER_PAGE, Store
from ._verify import verify_request

__all__ = ["LocalBackend"]


class LocalBackend:
    """Calls the store in ``settings.home`` for ``settings.workspace``.

    The workspace is created on first use. Teamspaces come into being on the
    first credential written into them; reading from one that does not exist
    finds nothing. Names resolved to ids are cached: the store never deletes
    a workspace or a teamspace.
    """

    def __init__(self, settings: Settings) -> None:
        self.store = Store(settings.home or default_home())
        self._workspace = settings.workspace or "default"
        self._workspace_id: str | None = None
        self._teamspace_ids: dict[str, str] = {}
        self._lock = threading.Lock()
        self._actor = local_actor()

    def close(self) -> None:
        self.store.close()

    def workspace_id(self) -> str:
        if self._workspace_id is None:
            self._workspace_id = self.store.ensure_workspace(self._workspace).id
        return self._workspace_id

    def teamspace_id(self, teamspace: str) -> str | None:
        """The teamspace's id, or ``None`` when it does not exist (yet)."""
        ident = self._teamspace_ids.get(teamspace)
        if ident is None:
            found = self.store.find_teamspace(self.workspace_id(), teamspace)
            if found is None:
                return None
            ident = found.id
            with self._lock:
                self._teamspace_ids[teamspace] = ident
        return ident

    def _existing_scope(self, teamspace: str | None) -> str | None:
        if teamspace is None:
            return None
        ident = self.teamspace_id(teamspace)
        if ident is None:
            raise NotFoundError("credential not found", status=404)
        return ident

    def _entry(
        self, action: str, name: str, teamspace: str | None, detail: str | None = None
    ) -> AuditEntry:
        workspace_id = self.workspace_id()
        if teamspace is not None and teamspace.startswith("ts_"):
            # Recorded by name, as the server records it.
            found = self.store.find_teamspace(workspace_id, teamspace)
            teamspace = teamspace if found is None else found.name
        return AuditEntry(
            actor=self._actor,
            workspace_id=workspace_id,
            action=action,
            teamspace=teamspace,
            credential=name,
            detail=detail,
        )

    # -- the six operations -----------------------------------------------------

    def create(self, request: CredentialCreateRequest, teamspace: str | None) -> None:
        entry = self._entry("create", request.name, teamspace, describe_create(request))
        entry.secrets = tuple(iter_secrets(request))
        with audited(self.store, entry):
            scope = None if teamspace is None else self.teamspace_id(teamspace) or teamspace
            self.store.create_credential(
                entry.workspace_id, scope, request, create_teamspace=True, audit=entry
            )

    def get(self, name: str, teamspace: str | None) -> AccessCredential:
        return self.store.get_credential(self.workspace_id(), self._existing_scope(teamspace), name)

    def list_page(
        self, query: ListQuery, page: int, per_page: int | None
    ) -> Page[AccessCredential]:
        scope = None
        if query.teamspace is not None:
            scope = self.teamspace_id(query.teamspace)
            if scope is None:
                return Page([], page, per_page or DEFAULT_PER_PAGE, 0, 0)
        return self.store.list_credentials(self.workspace_id(), scope, query, page, per_page)

    def update(self, name: str, request: CredentialUpdateRequest, teamspace: str | None) -> None:
        entry = self._entry("update", name, teamspace, describe_update(request))
        entry.secrets = tuple(iter_secrets(request))
        with audited(self.store, entry):
            scope = self._existing_scope(teamspace)
            self.store.update_credential(entry.workspace_id, scope, name, request, audit=entry)

    def delete(self, name: str, teamspace: str | None) -> None:
        entry = self._entry("delete", name, teamspace)
        with audited(self.store, entry):
            scope = self._existing_scope(teamspace)
            self.store.delete_credential(entry.workspace_id, scope, name, audit=entry)

    def verify(self, request: CredentialsVerifyRequest, teamspace: str | None) -> None:
        entry = self._entry("verify", request.name, teamspace)
        entry.secrets = tuple(iter_secrets(request))
        with audited(self.store, entry):
            verify_request(request)

    # -- use and the audit log --------------------------------------------------

    def use(self, name: str, teamspace: str | None) -> AccessCredential:
        entry = self._entry("use", name, teamspace)
        with audited(self.store, entry):
            scope = self._existing_scope(teamspace)
            return self.store.use_credential(entry.workspace_id, scope, name, audit=entry)

    def audit(self, query: AuditQuery) -> list[AuditRecord]:
        return self.store.read_audit(self.workspace_id(), query)
