"""The caller's token, checked again where a secret is opened.

The server checks a token when a request arrives; a secret is opened later,
after the body is in. :func:`token_still_valid` checks the token again inside
the store's transaction that opens the secret, so a token revoked, deactivated,
regenerated or expired in between gets nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from .._errors import AuthenticationError, PermissionDeniedError
from .._local._engine import Connection
from .._local._token_records import SELECT, from_row
from ._routes import ROUTES, Route
from ._tokens import TokenRecord, refusal

__all__ = ["token_still_valid"]

_BY_HANDLER = {route.handler: route for route in ROUTES}


def token_still_valid(
    caller: TokenRecord, token_digest: str, handler: str = "use_credential"
) -> Callable[[Connection], None]:
    """A check, run in a store transaction, that the caller's token still works as
    it did, for the route of ``handler`` (the use route; or a live verification)."""
    return functools.partial(_check, caller, token_digest, _BY_HANDLER[handler])


def _check(caller: TokenRecord, token_digest: str, route: Route, conn: Connection) -> None:
    row = conn.execute(
        SELECT + " WHERE digest = ? AND revoked_at IS NULL", (token_digest,)
    ).fetchone()
    # Regenerated, its text has a new digest; revoked, it is not found at all.
    token = from_row(row) if row is not None else None
    if token is None or token.id != caller.id:
        raise AuthenticationError("unknown or revoked API token", status=401)
    message = refusal(token, route)
    if message is None:
        return
    if token.active:
        raise PermissionDeniedError(message, status=403)
    raise AuthenticationError(message, status=401)
