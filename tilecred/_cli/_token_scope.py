"""A task token held to credentials that do not exist is refused before it is issued.

Such a token could use nothing by the misspelled name, and the mistake would only
show at the task's first use, far from the command that made it.
``--allow-missing`` issues it anyway, for credentials that will be created later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tilecred import NotFoundError
from tilecred._suggest import did_you_mean

if TYPE_CHECKING:
    from tilecred._server._app import ServerApp

__all__ = ["refuse_missing_credentials"]


def refuse_missing_credentials(
    app: ServerApp, workspace_id: str, teamspace: str | None, names: Sequence[str]
) -> None:
    """Raise ``NotFoundError`` naming the first of ``names`` with no credential.

    With a teamspace, the names are looked for there; without, in the workspace
    and every teamspace of it (a token not held to a teamspace may use any).
    An unknown teamspace is left to the token's own checks.
    """
    store = app.store
    if teamspace is not None:
        found = store.find_teamspace(workspace_id, teamspace)
        if found is None:
            return
        scopes: list[str | None] = [found.id]
        where = f" in teamspace {found.name!r}"
    else:
        scopes = [None, *(t.id for t in store.list_teamspaces(workspace_id))]
        where = " in the workspace or any of its teamspaces"
    known: set[str] = set()
    for scope in scopes:
        page = store.list_credentials(workspace_id, scope, per_page=10_000)
        known.update(c.name for c in page.items)
    for name in names:
        if name not in known:
            raise NotFoundError(
                f"no credential {name!r}{where}{did_you_mean(name, known)}, so a task token "
                "held to it could not use it; pass --allow-missing to issue it anyway",
                status=404,
            )
