"""What the store keeps about an API token, and how a row becomes a record.

Shared by the token store (issue, authenticate, bootstrap) and the token
lifecycle (rename, deactivate, activate, regenerate, revoke).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import secrets
from typing import Any

import msgspec

from ._records import from_micros
from ._token_scope import decode_ids

__all__ = [
    "ADMIN",
    "KINDS",
    "MANAGEMENT",
    "SELECT",
    "STATES",
    "TASK",
    "TOKEN_PREFIX",
    "TokenRecord",
    "digest",
    "from_row",
    "new_text",
]

TOKEN_PREFIX = "tc"
MANAGEMENT = "management"
TASK = "task"
# A management token that may also hand secrets out: issue task tokens, let
# a credential be used in tasks, and switch off or re-key other tokens.
ADMIN = "admin"
KINDS = (MANAGEMENT, TASK, ADMIN)
# What a token's state can be, most final first: see TokenRecord.state.
STATES = ("revoked", "expired", "inactive", "active")
_COLUMNS = (
    "id, workspace_id, name, read_only, created_at, revoked_at, kind, teamspace_id,"
    " credentials, expires_at, active, last_used_at, credential_ids"
)
SELECT = f"SELECT {_COLUMNS} FROM tokens"  # noqa: S608 - constant columns


@dataclasses.dataclass(frozen=True, slots=True)
class TokenRecord:
    """What the server knows about a token: never the token itself.

    ``credentials`` is ``None`` when a task token may use any credential of
    its scope, else the names it was issued with; ``credential_ids`` maps
    each name to the ids of the credentials it was bound to (none yet: the
    first credential made under that name in the token's scope). The ids,
    not the names, are what the token may use. ``teamspace_id`` is ``None``
    when it is not held to one.
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
    credential_ids: dict[str, tuple[str, ...]] | None = None

    @property
    def bound(self) -> frozenset[str] | None:
        """The ids of the credentials it may use (``None``: any of its scope)."""
        if self.credential_ids is None:
            return None if self.credentials is None else frozenset()
        return frozenset(i for ids in self.credential_ids.values() for i in ids)

    @property
    def actor(self) -> str:
        """How the audit log names whoever holds this token."""
        return f"token:{self.id} ({self.name})"

    def expired(self, now: datetime.datetime | None = None) -> bool:
        """Whether the token's lifetime is over."""
        moment = now or datetime.datetime.now(datetime.UTC)
        return self.expires_at is not None and moment >= self.expires_at

    @property
    def state(self) -> str:
        """``revoked``, ``expired``, ``inactive`` or ``active``: the first that holds."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expired():
            return "expired"
        return "active" if self.active else "inactive"

    @property
    def administers(self) -> bool:
        """Whether it can manage its workspace now: an active, unexpired,
        unrevoked, read-write management or admin token."""
        return self.kind != TASK and not self.read_only and self.state == "active"

    @property
    def admin(self) -> bool:
        """Whether it holds the rights that lead to a secret (an admin token)."""
        return self.kind == ADMIN


def digest(text: str) -> str:
    """What the store keeps of a token's text."""
    return hashlib.sha256(text.encode()).hexdigest()


def new_text(workspace_id: str) -> str:
    """A new token's text, ``tc-<workspace id>-<secret>``: 256 random bits."""
    # token_hex: no '-' inside the secret, so the token splits into three parts.
    return f"{TOKEN_PREFIX}-{workspace_id}-{secrets.token_hex(32)}"


def _when(micros: int | None) -> datetime.datetime | None:
    return None if micros is None else from_micros(micros)


def from_row(row: tuple[Any, ...]) -> TokenRecord:
    """The record of one row selected with :data:`SELECT`."""
    (ident, workspace_id, name, read_only, created, revoked, kind, teamspace_id, names,
     expires, active, last_used, bound) = row  # fmt: skip
    ids = decode_ids(bound)
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
        credential_ids=None if ids is None else {n: tuple(i) for n, i in ids.items()},
    )
