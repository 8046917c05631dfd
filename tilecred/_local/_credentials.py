"""The store's credential operations: create, get, list, update, delete, use, activate.

Each is one transaction; a write that loses a race with another instance
(PostgreSQL) runs again (:func:`~._engine.retrying`).
"""

from __future__ import annotations

import functools
import math
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import msgspec

from .._arguments import DEFAULT_PER_PAGE
from .._backend import Page
from .._errors import ConflictError, CredentialsError, PermissionDeniedError
from .._models import (
    AccessCredential,
    CloudProvider,
    CredentialCreateRequest,
    CredentialType,
    CredentialUpdateRequest,
)
from ._audit import (
    AuditEntry,
    deactivated,
    insert_audit,
    not_allowed_in_tasks,
    not_handed_out,
    with_last_use,
)
from ._core import _COLUMNS, _conflict, _expiry, _not_found, _now, _row_aad
from ._credrows import CredentialRows
from ._engine import Connection, retrying
from ._keys import Cipher
from ._listing import Filter, PageKeys, read_page
from ._records import from_micros
from ._rows import UNPROCESSABLE, Secret, join_secret, the_secret
from ._token_scope import bind_pending
from ._verify_cache import VerifyBudget

__all__ = ["Credentials"]


class Credentials(CredentialRows):
    """The credential operations."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._page_keys = PageKeys()

    # -- credentials --------------------------------------------------------------

    @retrying
    def create_credential(
        self,
        workspace_id: str,
        teamspace_id: str | None,
        request: CredentialCreateRequest,
        *,
        create_teamspace: bool = False,
        audit: AuditEntry | None = None,
        hands_out: bool = True,
    ) -> AccessCredential:
        """Store a new credential, its secrets sealed.

        Parameters:
            workspace_id: the workspace's id.
            teamspace_id: ``None`` for workspace level, else the teamspace's id;
                with ``create_teamspace``, a name or id, and a name not yet in
                use becomes a new teamspace in the same transaction.
            request: what to store.
            audit: the audit record to append in the same transaction.
            hands_out: whether the caller may allow it in tasks.

        Raises:
            ConflictError: the name is in use in that scope, or another writer
                made a credential the provider's default meanwhile.
            NotFoundError: the workspace or teamspace does not exist.
            CredentialsError: the request holds no usable secret (422).
            PermissionDeniedError: ``allowed_in_tasks`` without ``hands_out``.
        """
        if request.allowed_in_tasks and not hands_out:
            raise not_handed_out(request.name, "allow it in tasks")
        secret = self._checked_secret(request)
        with self._transaction(write=True) as conn:
            self._require_workspace(conn, workspace_id)
            teamspace = self._scope(conn, workspace_id, teamspace_id, create=create_teamspace)
            cipher = functools.partial(self._current_cipher, conn, sealing=True)
            row = self._insert_credential(conn, workspace_id, teamspace, request, secret, cipher)
            bind_pending(conn, workspace_id, teamspace, request.name, row[0])
            if audit is not None:
                audit.credential_id = row[0]
                insert_audit(conn, audit, "ok", at=from_micros(row[10]))
        return self._credential(row)

    @staticmethod
    def _checked_secret(request: CredentialCreateRequest) -> Secret:
        """The request's secret, refused (422) unless it is usable for its provider."""
        secret = the_secret(request, required=True)
        assert secret is not None  # required=True
        secret.check_provider(request.provider)
        return secret

    def _insert_credential(
        self,
        conn: Connection,
        workspace_id: str,
        teamspace: str | None,
        request: CredentialCreateRequest,
        secret: Secret,
        cipher: Callable[[], Cipher],
    ) -> tuple[Any, ...]:
        """Insert one credential in the caller's write transaction; its row
        (the secret not in it). The workspace and teamspace must exist, and
        ``secret`` be :meth:`_checked_secret`'s for ``request``; ``cipher`` is
        asked for only if there is a secret to seal.

        Raises:
            ConflictError: the name is in use in that scope.
        """
        public, hidden = secret.split()
        expires = _expiry(secret)
        if self._credential_row(conn, workspace_id, teamspace, request.name) is not None:
            raise _conflict()
        ident, now = "cr_" + uuid.uuid4().hex, _now()
        sealed = None
        if hidden is not None:
            aad = _row_aad(
                workspace_id, teamspace, request.name, ident, bool(request.allowed_in_tasks)
            )
            sealed = cipher().seal(hidden, aad)
        default = bool(request.provider_default)
        if default:
            self._clear_default(conn, workspace_id, teamspace, request.provider, now)
        row = (ident, teamspace, request.name, request.provider.value, default,
               bool(request.allowed_in_tasks), secret.kind, secret.member, public, sealed, now,
               now, True, expires, request.description or None)  # fmt: skip
        with self._default_race(request.provider):
            conn.execute(
                f"INSERT INTO credentials (workspace_id, scope, {_COLUMNS})"  # noqa: S608
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (workspace_id, teamspace or "", *row),
            )
        return (*row[:9], None, *row[10:])

    def get_credential(
        self,
        workspace_id: str,
        teamspace_id: str | None,
        name: str,
        *,
        with_secrets: bool = False,
    ) -> AccessCredential:
        """One credential; its secret fields ``None`` unless ``with_secrets``.

        Raises:
            NotFoundError: no credential by that name in that scope.
        """
        # The key check and the secret must be read from one snapshot.
        with self._transaction(write=False, snapshot=with_secrets) as conn:
            row = self._credential_row(conn, workspace_id, teamspace_id, name)
            if row is None:
                raise _not_found()
            opened = (
                self._open_secret(functools.partial(self._current_cipher, conn), workspace_id, row)
                if with_secrets
                else None
            )
            (found,) = with_last_use(conn, [self._credential(row, opened)])
        return found

    def list_credentials(
        self,
        workspace_id: str,
        teamspace_id: str | None,
        page: int = 1,
        per_page: int | None = None,
        *,
        provider: Sequence[CloudProvider] | None = None,
        exclude_provider: Sequence[CloudProvider] | None = None,
        credential_type: CredentialType | None = None,
        names: Sequence[str] | None = None,
        ids: Collection[str] | None = None,
        verify: bool = False,
        verify_budget: VerifyBudget | None = None,
        without_members: Collection[tuple[str, str]] = (),
    ) -> Page[AccessCredential]:
        """One page of a scope's credentials, by name, with the listing's totals.

        Parameters:
            provider: only these providers (``None`` or empty: any).
            exclude_provider: none of these providers.
            credential_type: only workspace-level or only teamspace credentials.
            names: only credentials with these names (``None``: any).
            ids: only credentials with these ids (``None``: any).
            without_members: leave out credentials holding these kinds
                (container, member), in the query: the totals count only
                what the listing can return.
            verify: fill each credential's ``status`` with whether it passes
                :func:`verify_request`.
            verify_budget: how many private keys with no kept result ``verify``
                may check (a credential past it has no ``status``); no bound
                when ``None``.
        """
        size = DEFAULT_PER_PAGE if per_page is None else per_page
        chosen = Filter.of(
            workspace_id,
            teamspace_id,
            provider=provider,
            exclude_provider=exclude_provider,
            credential_type=credential_type,
            names=names,
            ids=ids,
            without_members=without_members,
        )
        with self._transaction(write=False) as conn:
            total, rows = read_page(conn, self._page_keys, chosen, (page - 1) * size, size)
            items = [self._credential(row) for row in rows]
            if verify:
                # One read of the key check for the whole page, not one per row.
                cipher = functools.cache(functools.partial(self._current_cipher, conn))
                budget = verify_budget or VerifyBudget()
                items = [
                    msgspec.structs.replace(
                        item, status=self._status(cipher, workspace_id, row, budget)
                    )
                    for item, row in zip(items, rows, strict=True)
                ]
            items = with_last_use(conn, items)
        return Page(items, page, size, math.ceil(total / size), total)

    @retrying
    def update_credential(
        self,
        workspace_id: str,
        teamspace_id: str | None,
        name: str,
        request: CredentialUpdateRequest,
        *,
        audit: AuditEntry | None = None,
        hands_out: bool = True,
    ) -> AccessCredential:
        """Change a credential in one transaction; ``id`` and ``created_at`` stay.

        ``audit``, when given, is appended to the audit log in that transaction.
        Without ``hands_out``, the caller may not allow the credential in tasks,
        nor change the provider or secret of one that is: that would decide
        what a task is handed (an Azure SAS token goes to its blob endpoint).

        Raises:
            NotFoundError: no credential by that name in that scope.
            ConflictError: the new name is in use in that scope, or another writer
                made a credential the provider's default meanwhile.
            CredentialsError: the new provider and the secret do not fit (422).
            PermissionDeniedError: a change that needs ``hands_out``.
        """
        if request.allowed_in_tasks and not hands_out:
            raise not_handed_out(name, "allow it in tasks")
        new_secret = the_secret(request, required=False)
        with self._transaction(write=True) as conn:
            row = self._credential_row(conn, workspace_id, teamspace_id, name)
            if row is None:
                raise _not_found()
            (ident, teamspace, _, old_provider, default, allowed,
             kind, member, public, sealed, created, updated, active, expires,
             description) = row  # fmt: skip
            if allowed and not hands_out and (new_secret or request.provider):
                raise not_handed_out(name, "change the provider or secret of a credential "
                                     "allowed in tasks")  # fmt: skip
            provider = request.provider or CloudProvider(old_provider)
            if new_secret is not None:
                new_secret.check_provider(provider)
            elif provider.value != old_provider:
                stored = join_secret(kind, member, public, None)
                if stored.provider is not provider:
                    raise CredentialsError(
                        f"provider {provider.value} does not fit the stored {stored.path}: "
                        "give a new secret with the new provider",
                        status=UNPROCESSABLE,
                    )
            new_name = name if request.name is None else request.name
            if new_name != name and self._credential_row(conn, workspace_id, teamspace, new_name):
                raise _conflict()
            was_allowed = bool(allowed)
            if request.allowed_in_tasks is not None:
                allowed = request.allowed_in_tasks
            aad = _row_aad(workspace_id, teamspace, new_name, ident, bool(allowed))
            cipher = functools.cache(functools.partial(self._current_cipher, conn, sealing=True))
            if new_secret is not None:
                kind, member = new_secret.kind, new_secret.member
                public, hidden = new_secret.split()
                sealed = None if hidden is None else cipher().seal(hidden, aad)
                expires = _expiry(new_secret)
            elif sealed is not None and (new_name != name or bool(allowed) != was_allowed):
                # The name and allowed_in_tasks are bound into the sealed
                # value: seal it anew.
                opened = self._open_secret(cipher, workspace_id, row)
                assert opened is not None  # sealed is not None
                sealed = cipher().seal(opened, aad)
            if request.provider_default is not None:
                if request.provider_default and not active:
                    raise ConflictError(
                        f"credential {name!r} is deactivated, so it cannot be the "
                        f"{provider.value} default: activate it first",
                        status=409,
                    )
                default = request.provider_default
            if request.description is not None:
                description = request.description or None  # "" removes it
            # updated_at always moves forward, even within one clock tick.
            now = max(_now(), updated + 1)
            if default:
                self._clear_default(conn, workspace_id, teamspace, provider, now)
            with self._default_race(provider):
                conn.execute(
                "UPDATE credentials SET name = ?, provider = ?, provider_default = ?,"
                " allowed_in_tasks = ?, kind = ?, member = ?, public = ?, secret = ?,"
                " updated_at = ?, expires_at = ?, description = ? WHERE id = ?",
                (new_name, provider.value, bool(default), bool(allowed), kind, member, public,
                 sealed, now, expires, description, ident),
            )  # fmt: skip
            if audit is not None:
                audit.credential_id = ident
                insert_audit(conn, audit, "ok", at=from_micros(now))
        return self._credential(
            (ident, teamspace, new_name, provider.value, default, allowed, kind, member, public,
             None, created, now, active, expires, description),
        )  # fmt: skip

    @retrying
    def delete_credential(
        self,
        workspace_id: str,
        teamspace_id: str | None,
        name: str,
        *,
        audit: AuditEntry | None = None,
    ) -> None:
        """Delete a credential (``audit`` appended in the same transaction).

        Raises:
            NotFoundError: no credential by that name in that scope.
        """
        with self._transaction(write=True) as conn:
            deleted = conn.execute(
                "DELETE FROM credentials WHERE workspace_id = ? AND scope = ? AND name = ?"
                " RETURNING id",
                (workspace_id, teamspace_id or "", name),
            ).fetchall()  # to the end: the statement is finished before the next one
            if not deleted:
                raise _not_found()
            if audit is not None:
                audit.credential_id = deleted[0][0]
                insert_audit(conn, audit, "ok")
        self._fold_wal()

    @retrying
    def use_credential(
        self,
        workspace_id: str,
        teamspace_id: str | None,
        name: str,
        *,
        audit: AuditEntry,
        check: Callable[[Connection], None] | None = None,
        only: Collection[str] | None = None,
        refusal: str = "",
        withheld: Mapping[tuple[str, str], str] | None = None,
        gated: bool = True,
    ) -> AccessCredential:
        """The credential with its secrets, through the gate, its use audited.

        The secret is opened, and ``audit`` appended, in one write transaction:
        no secret leaves the store without its record. ``check`` runs first in
        that transaction and refuses by raising (the server checks the
        caller's token again there). With ``only``, a credential whose id is
        not in it, or none, is refused with ``refusal`` (a task token held to
        the credentials it was issued for: a missing one looks the same).

        Parameters:
            withheld: kinds (container, member) this caller may not be handed,
                each with the reason the refusal gives.
            gated: refuse a credential not ``allowed_in_tasks``; ``False`` only
                where the secret stays with the store's owner (a live verification
                that tilecred itself makes), never when it is handed out.

        Raises:
            NotFoundError: no credential by that name in that scope.
            PermissionDeniedError: the credential is not ``allowed_in_tasks``,
                or not in ``only``, or its kind is withheld.
        """
        with self._transaction(write=True) as conn:
            row = self._credential_row(conn, workspace_id, teamspace_id, name)
            if only is not None and (row is None or row[0] not in only):
                raise PermissionDeniedError(refusal, status=403)
            if row is None:
                raise _not_found()
            return self._use_row(conn, workspace_id, row, audit, check, withheld, gated)

    def _use_row(
        self,
        conn: Connection,
        workspace_id: str,
        row: tuple[Any, ...],
        audit: AuditEntry,
        check: Callable[[Connection], None] | None,
        withheld: Mapping[tuple[str, str], str] | None = None,
        gated: bool = True,
    ) -> AccessCredential:
        """Open a found row's secret through the gate, in the caller's write
        transaction, and append the use's record there."""
        name = row[2]
        audit.credential_id = row[0]  # a refusal below is recorded against it too
        if not row[12]:  # active: a deactivated credential is never used
            raise deactivated(name, *self._scope_names(conn, workspace_id, row[1]))
        if gated and not row[5]:  # allowed_in_tasks: the gate, the same on every backend
            raise not_allowed_in_tasks(name)
        if check is not None:
            check(conn)
        why = (withheld or {}).get((row[6], row[7]))  # kind, member
        if why is not None:
            raise PermissionDeniedError(f"credential {name!r} {why}", status=403)
        opened = self._open_secret(functools.partial(self._current_cipher, conn), workspace_id, row)
        insert_audit(conn, audit, "ok")
        return self._credential(row, opened)

    @retrying
    def set_credential_active(
        self,
        workspace_id: str,
        teamspace_id: str | None,
        name: str,
        active: bool,
        *,
        audit: AuditEntry | None = None,
    ) -> AccessCredential:
        """Activate or deactivate a credential (``audit`` appended in the same transaction).

        Deactivating the provider's default also makes it no longer the default
        (``detail`` says so): a default that cannot be used would mislead
        whoever picks credentials by that flag. Activating does not make it
        the default again. Doing either twice changes nothing the second time.

        Raises:
            NotFoundError: no credential by that name in that scope.
        """
        with self._transaction(write=True) as conn:
            row = self._credential_row(conn, workspace_id, teamspace_id, name)
            if row is None:
                raise _not_found()
            was_active, default, updated = bool(row[12]), bool(row[4]), row[11]
            now, detail = updated, "already " + ("active" if active else "deactivated")
            if was_active != active:
                now = max(_now(), updated + 1)
                cleared = default and not active
                detail = ("activated" if active else "deactivated") + (
                    "; no longer the provider default" if cleared else ""
                )
                default = default and active
                conn.execute(
                    "UPDATE credentials SET active = ?, provider_default = ?, updated_at = ?"
                    " WHERE id = ?",
                    (active, default, now, row[0]),
                )
            if audit is not None:
                audit.credential_id = row[0]
                insert_audit(conn, audit, "ok", detail, at=from_micros(now))
        return self._credential((*row[:4], default, *row[5:11], now, active, *row[13:]))
