"""The one way to the store for both its callers: the library and the server.

The local backend (one per client) and the server's handlers (one per
request) each make a :class:`StoreBackend` for a workspace and an actor, and
reach credentials only through it. So the same call meets the same checks in
the same order, the same teamspace lookup and its ``NotFoundError``, and the
same audit records, whichever way it came in. What only one caller has stays
with that caller: on the server, parsing a request, the path's workspace and
a token's limits; locally, whether a create makes its teamspace, and the
``code`` a server's error body would carry.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING

from .._backend import AuditQuery, ListQuery, Page
from .._errors import ConflictError, CredentialsError, NotFoundError
from .._limits import MAX_PER_PAGE
from .._models import (
    AccessCredential,
    Association,
    AuditRecord,
    CredentialCreateRequest,
    CredentialsVerifyRequest,
    CredentialUpdateRequest,
    UsageSummary,
)
from ._audit import AuditEntry
from ._same import same_credential
from ._verify import verify_request
from ._verify_cache import VerifyBudget

if TYPE_CHECKING:
    import datetime

    from ._engine import Connection
    from ._records import TeamspaceRecord
    from ._store import Store

__all__ = ["StoreBackend"]


class StoreBackend:
    """The credential operations on one workspace of a store, for one actor.

    Teamspaces are looked up by name or ``ts_…`` id, and found ones are kept:
    the store never renames or deletes a teamspace. Each operation takes the
    teamspace as :meth:`scope` found it, so a caller can check it in between
    (the server holds a task token to its teamspace).

    Parameters:
        store: the store.
        workspace_id: the workspace every operation acts in.
        actor: who acts, as the audit log records it.
        request_id: the request being served, for the audit log.
        hands_out: whether the actor may decide what tasks are handed: allow
            a credential in tasks, or change the provider or secret of one
            that is (the store's owner and admin tokens may; other management
            tokens may not).
    """

    def __init__(
        self, store: Store, workspace_id: str, actor: str, *, request_id: str | None = None,
        hands_out: bool = True,
    ) -> None:  # fmt: skip
        self.store = store
        self.workspace_id = workspace_id
        self.actor = actor
        self.request_id = request_id
        self.hands_out = hands_out
        self._teamspaces: dict[str, TeamspaceRecord] = {}

    def find_teamspace(self, ident: str) -> TeamspaceRecord | None:
        """The teamspace by name or id, or ``None`` when there is none (yet)."""
        record = self._teamspaces.get(ident)
        if record is None:
            record = self.store.find_teamspace(self.workspace_id, ident)
            if record is not None:
                self._teamspaces[ident] = record
        return record

    def scope(self, ident: str | None, entry: AuditEntry | None = None) -> TeamspaceRecord | None:
        """The teamspace a call names (``None``: the workspace level).

        A teamspace found is recorded in ``entry`` by name.

        Raises:
            NotFoundError: there is no such teamspace.
        """
        if ident is None:
            return None
        record = self.find_teamspace(ident)
        if record is None:
            raise NotFoundError(f"teamspace {ident!r} not found", status=404)
        if entry is not None:
            entry.teamspace = record.name
        return record

    def entry(
        self, action: str, credential: str | None = None, teamspace: str | None = None
    ) -> AuditEntry:
        """The audit record of an operation about to run, to fill in as it goes."""
        return AuditEntry(
            actor=self.actor,
            workspace_id=self.workspace_id,
            action=action,
            teamspace=teamspace,
            credential=credential,
            request_id=self.request_id,
        )

    # -- the operations ---------------------------------------------------------------

    def create(
        self,
        request: CredentialCreateRequest,
        teamspace: str | None,
        entry: AuditEntry,
        *,
        make_teamspace: bool = False,
    ) -> AccessCredential:
        """Store a credential; with ``make_teamspace``, a teamspace name not yet
        used becomes a teamspace in the same transaction (a ``ts_…`` id must exist).
        """
        found = None if teamspace is None else self.find_teamspace(teamspace)
        if found is None and not make_teamspace:
            found = self.scope(teamspace, entry)
        if found is not None:
            entry.teamspace = found.name
        return self.store.create_credential(
            self.workspace_id,
            teamspace if found is None else found.id,
            request,
            create_teamspace=make_teamspace,
            audit=entry,
            hands_out=self.hands_out,
        )

    def get(self, name: str, teamspace: TeamspaceRecord | None) -> AccessCredential:
        return self.store.get_credential(self.workspace_id, _id(teamspace), name)

    def create_or_same(
        self, request: CredentialCreateRequest, teamspace: str | None, entry: AuditEntry,
        *, make_teamspace: bool = False,
    ) -> AccessCredential:  # fmt: skip
        """Create, or find the identical credential there already (``exist_ok``).

        Raises:
            ConflictError: one by that name exists with other fields.
        """
        try:
            return self.create(request, teamspace, entry, make_teamspace=make_teamspace)
        except ConflictError:
            found = None if teamspace is None else self.find_teamspace(teamspace)
            stored = self.store.get_credential(
                self.workspace_id, _id(found), request.name, with_secrets=True
            )
            if not same_credential(stored, request):
                raise ConflictError(
                    f"credential {request.name!r} exists with other fields or another secret "
                    "(exist_ok lets only an identical one be created again)",
                    status=409,
                ) from None
        entry.detail = "exists already, identical (exist_ok)"
        return self.get(request.name, found)

    def list_page(
        self,
        teamspace: TeamspaceRecord | None,
        query: ListQuery,
        page: int,
        per_page: int | None,
        *,
        ids: Collection[str] | None = None,
        verify_budget: VerifyBudget | None = None,
        without_members: Collection[tuple[str, str]] = (),
    ) -> Page[AccessCredential]:
        """One page; ``ids`` keeps only those credentials (a task token's);
        ``verify_budget`` bounds the keys a verifying listing checks;
        ``without_members`` leaves out those kinds (container, member)."""
        if per_page is not None and per_page > MAX_PER_PAGE:
            raise CredentialsError(
                f"per_page must be at most {MAX_PER_PAGE}, not {per_page}", status=400
            )
        return self.store.list_credentials(
            self.workspace_id,
            _id(teamspace),
            page,
            per_page,
            provider=query.provider,
            exclude_provider=query.exclude_provider,
            credential_type=query.credential_type,
            ids=ids,
            verify=bool(query.verify),
            verify_budget=verify_budget,
            without_members=without_members,
        )

    def update(
        self,
        name: str,
        request: CredentialUpdateRequest,
        teamspace: TeamspaceRecord | None,
        entry: AuditEntry,
    ) -> AccessCredential:
        return self.store.update_credential(
            self.workspace_id, _id(teamspace), name, request, audit=entry,
            hands_out=self.hands_out,
        )  # fmt: skip

    def delete(self, name: str, teamspace: TeamspaceRecord | None, entry: AuditEntry) -> None:
        self.store.delete_credential(self.workspace_id, _id(teamspace), name, audit=entry)

    def verify(self, request: CredentialsVerifyRequest) -> None:
        """Check a credential's structure; the caller has found its scope first."""
        verify_request(request)

    def use(
        self,
        name: str,
        teamspace: TeamspaceRecord | None,
        entry: AuditEntry,
        *,
        check: Callable[[Connection], None] | None = None,
        only: Collection[str] | None = None,
        refusal: str = "",
        withheld: Mapping[tuple[str, str], str] | None = None,
        gated: bool = True,
    ) -> AccessCredential:
        """The credential with its secrets, if it is allowed in tasks (audited);
        ``check``, ``only`` and ``refusal`` work in the transaction that opens
        them (see the store's); ``withheld`` kinds (kind -> why) are refused;
        ``gated=False`` only for a live verification tilecred makes itself."""
        return self.store.use_credential(
            self.workspace_id, _id(teamspace), name, audit=entry, check=check, only=only,
            refusal=refusal, withheld=withheld, gated=gated,
        )  # fmt: skip

    def use_by(
        self,
        how: str,
        value: str,
        teamspace: TeamspaceRecord | None,
        entry: AuditEntry,
        *,
        check: Callable[[Connection], None] | None = None,
        withheld: Mapping[tuple[str, str], str] | None = None,
    ) -> AccessCredential:
        """Use the credential a URL, target or provider default chooses (audited;
        ``entry.credential`` names it before ``check`` runs)."""
        return self.store.use_by(
            self.workspace_id, _id(teamspace), how, value, audit=entry, check=check,
            withheld=withheld,
        )  # fmt: skip

    # -- associations -------------------------------------------------------------

    def associate(
        self, name: str, target: str, default: bool, teamspace: TeamspaceRecord | None,
        entry: AuditEntry,
    ) -> Association:  # fmt: skip
        return self.store.associate(
            self.workspace_id, _id(teamspace), name, target, default, audit=entry
        )

    def dissociate(
        self, name: str, target: str, teamspace: TeamspaceRecord | None, entry: AuditEntry
    ) -> None:
        self.store.dissociate(self.workspace_id, _id(teamspace), name, target, audit=entry)

    def list_associations(
        self,
        teamspace: TeamspaceRecord | None,
        name: str | None,
        target: str | None,
        *,
        ids: Collection[str] | None = None,
    ) -> list[Association]:
        return self.store.list_associations(
            self.workspace_id, _id(teamspace), name, target, ids=ids
        )

    def set_active(
        self, name: str, active: bool, teamspace: TeamspaceRecord | None, entry: AuditEntry
    ) -> AccessCredential:
        """Activate or deactivate a credential (audited in the same transaction)."""
        return self.store.set_credential_active(
            self.workspace_id, _id(teamspace), name, active, audit=entry
        )

    # -- teamspaces and the audit log -----------------------------------------------------

    def create_teamspace(
        self, name: str, *, visibility: str = "private", description: str | None = None
    ) -> TeamspaceRecord:
        return self.store.create_teamspace(
            self.workspace_id, name, visibility=visibility, description=description
        )

    def list_teamspaces(self) -> list[TeamspaceRecord]:
        return self.store.list_teamspaces(self.workspace_id)

    def read_audit(self, query: AuditQuery) -> list[AuditRecord]:
        return self.store.read_audit(self.workspace_id, query)

    def usage(
        self, name: str, teamspace: TeamspaceRecord | None, since: datetime.datetime | None
    ) -> list[UsageSummary]:
        return self.store.usage_summary(self.workspace_id, _id(teamspace), name, since)


def _id(teamspace: TeamspaceRecord | None) -> str | None:
    return None if teamspace is None else teamspace.id
