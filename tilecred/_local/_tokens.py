"""API tokens: issued once, stored only as hashes, bound to one workspace.

A token reads ``tc-<workspace id>-<secret>``: three ``-``-separated parts with
the workspace id in the middle, which is how TileDB's client finds the
workspace. The secret is 256 random bits, so a plain SHA-256 is enough to
make the stored digest useless to whoever reads the store (a slow password
hash protects guessable secrets; these are not guessable).

Three kinds, each with the least it needs:

- **management** tokens create, update, delete, verify, list and get, and
  read the audit log; they never read a secret, nor do anything that leads
  to one: they cannot issue task tokens, let a credential be used in tasks
  (or change one that is), or switch off or re-key another token.
  ``read_only`` ones only read.
- **admin** tokens are management tokens that may also do those things: of
  the API's tokens, only they decide which secrets tasks get. They are
  issued only on the server's machine (``tilecred token create --admin``)
  and by the first start.
- **task** tokens list, get and use (receive a credential's secrets); they
  never change anything. One may be held to a teamspace, to named
  credentials, and to a lifetime.

Tokens live in the store's ``tokens`` table (schema version 3); the token
file of older versions, ``server-tokens.sqlite3``, is imported once by the
store's migration, its tokens becoming management tokens.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING

import msgspec

from .._errors import CredentialsError, InvalidArgumentError, NotFoundError
from .._token_arguments import check_token_credentials, check_token_expiry, check_token_name
from ._audit import AuditEntry, insert_audit, local_actor
from ._engine import Connection, retrying
from ._records import to_micros
from ._schema import TOKEN_FILE
from ._token_lifecycle import TokenLifecycle
from ._token_records import (
    ADMIN,
    KINDS,
    MANAGEMENT,
    SELECT,
    TASK,
    TokenRecord,
    digest,
    from_row,
    new_text,
)
from ._token_scope import bind_names, encode_ids

if TYPE_CHECKING:
    from ._store import Store

__all__ = [
    "ADMIN",
    "KINDS",
    "LAST_USED_RESOLUTION",
    "MANAGEMENT",
    "TASK",
    "TOKEN_FILE",
    "TokenRecord",
    "TokenStore",
    "check_token_name",
]

logger = logging.getLogger("tilecred.server")

_BOOTSTRAPPED = "tokens_bootstrapped"
# How stale a token's last use may get before authenticating writes it again:
# a write per request would queue every request behind the store's write lock.
LAST_USED_RESOLUTION = datetime.timedelta(seconds=60)


class TokenStore(TokenLifecycle):
    """The API tokens in the store's ``tokens`` table; safe to share between threads.

    Parameters:
        store: the open store (``tilecred._local.Store``).
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def close(self) -> None:
        """Nothing to close: the tokens share the store's connections."""

    @retrying
    def create(
        self,
        workspace_id: str,
        name: str,
        *,
        read_only: bool = False,
        kind: str = MANAGEMENT,
        teamspace_id: str | None = None,
        credentials: Iterable[str] | None = None,
        expires_at: datetime.datetime | datetime.timedelta | None = None,
        actor: str | None = None,
        request_id: str | None = None,
        allow_missing: bool = False,
    ) -> tuple[TokenRecord, str]:
        """Issue a token; the text is returned this once and never stored.

        Parameters:
            workspace_id: the workspace the token is bound to (``ws_…``).
            name: a label for the token.
            read_only: a management token that cannot change anything.
            kind: ``"management"``, ``"admin"`` or ``"task"``.
            teamspace_id: a task token held to this teamspace (name or id).
            credentials: a task token held to these credentials, by name: each
                is bound now to the id of the credential of that name in the
                token's teamspace, else at the workspace level, so a later
                rename or re-creation does not change which it may use.
            expires_at: when the token stops working (an aware datetime, or a
                timedelta from now).
            actor: who issues it, for the audit log (default ``local:<os user>``).
            request_id: the request that asks, for the audit log.
            allow_missing: a name with no credential yet is bound to the first
                credential made under it in the token's scope (else refused).

        Returns:
            The token's record and its text.

        Raises:
            InvalidArgumentError: an argument is unusable; nothing was written.
            NotFoundError: the workspace or the teamspace does not exist, or a
                credential named does not (without ``allow_missing``).
            CredentialsError: the store failed.
        """
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        if kind not in KINDS:
            raise InvalidArgumentError(f"kind must be management, admin or task, not {kind!r}")
        if kind == TASK and read_only:
            raise InvalidArgumentError(
                "read_only is for management tokens: a task token never changes anything"
            )
        if kind == ADMIN and read_only:
            raise InvalidArgumentError(
                "read_only is for management tokens: an admin token is one that may change more"
            )
        names = check_token_credentials(credentials)
        if kind != TASK and (teamspace_id is not None or names is not None):
            raise InvalidArgumentError(
                "only a task token is held to a teamspace or to named credentials"
            )
        expiry = check_token_expiry(expires_at, now)
        record, text = self._new_token(workspace_id, name, read_only, now)
        record = dataclasses.replace(record, kind=kind, credentials=names, expires_at=expiry)
        with self.store.transaction(write=True) as conn:
            if teamspace_id is not None:
                record = dataclasses.replace(
                    record, teamspace_id=self._teamspace(conn, workspace_id, teamspace_id)
                )
            self._require_workspace(conn, workspace_id)
            if names is not None:
                bound = bind_names(conn, workspace_id, record.teamspace_id, names,
                                   allow_missing=allow_missing)  # fmt: skip
                record = dataclasses.replace(
                    record, credential_ids={n: tuple(i) for n, i in bound.items()}
                )
            self._insert(conn, record, text)
            entry = AuditEntry(actor=actor or local_actor(), workspace_id=workspace_id,
                               action="token.create", detail=_describe(record),
                               request_id=request_id)  # fmt: skip
            insert_audit(conn, entry, "ok")
        return record, text

    @retrying
    def bootstrap(self, workspace_id: str, name: str) -> tuple[TokenRecord, str] | None:
        """The first start's admin token (kind ``admin``): issued exactly once per store.

        Recording that the bootstrap happened and storing the token are one
        transaction, so a failure leaves it to be done on the next start.

        Returns:
            The token's record and its text; ``None`` if it was issued before.

        Raises:
            InvalidArgumentError: the workspace id or name is unusable.
            CredentialsError: the store failed.
        """
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        record, text = self._new_token(workspace_id, name, False, now)
        record = dataclasses.replace(record, kind=ADMIN)
        with self.store.transaction(write=True) as conn:
            claimed = conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (_BOOTSTRAPPED, str(to_micros(now)).encode()),
            ).rowcount
            if not claimed:
                return None
            self._insert(conn, record, text)
        return record, text

    def bootstrapped(self) -> bool:
        """Whether the first start's admin token has been issued."""
        with self.store.transaction(write=False) as conn:
            row = conn.execute("SELECT 1 FROM meta WHERE key = ?", (_BOOTSTRAPPED,)).fetchone()
        return row is not None

    @staticmethod
    def _new_token(
        workspace_id: str, name: str, read_only: bool, now: datetime.datetime
    ) -> tuple[TokenRecord, str]:
        if not workspace_id.startswith("ws_") or "-" in workspace_id:
            raise InvalidArgumentError(f"workspace id {workspace_id!r} cannot be bound to a token")
        check_token_name(name)
        text = new_text(workspace_id)
        record = TokenRecord(
            id=f"tok_{secrets.token_hex(8)}",
            workspace_id=workspace_id,
            name=name,
            read_only=read_only,
            created_at=now,
        )
        return record, text

    @staticmethod
    def _require_workspace(conn: Connection, workspace_id: str) -> None:
        if not conn.execute("SELECT 1 FROM workspaces WHERE id = ?", (workspace_id,)).fetchone():
            raise NotFoundError(f"workspace {workspace_id!r} not found", status=404)

    @staticmethod
    def _teamspace(conn: Connection, workspace_id: str, teamspace: str) -> str:
        row = conn.execute(
            "SELECT id FROM teamspaces WHERE workspace_id = ?1 AND (id = ?2 OR name = ?2)"
            " ORDER BY id = ?2 DESC LIMIT 1",
            (workspace_id, teamspace),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"teamspace {teamspace!r} not found", status=404)
        return str(row[0])

    @staticmethod
    def _insert(conn: Connection, record: TokenRecord, text: str) -> None:
        names = None if record.credentials is None else msgspec.json.encode(record.credentials)
        ids = record.credential_ids
        conn.execute(
            "INSERT INTO tokens (id, workspace_id, name, kind, read_only, teamspace_id,"
            " credentials, expires_at, digest, created_at, credential_ids)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record.id, record.workspace_id, record.name, record.kind, int(record.read_only),
             record.teamspace_id, None if names is None else names.decode(),
             None if record.expires_at is None else to_micros(record.expires_at),
             digest(text), to_micros(record.created_at),
             None if ids is None else encode_ids({n: list(i) for n, i in ids.items()})),
        )  # fmt: skip

    def authenticate(self, text: str) -> TokenRecord | None:
        """The unrevoked token with this text, or ``None``; its use is recorded.

        An expired or deactivated token is returned as it is, unrecorded: the
        server refuses it with an answer that says why (its holder knows the
        text already), rather than a bare "unknown".

        A working token's ``last_used_at`` is written only when it is older
        than :data:`LAST_USED_RESOLUTION`, so a busy token costs one write a
        minute, not one per request.
        """
        with self.store.transaction(write=False, snapshot=False) as conn:
            row = conn.execute(
                SELECT + " WHERE digest = ? AND revoked_at IS NULL", (digest(text),)
            ).fetchone()
        if row is None:
            return None
        found = from_row(row)
        now = datetime.datetime.now(datetime.UTC)
        stale = found.last_used_at is None or now - found.last_used_at >= LAST_USED_RESOLUTION
        if stale and found.active and not found.expired(now):
            found = self._used(found, now)
        return found

    def _used(self, token: TokenRecord, now: datetime.datetime) -> TokenRecord:
        # Conditional, so of several requests racing past the check one writes.
        # Best effort: a store too busy to take the write does not refuse a
        # valid token; the next request tries again.
        since = to_micros(now - LAST_USED_RESOLUTION)
        try:
            with self.store.transaction(write=True) as conn:
                conn.execute(
                    "UPDATE tokens SET last_used_at = ? WHERE id = ?"
                    " AND (last_used_at IS NULL OR last_used_at <= ?)",
                    (to_micros(now), token.id, since),
                )
        except CredentialsError as exc:
            logger.warning("could not record the use of token %s: %s", token.id, exc)
            return token
        return dataclasses.replace(token, last_used_at=now)

    def list(self, workspace_id: str | None = None) -> list[TokenRecord]:
        """Every token, revoked ones included, oldest first."""
        sql = SELECT
        args: tuple[str, ...] = ()
        if workspace_id is not None:
            sql, args = sql + " WHERE workspace_id = ?", (workspace_id,)
        with self.store.transaction(write=False, snapshot=False) as conn:
            rows = conn.execute(sql + " ORDER BY created_at, id", args).fetchall()
        return [from_row(row) for row in rows]


def _describe(record: TokenRecord) -> str:
    """A token as the audit log records its creation: never its text."""
    parts = [f"{record.kind} token {record.id} ({record.name})"]
    if record.read_only:
        parts.append("read-only")
    if record.teamspace_id is not None:
        parts.append(f"teamspace {record.teamspace_id}")
    if record.credential_ids is not None:
        held = (f"{n} ({', '.join(ids) or 'none yet'})" for n, ids in record.credential_ids.items())
        parts.append("credentials " + ", ".join(held))
    if record.expires_at is not None:
        parts.append(f"expires {record.expires_at.isoformat()}")
    return "; ".join(parts)
