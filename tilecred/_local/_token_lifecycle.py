"""An API token's life after it is issued: rename, deactivate, activate,
regenerate, revoke.

Every change is one write transaction with its audit record (``token.<verb>``),
so a change is never without its record, nor a record without its change.

**The lockout rule.** Deactivating or revoking the last token that can
manage a workspace (an active, unexpired, unrevoked, read-write management
or admin token) would leave nobody able to manage it over the API; it is refused with
a :class:`ConflictError` unless ``allow_lockout`` is given, which only the
operator's command line does (``--force``: on the server's machine a new
token can always be issued). The check and the change are in one write
transaction, so two such changes racing cannot both pass it. Regenerating
never locks anyone out: the token keeps working, and the new text is in the
answer to whoever asked, even when that is the token itself.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._errors import ConflictError, NotFoundError
from .._token_arguments import check_token_name
from ._audit import AuditEntry, insert_audit, local_actor
from ._engine import retrying
from ._records import to_micros
from ._token_records import SELECT, TASK, TokenRecord, digest, from_row, new_text

if TYPE_CHECKING:
    from ._store import Store

__all__ = ["TokenLifecycle"]

_VERBS = {"token.deactivate": "deactivating", "token.revoke": "revoking"}


class TokenLifecycle:
    """The lifecycle methods of :class:`~tilecred._local._tokens.TokenStore`.

    Each takes the token's id and, from the API, the caller's workspace
    (``workspace_id``): a token of another workspace is reported exactly
    as a missing one. ``actor`` is who acts, for the audit log (default
    ``local:<os user>``).
    """

    store: Store

    def rename(
        self, token_id: str, name: str, *, workspace_id: str | None = None,
        actor: str | None = None, request_id: str | None = None,
    ) -> TokenRecord:  # fmt: skip
        """Give a token a new name; its text, kind and limits stay.

        Raises:
            InvalidArgumentError: the name is unusable; nothing was written.
            NotFoundError: no live token has this id (in this workspace).
        """
        check_token_name(name)
        return self._change(
            token_id, workspace_id, AuditEntry(actor or local_actor(), "", "token.rename",
                                               request_id=request_id),
            "name = ?", (name,), detail=lambda old: f": renamed to {name!r}",
        )  # fmt: skip

    def deactivate(
        self, token_id: str, *, workspace_id: str | None = None, actor: str | None = None,
        request_id: str | None = None, allow_lockout: bool = False,
    ) -> TokenRecord:  # fmt: skip
        """Stop a token working until it is activated again; it stays listed.

        Raises:
            NotFoundError: no live token has this id (in this workspace).
            ConflictError: it is the workspace's last token that can manage it
                (see the lockout rule), and ``allow_lockout`` is not given.
        """
        entry = AuditEntry(actor or local_actor(), "", "token.deactivate", request_id=request_id)
        return self._change(token_id, workspace_id, entry, "active = ?", (0,),
                            lockout=not allow_lockout)  # fmt: skip

    def activate(
        self, token_id: str, *, workspace_id: str | None = None, actor: str | None = None,
        request_id: str | None = None,
    ) -> TokenRecord:  # fmt: skip
        """Let a deactivated token work again (an expired one stays expired).

        Raises:
            NotFoundError: no live token has this id (in this workspace).
        """
        entry = AuditEntry(actor or local_actor(), "", "token.activate", request_id=request_id)
        return self._change(token_id, workspace_id, entry, "active = ?", (1,))

    def regenerate(
        self, token_id: str, *, workspace_id: str | None = None, actor: str | None = None,
        request_id: str | None = None,
    ) -> tuple[TokenRecord, str]:  # fmt: skip
        """A new text for the token: same id, name, kind, limits and state.

        The old text stops working when the transaction commits: its digest
        is replaced, not added to.

        Returns:
            The token's record and its new text, shown this once.

        Raises:
            NotFoundError: no live token has this id (in this workspace).
        """
        entry = AuditEntry(actor or local_actor(), "", "token.regenerate", request_id=request_id)
        texts: list[str] = []

        def fresh(old: TokenRecord) -> tuple[Any, ...]:
            texts.append(new_text(old.workspace_id))
            return (digest(texts[-1]),)

        changed = self._change(token_id, workspace_id, entry, "digest = ?", fresh,
                               detail=lambda old: ": new secret")  # fmt: skip
        return changed, texts[-1]

    def revoke(
        self, token_id: str, *, workspace_id: str | None = None, actor: str | None = None,
        request_id: str | None = None, allow_lockout: bool = False,
    ) -> TokenRecord:  # fmt: skip
        """Revoke a token by id; it stops working at once, for good.

        Raises:
            CredentialsError: as :meth:`deactivate` does, for the same reasons.
        """
        now = to_micros(datetime.datetime.now(datetime.UTC).replace(microsecond=0))
        entry = AuditEntry(actor or local_actor(), "", "token.revoke", request_id=request_id)
        return self._change(token_id, workspace_id, entry, "revoked_at = ?", (now,),
                            lockout=not allow_lockout)  # fmt: skip

    @retrying
    def _change(
        self,
        token_id: str,
        workspace_id: str | None,
        entry: AuditEntry,
        assignment: str,
        values: tuple[Any, ...] | Callable[[TokenRecord], tuple[Any, ...]],
        *,
        lockout: bool = False,
        detail: Callable[[TokenRecord], str] | None = None,
    ) -> TokenRecord:
        """Update one live token's row and record it, in one write transaction
        (run again if it loses a race with another instance's write).

        ``values`` is the assignment's parameters, or a function of the
        token's current record that returns them; ``detail`` likewise
        returns what the audit record adds after ``token <id> (<name>)``.
        """
        with self.store.transaction(write=True) as conn:
            row = conn.execute(
                SELECT + " WHERE id = ? AND revoked_at IS NULL", (token_id,)
            ).fetchone()
            current = None if row is None else from_row(row)
            if current is None or workspace_id not in (None, current.workspace_id):
                raise NotFoundError(f"no live token with id {token_id!r}", status=404)
            if lockout:
                _refuse_lockout(conn, current, _VERBS[entry.action])
            params = values(current) if callable(values) else values
            conn.execute(
                f"UPDATE tokens SET {assignment} WHERE id = ?",  # noqa: S608 - constant SQL
                (*params, token_id),
            )
            changed = from_row(conn.execute(SELECT + " WHERE id = ?", (token_id,)).fetchone())
            entry.workspace_id = current.workspace_id
            entry.detail = f"token {current.id} ({current.name})"
            if detail is not None:
                entry.detail += detail(current)
            insert_audit(conn, entry, "ok")
        return changed


def _refuse_lockout(conn: Any, target: TokenRecord, verb: str) -> None:
    """Refuse a change that leaves the workspace with no token that can manage it."""
    if not target.administers:
        return
    now = to_micros(datetime.datetime.now(datetime.UTC))
    others = conn.execute(
        "SELECT count(*) FROM tokens WHERE workspace_id = ? AND id <> ? AND kind <> ?"
        " AND read_only = 0 AND active = 1 AND revoked_at IS NULL"
        " AND (expires_at IS NULL OR expires_at > ?)",
        (target.workspace_id, target.id, TASK, now),
    ).fetchone()[0]
    if not others:
        raise ConflictError(
            f"token {target.id} ({target.name}) is the last active read-write management "
            f"token of its workspace: {verb} it would leave none to manage the workspace; "
            "issue another one first",
            status=409,
        )
