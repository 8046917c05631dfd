"""A task token's credentials, bound by id (schema version 9).

A task token may be held to named credentials. Until version 9 the names
were matched at each request, so a credential renamed onto a name, or
deleted and made again under it, was the token's; and a name without a
teamspace matched that name in every teamspace. From version 9 each name is
bound, when the token is issued, to the id of the credential of that name in
the token's scope (its teamspace, else the workspace level):
``tokens.credential_ids`` maps each name to the ids it stands for. A name
with no credential yet (issued with ``allow_missing``) maps to no id, and is
bound to the first credential created under it in that scope
(:func:`bind_pending`); from then on, that one only.

Tokens from before version 9 are bound once, when the store is migrated, to
what each name could reach then (:func:`bind_existing`): nothing a token
could use stops working, and nothing made later is added to it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import msgspec

from .._errors import NotFoundError
from .._suggest import did_you_mean

__all__ = [
    "IDS_BOUND",
    "bind_existing",
    "bind_names",
    "bind_pending",
    "decode_ids",
    "encode_ids",
]

# The schema version that bound task tokens' credentials to ids.
IDS_BOUND = 9

logger = logging.getLogger("tilecred")

_DECODER = msgspec.json.Decoder(dict[str, list[str]])
_TEAMSPACE = "SELECT name FROM teamspaces WHERE id = ?"


def encode_ids(bound: dict[str, list[str]]) -> str:
    """What ``tokens.credential_ids`` keeps."""
    return msgspec.json.encode(bound).decode()


def decode_ids(text: str | None) -> dict[str, list[str]] | None:
    """``tokens.credential_ids`` read back (``None``: any credential)."""
    return None if text is None else _DECODER.decode(text)


def _ids(conn: Any, sql: str, params: Iterable[Any]) -> list[str]:
    return [str(row[0]) for row in conn.execute(sql, tuple(params)).fetchall()]


def bind_names(
    conn: Any,
    workspace_id: str,
    teamspace_id: str | None,
    names: Iterable[str],
    *,
    allow_missing: bool = False,
) -> dict[str, list[str]]:
    """Each name bound to the id of its credential in the scope, for a new token.

    The scope is the token's teamspace, else the workspace level (not every
    teamspace: a token not held to one names workspace-level credentials).

    Raises:
        NotFoundError: a name has no credential there, and not ``allow_missing``.
    """
    bound: dict[str, list[str]] = {}
    for name in names:
        bound[name] = _ids(
            conn, "SELECT id FROM credentials WHERE workspace_id = ? AND scope = ? AND name = ?",
            (workspace_id, teamspace_id or "", name),
        )  # fmt: skip
        if not bound[name] and not allow_missing:
            known = _ids(
                conn, "SELECT name FROM credentials WHERE workspace_id = ? AND scope = ?",
                (workspace_id, teamspace_id or ""),
            )  # fmt: skip
            where = " at the workspace level"
            if teamspace_id is not None:
                where = f" in teamspace {_ids(conn, _TEAMSPACE, (teamspace_id,))[0]!r}"
            raise NotFoundError(
                f"no credential {name!r}{where}{did_you_mean(name, known)}, so a task token "
                "held to it could not use it; pass --allow-missing (allow_missing over the "
                "API) to issue it anyway",
                status=404,
            )
    return bound


def bind_existing(conn: Any) -> int:
    """Bind the names of every token from before version 9; how many tokens.

    A token held to a teamspace binds each name to that teamspace's
    credential of the name; one that is not, to every credential of the
    name in the workspace, as it could use them until now. A name that
    matches none stays pending in the token's scope.
    """
    rows = conn.execute(
        "SELECT id, workspace_id, teamspace_id, credentials FROM tokens"
        " WHERE credentials IS NOT NULL AND credential_ids IS NULL"
    ).fetchall()
    for ident, workspace_id, teamspace_id, names in rows:
        bound: dict[str, list[str]] = {}
        for name in msgspec.json.decode(names, type=list[str]):
            if teamspace_id is None:
                sql = "SELECT id FROM credentials WHERE workspace_id = ? AND name = ? ORDER BY id"
                bound[name] = _ids(conn, sql, (workspace_id, name))
            else:
                sql = "SELECT id FROM credentials WHERE workspace_id = ? AND scope = ? AND name = ?"
                bound[name] = _ids(conn, sql, (workspace_id, teamspace_id, name))
        conn.execute(
            "UPDATE tokens SET credential_ids = ? WHERE id = ?", (encode_ids(bound), ident)
        )
    if rows:
        logger.info("bound the credentials of %d task tokens to their ids", len(rows))
    return len(rows)


def bind_pending(
    conn: Any, workspace_id: str, teamspace_id: str | None, name: str, ident: str
) -> None:
    """Bind tokens waiting for a credential of this name in this scope to ``ident``."""
    for token_id, text in conn.execute(
        "SELECT id, credential_ids FROM tokens WHERE workspace_id = ? AND revoked_at IS NULL"
        " AND coalesce(teamspace_id, '') = ? AND credential_ids IS NOT NULL",
        (workspace_id, teamspace_id or ""),
    ).fetchall():
        bound = decode_ids(text)
        if bound is not None and bound.get(name) == []:
            bound[name] = [ident]
            conn.execute(
                "UPDATE tokens SET credential_ids = ? WHERE id = ?", (encode_ids(bound), token_id)
            )
