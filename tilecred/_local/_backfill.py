"""Expiry for credentials stored before schema version 5, filled in once.

Version 5 added ``credentials.expires_at``; rows written before it have
NULL there. The expiry a secret declares (a SAS token's ``se=``) is sealed
with the secret, so it can only be read with the key: the store does this
once, in the transaction that migrates it to version 5, after the key was
checked. A secret that does not open is left as it is (NULL: not known);
using it reports that.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ._records import to_micros
from ._rows import join_secret

__all__ = ["EXPIRY_ADDED", "backfill_expiry"]

# The schema version that added credentials.expires_at.
EXPIRY_ADDED = 5

logger = logging.getLogger("tilecred")

# Only a token declares an expiry (see tilecred._access._expiry).
_CANDIDATES = (
    "SELECT id, kind, member, public, secret, workspace_id, teamspace_id, name"
    " FROM credentials WHERE expires_at IS NULL AND secret IS NOT NULL AND kind = ?"
)


def backfill_expiry(
    conn: Any, open_secret: Callable[[bytes, tuple[str, str | None, str, str]], bytes | None]
) -> int:
    """Fill ``expires_at`` where a stored secret declares it; how many rows got one.

    ``open_secret(sealed, (workspace_id, teamspace_id, name, id))`` opens one
    row's secret, or returns ``None`` when it does not open.
    """
    filled = 0
    for ident, kind, member, public, sealed, workspace_id, teamspace_id, name in conn.execute(
        _CANDIDATES, ("token",)
    ).fetchall():
        opened = open_secret(bytes(sealed), (workspace_id, teamspace_id, name, ident))
        if opened is None:
            logger.warning("credential %r: its secret does not open; expiry left unknown", name)
            continue
        expires = join_secret(kind, member, bytes(public), opened).expires_at()
        if expires is not None:
            conn.execute(
                "UPDATE credentials SET expires_at = ? WHERE id = ?", (to_micros(expires), ident)
            )
            filled += 1
    return filled
