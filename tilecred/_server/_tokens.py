"""API tokens: issued once, stored only as hashes, bound to one workspace.

A token reads ``tc-<workspace id>-<secret>``: three ``-``-separated parts with
the workspace id in the middle, which is how TileDB's client finds the
workspace. The secret is 256 random bits, so a plain SHA-256 is enough to
make the stored digest useless to whoever reads the store (a slow password
hash protects guessable secrets; these are not guessable).

Two kinds, each with the least it needs:

- **management** tokens create, update, delete, verify, list and get, and
  read the audit log; they never read a secret. ``read_only`` ones only read.
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
import hashlib
import secrets
import sqlite3
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import msgspec

from .._arguments import check_name
from .._errors import InvalidArgumentError, NotFoundError
from .._limits import MAX_TOKEN_NAME
from .._local._audit import AuditEntry, insert_audit, local_actor
from .._local._records import from_micros, to_micros
from .._local._schema import TOKEN_FILE

if TYPE_CHECKING:
    from .._local import Store
    from ._routes import Route

__all__ = [
    "KINDS",
    "MANAGEMENT",
    "TASK",
    "TOKEN_FILE",
    "TokenRecord",
    "TokenStore",
    "check_token_name",
    "refusal",
]

TOKEN_PREFIX = "tc"
MANAGEMENT = "management"
TASK = "task"
KINDS = (MANAGEMENT, TASK)
_BOOTSTRAPPED = "tokens_bootstrapped"
_COLUMNS = (
    "id, workspace_id, name, read_only, created_at, revoked_at, kind, teamspace_id,"
    " credentials, expires_at, active, last_used_at"
)
_SELECT = f"SELECT {_COLUMNS} FROM tokens"  # noqa: S608 - constant columns


@dataclasses.dataclass(frozen=True, slots=True)
class TokenRecord:
    """What the server knows about a token: never the token itself.

    ``credentials`` is ``None`` when a task token may use any credential of
    its scope; ``teamspace_id`` is ``None`` when it is not held to one.
    """

    id: str
    workspace_id: str
    name: str
    read_only: bool
    created_at: datetime.datetime
    revoked_at: datetime.datetime | None = None
    kind: str = MANAGEMENT
    teamspace_id: str | None = None
    credentials: tuple[str, ...] | None = None
    expires_at: datetime.datetime | None = None
    active: bool = True
    last_used_at: datetime.datetime | None = None

    @property
    def actor(self) -> str:
        """How the audit log names whoever holds this token."""
        return f"token:{self.id} ({self.name})"

    def expired(self, now: datetime.datetime | None = None) -> bool:
        """Whether the token's lifetime is over."""
        moment = now or datetime.datetime.now(datetime.UTC)
        return self.expires_at is not None and moment >= self.expires_at


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _when(micros: int | None) -> datetime.datetime | None:
    return None if micros is None else from_micros(micros)


def _record(row: tuple[Any, ...]) -> TokenRecord:
    (ident, workspace_id, name, read_only, created, revoked, kind, teamspace_id, names,
     expires, active, last_used) = row  # fmt: skip
    return TokenRecord(
        id=ident,
        workspace_id=workspace_id,
        name=name,
        read_only=bool(read_only),
        created_at=from_micros(created),
        revoked_at=_when(revoked),
        kind=kind,
        teamspace_id=teamspace_id,
        credentials=None if names is None else tuple(msgspec.json.decode(names)),
        expires_at=_when(expires),
        active=bool(active),
        last_used_at=_when(last_used),
    )


def check_token_name(name: str) -> None:
    """A token's name: non-empty printable text of at most ``MAX_TOKEN_NAME`` characters."""
    if len(name) > MAX_TOKEN_NAME:
        raise InvalidArgumentError(
            f"token name is {len(name)} characters long; the limit is {MAX_TOKEN_NAME}"
        )
    if not name or any(ord(ch) < 0x20 for ch in name):
        raise InvalidArgumentError(f"token name {name!r} must be non-empty printable text")


def _check_credentials(value: Iterable[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str | bytes):
        raise InvalidArgumentError("credentials must be a list of credential names, not a str")
    names = tuple(dict.fromkeys(check_name(name, "credential name") for name in value))
    if not names:
        raise InvalidArgumentError("credentials must name at least one credential, or be None")
    return names


def _check_expiry(
    value: datetime.datetime | datetime.timedelta | None, now: datetime.datetime
) -> datetime.datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        try:
            value = now + value
        except OverflowError:
            raise InvalidArgumentError(
                f"expires_at reaches past the year 9999: {value} from now is no time"
            ) from None
    if not isinstance(value, datetime.datetime) or value.utcoffset() is None:
        raise InvalidArgumentError("expires_at must be an aware datetime or a timedelta from now")
    if value <= now:
        raise InvalidArgumentError(f"expires_at {value.isoformat()} is not in the future")
    return value


class TokenStore:
    """The API tokens in the store's ``tokens`` table; safe to share between threads.

    Parameters:
        store: the open store (``tilecred._local.Store``).
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def close(self) -> None:
        """Nothing to close: the tokens share the store's connections."""

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
    ) -> tuple[TokenRecord, str]:
        """Issue a token; the text is returned this once and never stored.

        Parameters:
            workspace_id: the workspace the token is bound to (``ws_…``).
            name: a label for the token.
            read_only: a management token that cannot change anything.
            kind: ``"management"`` or ``"task"``.
            teamspace_id: a task token held to this teamspace (name or id).
            credentials: a task token held to these credential names.
            expires_at: when the token stops working (an aware datetime, or a
                timedelta from now).
            actor: who issues it, for the audit log (default ``local:<os user>``).

        Returns:
            The token's record and its text.

        Raises:
            InvalidArgumentError: an argument is unusable; nothing was written.
            NotFoundError: the workspace or the teamspace does not exist.
            CredentialsError: the store failed.
        """
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        if kind not in KINDS:
            raise InvalidArgumentError(f"kind must be management or task, not {kind!r}")
        if kind == TASK and read_only:
            raise InvalidArgumentError(
                "read_only is for management tokens: a task token never changes anything"
            )
        names = _check_credentials(credentials)
        if kind == MANAGEMENT and (teamspace_id is not None or names is not None):
            raise InvalidArgumentError(
                "only a task token is held to a teamspace or to named credentials"
            )
        expiry = _check_expiry(expires_at, now)
        record, text = self._new_token(workspace_id, name, read_only, now)
        record = dataclasses.replace(record, kind=kind, credentials=names, expires_at=expiry)
        with self.store.transaction(write=True) as conn:
            if teamspace_id is not None:
                record = dataclasses.replace(
                    record, teamspace_id=self._teamspace(conn, workspace_id, teamspace_id)
                )
            self._require_workspace(conn, workspace_id)
            self._insert(conn, record, text)
            entry = AuditEntry(actor=actor or local_actor(), workspace_id=workspace_id,
                               action="token.create", detail=_describe(record))  # fmt: skip
            insert_audit(conn, entry, "ok")
        return record, text

    def bootstrap(self, workspace_id: str, name: str) -> tuple[TokenRecord, str] | None:
        """The first start's admin token: issued exactly once per store.

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
        with self.store.transaction(write=True) as conn:
            claimed = conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                (_BOOTSTRAPPED, to_micros(now)),
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
        # token_hex: no '-' inside the secret, so the token splits into three parts.
        text = f"{TOKEN_PREFIX}-{workspace_id}-{secrets.token_hex(32)}"
        record = TokenRecord(
            id=f"tok_{secrets.token_hex(8)}",
            workspace_id=workspace_id,
            name=name,
            read_only=read_only,
            created_at=now,
        )
        return record, text

    @staticmethod
    def _require_workspace(conn: sqlite3.Connection, workspace_id: str) -> None:
        if not conn.execute("SELECT 1 FROM workspaces WHERE id = ?", (workspace_id,)).fetchone():
            raise NotFoundError(f"workspace {workspace_id!r} not found", status=404)

    @staticmethod
    def _teamspace(conn: sqlite3.Connection, workspace_id: str, teamspace: str) -> str:
        row = conn.execute(
            "SELECT id FROM teamspaces WHERE workspace_id = ?1 AND (id = ?2 OR name = ?2)"
            " ORDER BY id = ?2 DESC LIMIT 1",
            (workspace_id, teamspace),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"teamspace {teamspace!r} not found", status=404)
        return str(row[0])

    @staticmethod
    def _insert(conn: sqlite3.Connection, record: TokenRecord, text: str) -> None:
        names = None if record.credentials is None else msgspec.json.encode(record.credentials)
        conn.execute(
            "INSERT INTO tokens (id, workspace_id, name, kind, read_only, teamspace_id,"
            " credentials, expires_at, digest, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record.id, record.workspace_id, record.name, record.kind, int(record.read_only),
             record.teamspace_id, None if names is None else names.decode(),
             None if record.expires_at is None else to_micros(record.expires_at),
             _digest(text), to_micros(record.created_at)),
        )  # fmt: skip

    def authenticate(self, text: str) -> TokenRecord | None:
        """The unrevoked token with this text, or ``None``.

        An expired or deactivated token is returned as it is: the server
        refuses it with a 403 that says why, rather than a bare 401.
        """
        with self.store.transaction(write=False, snapshot=False) as conn:
            row = conn.execute(
                _SELECT + " WHERE digest = ? AND revoked_at IS NULL", (_digest(text),)
            ).fetchone()
        return None if row is None else _record(row)

    def list(self, workspace_id: str | None = None) -> list[TokenRecord]:
        """Every token, revoked ones included, oldest first."""
        sql = _SELECT
        args: tuple[str, ...] = ()
        if workspace_id is not None:
            sql, args = sql + " WHERE workspace_id = ?", (workspace_id,)
        with self.store.transaction(write=False, snapshot=False) as conn:
            rows = conn.execute(sql + " ORDER BY created_at, id", args).fetchall()
        return [_record(row) for row in rows]

    def revoke(self, token_id: str, *, actor: str | None = None) -> TokenRecord:
        """Revoke a token by id; it stops working at once (audited as ``token.revoke``).

        Raises:
            NotFoundError: no live token has this id.
        """
        now = to_micros(datetime.datetime.now(datetime.UTC).replace(microsecond=0))
        with self.store.transaction(write=True) as conn:
            changed = conn.execute(
                "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (now, token_id),
            ).rowcount
            if changed == 0:
                raise NotFoundError(f"no live token with id {token_id!r}", status=404)
            record = _record(conn.execute(_SELECT + " WHERE id = ?", (token_id,)).fetchone())
            entry = AuditEntry(
                actor=actor or local_actor(),
                workspace_id=record.workspace_id,
                action="token.revoke",
                detail=f"token {record.id} ({record.name})",
            )
            insert_audit(conn, entry, "ok")
        return record


def _describe(record: TokenRecord) -> str:
    """A token as the audit log records its creation: never its text."""
    parts = [f"{record.kind} token {record.id} ({record.name})"]
    if record.read_only:
        parts.append("read-only")
    if record.teamspace_id is not None:
        parts.append(f"teamspace {record.teamspace_id}")
    if record.credentials is not None:
        parts.append("credentials " + ", ".join(record.credentials))
    if record.expires_at is not None:
        parts.append(f"expires {record.expires_at.isoformat()}")
    return "; ".join(parts)


def refusal(caller: TokenRecord, route: Route) -> str | None:
    """Why this token may not call this route at all, or ``None`` if it may.

    A task token's teamspace and credential limits depend on the request and
    are checked by the handlers.
    """
    if not caller.active:
        return "this API token is deactivated"
    if caller.expires_at is not None and caller.expired():
        return f"this API token expired at {caller.expires_at.isoformat()}"
    if route.task and caller.kind != TASK:
        return (
            "only a task token can use a credential; a management token never reads a "
            "secret (issue one with `tilecred token create --task`)"
        )
    if caller.kind == TASK and (route.writes or route.management):
        return (
            "a task token can list, get and use credentials; it cannot change or verify "
            "them, create teamspaces or read the audit log"
        )
    if route.writes and caller.read_only:
        return "this API token is read-only"
    return None
