"""Secrets sealed anew when schema version 8 bound ``allowed_in_tasks`` into them.

Until version 8, a sealed secret's associated data named its row (workspace,
teamspace, name, id) but not whether tasks may use it, so whoever could write
the database could set ``allowed_in_tasks`` and have the gate hand the secret
out. From version 8 it is bound in: a flipped column makes the secret not
open (an integrity failure), and tilecred seals the secret anew whenever it
changes the flag. The secrets stored before are sealed anew once, in the
transaction that migrates the store, after the key was checked: each is
opened with the old associated data and sealed with the new.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ._keys import Cipher

__all__ = ["AAD_BOUND", "reseal_bound"]

# The schema version that bound allowed_in_tasks into the sealed secrets.
AAD_BOUND = 8

logger = logging.getLogger("tilecred")

_ROWS = (
    "SELECT id, workspace_id, teamspace_id, name, allowed_in_tasks, secret FROM credentials"
    " WHERE secret IS NOT NULL ORDER BY id"
)


def reseal_bound(
    conn: Any,
    cipher: Cipher,
    old_aad: Callable[[str, str | None, str, str], bytes],
    new_aad: Callable[[str, str | None, str, str, bool], bytes],
) -> int:
    """Seal every stored secret anew with ``new_aad``; how many were.

    A secret that does not open with ``old_aad`` (the store was altered) is
    left as it is: it did not open before and does not now, and using it
    says so. The migration does not stop for it.
    """
    resealed = 0
    for ident, workspace_id, teamspace_id, name, allowed, sealed in conn.execute(_ROWS).fetchall():
        opened = cipher.open(bytes(sealed), old_aad(workspace_id, teamspace_id, name, ident))
        if opened is None:
            logger.warning("credential %r: its secret does not open; left as it was", name)
            continue
        fresh = cipher.seal(opened, new_aad(workspace_id, teamspace_id, name, ident, bool(allowed)))
        conn.execute("UPDATE credentials SET secret = ? WHERE id = ?", (fresh, ident))
        resealed += 1
    return resealed
