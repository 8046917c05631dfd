"""The store's workspaces and teamspaces."""

from __future__ import annotations

import secrets

from .._arguments import TEAMSPACE_ID_PREFIX, VISIBILITIES, check_workspace
from .._errors import CredentialsError, NotFoundError
from ._core import StoreCore, _conflict, _now, _teamspace
from ._engine import Connection, retrying
from ._records import TeamspaceRecord, WorkspaceRecord, from_micros
from ._rows import UNPROCESSABLE

__all__ = ["Spaces"]


class Spaces(StoreCore):
    """Workspaces and teamspaces."""

    # -- workspaces ---------------------------------------------------------------

    @retrying
    def create_workspace(self, name: str) -> WorkspaceRecord:
        """Create a workspace.

        Raises:
            ConflictError: the name is in use.
            InvalidArgumentError: the name is not a usable workspace name.
        """
        check_workspace(name)
        with self._transaction(write=True) as conn:
            if conn.execute("SELECT 1 FROM workspaces WHERE name = ?", (name,)).fetchone():
                raise _conflict()
            return self._insert_workspace(conn, name)

    @staticmethod
    def _insert_workspace(conn: Connection, name: str) -> WorkspaceRecord:
        ident, now = "ws_" + secrets.token_hex(8), _now()
        conn.execute(
            "INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)", (ident, name, now)
        )
        return WorkspaceRecord(ident, name, from_micros(now))

    def find_workspace(self, name_or_id: str) -> WorkspaceRecord | None:
        """The workspace with this id (preferred) or name, if any."""
        with self._transaction(write=False, snapshot=False) as conn:
            return self._find_workspace(conn, name_or_id)

    @staticmethod
    def _find_workspace(conn: Connection, name_or_id: str) -> WorkspaceRecord | None:
        row = conn.execute(
            "SELECT id, name, created_at FROM workspaces WHERE id = ?1 OR name = ?1"
            " ORDER BY id = ?1 DESC LIMIT 1",
            (name_or_id,),
        ).fetchone()
        return None if row is None else WorkspaceRecord(row[0], row[1], from_micros(row[2]))

    @retrying
    def ensure_workspace(self, name_or_id: str) -> WorkspaceRecord:
        """The workspace by id or name; a name not yet used is created.

        Raises:
            NotFoundError: a ``ws_…`` id that does not exist.
            InvalidArgumentError: a new name that is not a usable workspace name.
        """
        found = self.find_workspace(name_or_id)
        if found is not None:
            return found
        if name_or_id.startswith("ws_"):
            raise NotFoundError(f"workspace {name_or_id!r} not found", status=404)
        check_workspace(name_or_id)
        with self._transaction(write=True) as conn:
            return self._find_workspace(conn, name_or_id) or self._insert_workspace(
                conn, name_or_id
            )

    # -- teamspaces ---------------------------------------------------------------

    @retrying
    def create_teamspace(
        self,
        workspace_id: str,
        name: str,
        *,
        visibility: str = "private",
        description: str | None = None,
    ) -> TeamspaceRecord:
        """Create a teamspace in a workspace.

        Raises:
            ConflictError: the name is in use in that workspace.
            NotFoundError: there is no such workspace.
            CredentialsError: ``visibility`` is not ``private`` or ``public`` (422).
        """
        if visibility not in VISIBILITIES:
            raise CredentialsError(
                f"visibility must be private or public, not {visibility!r}", status=UNPROCESSABLE
            )
        with self._transaction(write=True) as conn:
            self._require_workspace(conn, workspace_id)
            if self._find_teamspace(conn, workspace_id, name, by_id=False) is not None:
                raise _conflict()
            return self._insert_teamspace(conn, workspace_id, name, visibility, description)

    @staticmethod
    def _require_workspace(conn: Connection, workspace_id: str) -> None:
        if not conn.execute("SELECT 1 FROM workspaces WHERE id = ?", (workspace_id,)).fetchone():
            raise NotFoundError(f"workspace {workspace_id!r} not found", status=404)

    @staticmethod
    def _insert_teamspace(
        conn: Connection,
        workspace_id: str,
        name: str,
        visibility: str = "private",
        description: str | None = None,
    ) -> TeamspaceRecord:
        ident, now = TEAMSPACE_ID_PREFIX + secrets.token_hex(8), _now()
        conn.execute(
            "INSERT INTO teamspaces (id, workspace_id, name, visibility, description, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (ident, workspace_id, name, visibility, description, now),
        )
        return TeamspaceRecord(ident, workspace_id, name, visibility, description, from_micros(now))

    def find_teamspace(self, workspace_id: str, name_or_id: str) -> TeamspaceRecord | None:
        """The workspace's teamspace with this id (preferred) or name, if any."""
        with self._transaction(write=False, snapshot=False) as conn:
            return self._find_teamspace(conn, workspace_id, name_or_id)

    @staticmethod
    def _find_teamspace(
        conn: Connection, workspace_id: str, name_or_id: str, *, by_id: bool = True
    ) -> TeamspaceRecord | None:
        match = "(id = ?2 OR name = ?2)" if by_id else "name = ?2"
        row = conn.execute(
            "SELECT id, workspace_id, name, visibility, description, created_at FROM teamspaces"  # noqa: S608
            f" WHERE workspace_id = ?1 AND {match} ORDER BY id = ?2 DESC LIMIT 1",
            (workspace_id, name_or_id),
        ).fetchone()
        return None if row is None else _teamspace(row)

    def list_teamspaces(self, workspace_id: str) -> list[TeamspaceRecord]:
        """The workspace's teamspaces, by name."""
        with self._transaction(write=False, snapshot=False) as conn:
            rows = conn.execute(
                "SELECT id, workspace_id, name, visibility, description, created_at"
                " FROM teamspaces WHERE workspace_id = ? ORDER BY name",
                (workspace_id,),
            )
            return [_teamspace(r) for r in rows]
