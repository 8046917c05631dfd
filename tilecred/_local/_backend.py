"""The local backend: the six operations on the store, for the client."""

from __future__ import annotations

import threading

from .._backend import AuditQuery, ListQuery, Page
from .._config import Settings, default_home
from .._errors import CredentialsError, NotFoundError
from .._models import (
    AccessCredential,
    AuditRecord,
    CredentialCreateRequest,
    CredentialsVerifyRequest,
    CredentialUpdateRequest,
    iter_secrets,
)
from ._audit import AuditEntry, audited, describe_create, describe_update, local_actor
from ._store import Store
from ._verify import verify_request

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


class LocalBackend:
    """Calls the store in ``settings.home`` for ``settings.workspace``.

    The workspace is created on first use. Teamspaces come into being on the
    first credential created in them; every other call naming one that does
    not exist is a ``NotFoundError``, as on a server. Names resolved to ids
    are cached: the store never deletes a workspace or a teamspace.
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
            # Worded as tilecred serve words it.
            raise NotFoundError(f"teamspace {teamspace!r} not found", status=404)
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
        with _AS_SERVED:
            entry = self._entry("create", request.name, teamspace, describe_create(request))
            entry.secrets = tuple(iter_secrets(request))
            with audited(self.store, entry):
                scope = None if teamspace is None else self.teamspace_id(teamspace) or teamspace
                self.store.create_credential(
                    entry.workspace_id, scope, request, create_teamspace=True, audit=entry
                )

    def get(self, name: str, teamspace: str | None) -> AccessCredential:
        with _AS_SERVED:
            scope = self._existing_scope(teamspace)
            return self.store.get_credential(self.workspace_id(), scope, name)

    def list_page(
        self, query: ListQuery, page: int, per_page: int | None
    ) -> Page[AccessCredential]:
        with _AS_SERVED:
            scope = self._existing_scope(query.teamspace)
            return self.store.list_credentials(self.workspace_id(), scope, query, page, per_page)

    def update(self, name: str, request: CredentialUpdateRequest, teamspace: str | None) -> None:
        with _AS_SERVED:
            entry = self._entry("update", name, teamspace, describe_update(request))
            entry.secrets = tuple(iter_secrets(request))
            with audited(self.store, entry):
                scope = self._existing_scope(teamspace)
                self.store.update_credential(entry.workspace_id, scope, name, request, audit=entry)

    def delete(self, name: str, teamspace: str | None) -> None:
        with _AS_SERVED:
            entry = self._entry("delete", name, teamspace)
            with audited(self.store, entry):
                scope = self._existing_scope(teamspace)
                self.store.delete_credential(entry.workspace_id, scope, name, audit=entry)

    def verify(self, request: CredentialsVerifyRequest, teamspace: str | None) -> None:
        with _AS_SERVED:
            entry = self._entry("verify", request.name, teamspace)
            entry.secrets = tuple(iter_secrets(request))
            with audited(self.store, entry):
                # The teamspace is checked before the credential, as a server does.
                self._existing_scope(teamspace)
                verify_request(request)

    # -- use and the audit log --------------------------------------------------

    def use(self, name: str, teamspace: str | None) -> AccessCredential:
        with _AS_SERVED:
            entry = self._entry("use", name, teamspace)
            with audited(self.store, entry):
                scope = self._existing_scope(teamspace)
                return self.store.use_credential(entry.workspace_id, scope, name, audit=entry)

    def audit(self, query: AuditQuery) -> list[AuditRecord]:
        return self.store.read_audit(self.workspace_id(), query)
