"""Associations: which credential is for which URL prefix or object id.

An association ties a credential (by id: a rename keeps it, a delete removes
it) to a target. At most one credential is a target's default in a scope;
making another the default moves it, in the same transaction. ``use_by``
finds a credential from a URL, an object id or a provider's default, and
uses it in the one transaction that chose it, so what was chosen is what is
opened and audited.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from .._errors import ConflictError, NotFoundError
from .._models import AccessCredential, Association, CloudProvider
from .._targets import longest_matches
from ._audit import AuditEntry, insert_audit
from ._core import _COLUMNS, _not_found, _now
from ._credentials import Credentials
from ._engine import Connection, Retry, retrying
from ._records import from_micros

__all__ = ["HOWS", "Associations", "use_detail"]

# The credential columns, named through the join's alias.
_C_COLUMNS = ", ".join("c." + column.strip() for column in _COLUMNS.split(","))
_DEFAULT_INDEX = "associations_default"
# How use_by chooses: by URL prefix, by exact target, or the provider's default.
HOWS = ("url", "target", "provider")


def use_detail(how: str, value: str, purpose: str | None) -> str:
    """A chosen use's audit detail: what chose the credential, then what for."""
    chosen = f"{how}={value}"
    return chosen if purpose is None else f"{chosen}; {purpose}"


def _where(workspace: str, teamspace: str | None) -> str:
    return f"workspace {workspace!r}" + ("" if teamspace is None else f", teamspace {teamspace!r}")


class Associations(Credentials):
    """The association operations, and using a credential they choose."""

    @contextlib.contextmanager
    def _target_default_race(self, target: str) -> Iterator[None]:
        # Another instance (PostgreSQL) made a default for the target meanwhile.
        try:
            yield
        except self._engine.errors as exc:
            if self._engine.unique_index(exc) is None:
                raise
            message = f"another credential became the default of {target!r} at the same time"
            if self._engine.retries_races:
                raise Retry(message, status=409) from exc
            raise ConflictError(f"{message}: try again", status=409) from exc

    @retrying
    def associate(
        self,
        workspace_id: str,
        teamspace_id: str | None,
        name: str,
        target: str,
        default: bool,
        *,
        audit: AuditEntry,
    ) -> Association:
        """Associate a credential with a target; with ``default``, it becomes the
        target's default (any other loses it). Associating again sets ``default``.

        Raises:
            NotFoundError: no credential by that name in that scope.
        """
        scope = teamspace_id or ""
        with self._transaction(write=True) as conn:
            row = self._credential_row(conn, workspace_id, teamspace_id, name)
            if row is None:
                raise _not_found()
            ident, now = row[0], _now()
            audit.credential_id = ident
            detail = f"target={target}" + (" default" if default else "")
            with self._target_default_race(target):
                if default:
                    moved = conn.execute(
                        "UPDATE associations SET is_default = 0 WHERE workspace_id = ?"
                        " AND scope = ? AND target = ? AND is_default = 1 AND credential_id <> ?"
                        " RETURNING credential_id",
                        (workspace_id, scope, target, ident),
                    ).fetchall()
                    if moved:
                        (before,) = conn.execute(
                            "SELECT name FROM credentials WHERE id = ?", (moved[0][0],)
                        ).fetchone()
                        detail += f" (was {before!r}'s)"
                held = conn.execute(
                    "SELECT created_at FROM associations WHERE credential_id = ? AND target = ?",
                    (ident, target),
                ).fetchone()
                if held is None:
                    conn.execute(
                        "INSERT INTO associations (credential_id, workspace_id, scope, target,"
                        " is_default, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (ident, workspace_id, scope, target, default, now),
                    )
                else:
                    now = held[0]
                    conn.execute(
                        "UPDATE associations SET is_default = ? WHERE credential_id = ?"
                        " AND target = ?",
                        (default, ident, target),
                    )
            insert_audit(conn, audit, "ok", detail)
            _, teamspace = self._scope_names(conn, workspace_id, teamspace_id)
        return Association(
            name=name, teamspace=teamspace, target=target, default=default,
            created_at=from_micros(now),
        )  # fmt: skip

    @retrying
    def dissociate(
        self,
        workspace_id: str,
        teamspace_id: str | None,
        name: str,
        target: str,
        *,
        audit: AuditEntry,
    ) -> None:
        """Remove a credential's association with a target.

        Raises:
            NotFoundError: no such credential, or it is not associated with the target.
        """
        with self._transaction(write=True) as conn:
            row = self._credential_row(conn, workspace_id, teamspace_id, name)
            if row is None:
                raise _not_found()
            audit.credential_id = row[0]
            gone = conn.execute(
                "DELETE FROM associations WHERE credential_id = ? AND target = ?"
                " RETURNING is_default",
                (row[0], target),
            ).fetchall()
            if not gone:
                raise NotFoundError(
                    f"credential {name!r} is not associated with {target!r}", status=404
                )
            detail = f"target={target}" + (" default" if gone[0][0] else "")
            insert_audit(conn, audit, "ok", detail)

    def list_associations(
        self,
        workspace_id: str,
        teamspace_id: str | None,
        name: str | None = None,
        target: str | None = None,
        *,
        ids: Collection[str] | None = None,
    ) -> list[Association]:
        """A scope's associations, by target then name; ``name`` and ``target``
        filter (exactly), ``ids`` keeps only those credentials (a task token's).

        Raises:
            NotFoundError: ``name`` names no credential in that scope (not
                asked with ``ids``: a held token learns nothing of others).
        """
        where = ["a.workspace_id = ?", "a.scope = ?"]
        params: list[Any] = [workspace_id, teamspace_id or ""]
        if name is not None:
            where.append("c.name = ?")
            params.append(name)
        if target is not None:
            where.append("a.target = ?")
            params.append(target)
        if ids is not None:
            where.append(f"c.id IN ({', '.join('?' * len(ids))})" if ids else "1 = 0")
            params.extend(ids)
        with self._transaction(write=False) as conn:
            if (
                name is not None
                and ids is None
                and not self._credential_row(conn, workspace_id, teamspace_id, name)
            ):
                raise _not_found()
            rows = conn.execute(
                "SELECT c.name, t.name, a.target, a.is_default, a.created_at"  # noqa: S608
                " FROM associations a JOIN credentials c ON c.id = a.credential_id"
                " LEFT JOIN teamspaces t ON t.id = c.teamspace_id"
                f" WHERE {' AND '.join(where)} ORDER BY a.target, c.name",
                params,
            ).fetchall()
        return [
            Association(
                name=found, teamspace=teamspace, target=aim, default=bool(default),
                created_at=from_micros(created),
            )
            for found, teamspace, aim, default, created in rows
        ]  # fmt: skip

    # -- using the credential they choose -------------------------------------------

    @retrying
    def use_by(
        self,
        workspace_id: str,
        teamspace_id: str | None,
        how: str,
        value: str,
        *,
        audit: AuditEntry,
        check: Callable[[Connection], None] | None = None,
        withheld: Mapping[tuple[str, str], str] | None = None,
    ) -> AccessCredential:
        """Use the credential that ``how`` (``url``, ``target`` or ``provider``)
        and ``value`` choose, in the transaction that chooses it; ``audit``'s
        credential is set to the one chosen before ``check`` runs. ``withheld``
        as for ``use_credential``.

        Raises:
            NotFoundError: nothing is associated (or no provider default).
            ConflictError: several credentials and none of them the default.
            PermissionDeniedError: the chosen one may not be used in tasks.
        """
        with self._transaction(write=True) as conn:
            row = self._choose(conn, workspace_id, teamspace_id, how, value)
            audit.credential = row[2]
            return self._use_row(conn, workspace_id, row, audit, check, withheld)

    def _choose(
        self, conn: Connection, workspace_id: str, teamspace_id: str | None, how: str, value: str
    ) -> tuple[Any, ...]:
        scope = teamspace_id or ""
        where = _where(*self._scope_names(conn, workspace_id, teamspace_id))
        if how == "provider":
            row: tuple[Any, ...] | None = conn.execute(
                f"SELECT {_COLUMNS} FROM credentials WHERE workspace_id = ? AND scope = ?"  # noqa: S608
                " AND provider = ? AND provider_default = 1",
                (workspace_id, scope, CloudProvider(value).value),
            ).fetchone()
            if row is None:
                raise NotFoundError(
                    f"no {value} credential is the provider default in {where}: make one "
                    "the default with update_credential(name, provider_default=True)",
                    status=404,
                )
            return row
        if how == "url":
            condition = "substr(CAST(? AS TEXT), 1, length(a.target)) = a.target"
        else:
            condition = "a.target = ?"
        rows = conn.execute(
            f"SELECT a.target, a.is_default, {_C_COLUMNS} FROM associations a"  # noqa: S608
            " JOIN credentials c ON c.id = a.credential_id"
            f" WHERE a.workspace_id = ? AND a.scope = ? AND {condition} ORDER BY c.name",
            (workspace_id, scope, value),
        ).fetchall()
        best = longest_matches(value, [r[0] for r in rows]) if how == "url" else value
        candidates = [tuple(r[2:]) for r in rows if r[0] == best]
        if not candidates:
            what = "a prefix of URL" if how == "url" else "target"
            raise NotFoundError(
                f"no credential is associated with {what} {value!r} in {where}: "
                "associate one with associate_credential(name, target)",
                status=404,
            )
        if len(candidates) == 1:
            return candidates[0]
        defaults = [tuple(r[2:]) for r in rows if r[0] == best and r[1]]
        if defaults:
            return defaults[0]
        names = ", ".join(repr(c[2]) for c in candidates)
        raise ConflictError(
            f"{len(candidates)} credentials are associated with {best!r} and none is its "
            f"default: {names}; choose one by name, or make one the default with "
            "associate_credential(name, target, default=True)",
            status=409,
        )
