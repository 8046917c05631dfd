"""A credential as a row: its columns, its teamspace, its provider default, its sealed secret.

SQL here is built only from constant fragments (hence the S608 exemptions);
every value is bound as a parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._arguments import is_teamspace_id
from .._errors import CredentialsError, NotFoundError
from .._models import AccessCredential, CloudProvider, CredentialsVerifyRequest, CredentialType
from . import _keys
from ._core import _COLUMNS, _PROVIDERS, _row_aad, logger
from ._engine import Connection
from ._records import from_micros
from ._rows import join_secret, public_container, the_secret
from ._spaces import Spaces
from ._verify import verify_request
from ._verify_cache import RESULTS, VerifyBudget, costly, version

__all__ = ["CredentialRows", "altered"]


def altered(name: str) -> CredentialsError:
    """The integrity failure of a secret that does not open with the store's key."""
    return CredentialsError(
        f"the secret of credential {name!r} does not open: its row was changed outside "
        "tilecred (its allowed_in_tasks, name, scope or id is not what it was sealed with), "
        "or the store was altered"
    )


class CredentialRows(Spaces):
    """A credential's row: finding it, reading it, opening its secret."""

    def _scope(
        self, conn: Connection, workspace_id: str, teamspace: str | None, *, create: bool
    ) -> str | None:
        if teamspace is None:
            return None
        found = self._find_teamspace(conn, workspace_id, teamspace)
        if found is not None:
            return found.id
        if create and not is_teamspace_id(teamspace):
            return self._insert_teamspace(conn, workspace_id, teamspace).id
        raise NotFoundError(f"teamspace {teamspace!r} not found", status=404)

    @staticmethod
    def _credential_row(
        conn: Connection, workspace_id: str, teamspace_id: str | None, name: str
    ) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = conn.execute(
            f"SELECT {_COLUMNS} FROM credentials WHERE workspace_id = ? AND scope = ? AND name = ?",  # noqa: S608
            (workspace_id, teamspace_id or "", name),
        ).fetchone()
        return row

    @staticmethod
    def _clear_default(
        conn: Connection,
        workspace_id: str,
        teamspace_id: str | None,
        provider: CloudProvider,
        now: int,
    ) -> None:
        conn.execute(
            "UPDATE credentials SET provider_default = 0, updated_at ="
            " CASE WHEN ?1 > updated_at THEN ?1 ELSE updated_at + 1 END"
            " WHERE workspace_id = ?2 AND scope = ?3 AND provider = ?4 AND provider_default = 1",
            (now, workspace_id, teamspace_id or "", provider.value),
        )

    @staticmethod
    def _credential(row: tuple[Any, ...], opened: bytes | None = None) -> AccessCredential:
        (ident, teamspace_id, name, provider, default, allowed,
         kind, member, public, _sealed, created, updated, active, expires,
         description) = row  # fmt: skip
        secret: dict[str, Any] = {
            kind: public_container(kind, member, public)
            if opened is None
            else join_secret(kind, member, public, opened).container()
        }
        return AccessCredential(
            credential_type=CredentialType.TEAMSPACE if teamspace_id else CredentialType.WORKSPACE,
            id=ident,
            name=name,
            provider=_PROVIDERS[provider],
            provider_default=bool(default),
            created_at=from_micros(created),
            updated_at=from_micros(updated),
            allowed_in_tasks=bool(allowed),
            active=bool(active),
            expires_at=None if expires is None else from_micros(expires),
            description=description,
            **secret,
        )

    @staticmethod
    def _open_secret(
        cipher: Callable[[], _keys.Cipher], workspace_id: str, row: tuple[Any, ...]
    ) -> bytes | None:
        """The row's secret, opened; ``cipher`` is asked for only if there is one."""
        sealed = row[9]
        if sealed is None:
            return None
        aad = _row_aad(workspace_id, row[1], row[2], row[0], bool(row[5]))
        opened = cipher().open(bytes(sealed), aad)
        if opened is None:
            raise altered(row[2])
        return opened

    def _status(
        self,
        cipher: Callable[[], _keys.Cipher],
        workspace_id: str,
        row: tuple[Any, ...],
        budget: VerifyBudget,
    ) -> str | None:
        """``"verified"`` or ``"failed"``; ``None`` when ``budget`` leaves its key unchecked."""
        kept = RESULTS.get(version(row))
        if kept is not None:
            return kept
        try:
            credential = self._credential(row, self._open_secret(cipher, workspace_id, row))
            request = CredentialsVerifyRequest(
                name=credential.name,
                provider=credential.provider,
                credential=credential.credential,
                role=credential.role,
                token=credential.token,
            )
            secret = the_secret(request, required=True)
            if secret is not None and costly(secret.value):
                with budget.key_check() as allowed:
                    if not allowed:
                        return None
                    verify_request(request)
            else:
                verify_request(request)
            status = "verified"
        except CredentialsError:
            status = "failed"
        except Exception as exc:
            # A listing must not fail on one odd row; only the type is logged,
            # as an unexpected error's message could quote a secret.
            logger.warning(
                "verifying credential %r failed unexpectedly (%s)", row[2], type(exc).__name__
            )
            status = "failed"
        RESULTS.put(version(row), status)
        return status

    @staticmethod
    def _scope_names(
        conn: Connection, workspace_id: str, teamspace_id: str | None
    ) -> tuple[str, str | None]:
        """The names of a workspace and teamspace, for messages."""
        (workspace,) = conn.execute(
            "SELECT name FROM workspaces WHERE id = ?", (workspace_id,)
        ).fetchone()
        if teamspace_id is None:
            return workspace, None
        (teamspace,) = conn.execute(
            "SELECT name FROM teamspaces WHERE id = ?", (teamspace_id,)
        ).fetchone()
        return workspace, teamspace
