"""Which routes an API token may call at all: the server's token policy.

The tokens themselves (issue, authenticate, the lifecycle) live in the
store, :mod:`tilecred._local._tokens`; this module re-exports what the
server's modules use of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._local._token_records import ADMIN, KINDS, MANAGEMENT, TASK, TokenRecord
from .._local._tokens import LAST_USED_RESOLUTION, TOKEN_FILE, TokenStore, check_token_name

if TYPE_CHECKING:
    from ._routes import Route

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
    "refusal",
]


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
            "them, create teamspaces, read the audit log or manage API tokens"
        )
    if route.writes and caller.read_only:
        return "this API token is read-only"
    return None
