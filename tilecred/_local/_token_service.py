"""API tokens for local callers, audited: the library's local backend and
``tilecred token`` both act through this one service.

A change that succeeds records itself, in its own transaction (the token
store writes the record with the change); one that is refused or fails
changed nothing, but the attempt is recorded all the same, as the server's
token routes record it. The record goes to the token's workspace, else to
the one the caller named, else to ``fallback_workspace``.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, cast

import msgspec

from .._errors import NotFoundError
from .._token_models import ApiToken, IssuedToken, TokenKind, TokenState
from ._audit import AuditEntry, audited, local_actor
from ._token_records import TokenRecord
from ._tokens import TokenStore

if TYPE_CHECKING:
    from ._store import Store

__all__ = ["SWITCHES", "TokenService", "api_token", "issued_token"]

# The lifecycle changes that switch a token off, on or out, by action name.
SWITCHES = ("deactivate", "activate", "revoke")


def api_token(record: TokenRecord) -> ApiToken:
    """A token as the routes and the library show it: never its text."""
    return ApiToken(
        token_id=record.id, name=record.name, workspace_id=record.workspace_id,
        kind=cast(TokenKind, record.kind), read_only=record.read_only, active=record.active,
        state=cast(TokenState, record.state), created_at=record.created_at,
        teamspace_id=record.teamspace_id,
        credentials=None if record.credentials is None else list(record.credentials),
        credential_ids=None if record.credential_ids is None
        else {n: list(i) for n, i in record.credential_ids.items()},
        expires_at=record.expires_at, last_used_at=record.last_used_at,
        revoked_at=record.revoked_at,
    )  # fmt: skip


def issued_token(record: TokenRecord, text: str) -> IssuedToken:
    """A token just issued or regenerated, with its text: shown this once."""
    return IssuedToken(**msgspec.structs.asdict(api_token(record)), token=text)


class TokenService:
    """The store's API tokens, every change and every refusal audited.

    Parameters:
        store: the open store.
        actor: who acts, for the audit log (default ``local:<os user>``).
        fallback_workspace: the workspace id a refusal is recorded in when
            neither the token's nor a named one is known (``""``: none).
    """

    def __init__(
        self, store: Store, actor: str | None = None, fallback_workspace: str = ""
    ) -> None:
        self.store = store
        self.tokens = TokenStore(store)
        self.actor = actor or local_actor()
        self.fallback_workspace = fallback_workspace

    def create(
        self,
        workspace_id: str,
        name: str,
        *,
        kind: str,
        read_only: bool = False,
        teamspace: str | None = None,
        credentials: Iterable[str] | None = None,
        expires: datetime.datetime | datetime.timedelta | None = None,
        allow_missing: bool = False,
    ) -> tuple[TokenRecord, str]:
        """Issue a token in the workspace; its record and its text (shown once)."""
        entry = AuditEntry(self.actor, workspace_id, "token.create")
        with audited(self.store, entry):
            made = self.tokens.create(
                workspace_id, name, read_only=read_only, kind=kind, teamspace_id=teamspace,
                credentials=credentials, expires_at=expires, actor=self.actor,
                allow_missing=allow_missing,
            )  # fmt: skip
            entry.recorded = True  # with the token, in its transaction
        return made

    def list(self, workspace_id: str | None) -> list[TokenRecord]:
        """Every token of the workspace (``None``: of every workspace), oldest first."""
        return self.tokens.list(workspace_id)

    def get(self, token_id: str, workspace_id: str | None) -> TokenRecord:
        """One token by id, revoked ones included.

        Raises:
            NotFoundError: no token has this id (in this workspace).
        """
        found = next((t for t in self.tokens.list(workspace_id) if t.id == token_id), None)
        if found is None:
            raise NotFoundError(f"no token with id {token_id!r}", status=404)
        return found

    def rename(self, token_id: str, name: str, workspace_id: str | None) -> TokenRecord:
        """Give a token a new name; its text and limits stay."""
        with self._audited("token.rename", token_id, workspace_id):
            return self.tokens.rename(token_id, name, workspace_id=workspace_id, actor=self.actor)

    def switch(
        self, action: str, token_id: str, workspace_id: str | None, *, allow_lockout: bool = False
    ) -> TokenRecord:
        """Deactivate, activate or revoke a token (``action``, one of :data:`SWITCHES`).

        ``allow_lockout`` lets a deactivation or revocation leave the
        workspace with no token that can manage it (the operator's ``--force``).
        """
        extra = {} if action == "activate" else {"allow_lockout": allow_lockout}
        with self._audited(f"token.{action}", token_id, workspace_id):
            record: TokenRecord = getattr(self.tokens, action)(
                token_id, workspace_id=workspace_id, actor=self.actor, **extra
            )
        return record

    def regenerate(self, token_id: str, workspace_id: str | None) -> tuple[TokenRecord, str]:
        """A new text for the token, same id; the old text stops working."""
        with self._audited("token.regenerate", token_id, workspace_id):
            return self.tokens.regenerate(token_id, workspace_id=workspace_id, actor=self.actor)

    @contextlib.contextmanager
    def _audited(self, action: str, token_id: str, workspace_id: str | None) -> Iterator[None]:
        owner = next(
            (t.workspace_id for t in self.tokens.list(workspace_id) if t.id == token_id), None
        )
        where = owner or workspace_id or self.fallback_workspace
        entry = AuditEntry(self.actor, where, action, detail=f"token {token_id}")
        with audited(self.store, entry):
            yield
            entry.recorded = True  # the change wrote its own record
