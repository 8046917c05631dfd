"""Airflow's secrets backend over tilecred: a connection id is a credential's name.

Configure it in ``airflow.cfg`` (or ``AIRFLOW__SECRETS__BACKEND``)::

    [secrets]
    backend = tilecred.integrations.airflow.TilecredBackend
    backend_kwargs = {"teamspace": "etl", "connections_prefix": "tilecred_"}

``BaseHook.get_connection("prod-s3")`` then uses the credential ``prod-s3``:
gated by ``allowed_in_tasks``, recorded in the audit log with the DAG and
task that asked, and turned into the connection that provider's hooks read.
tilecred is reached the way every other call reaches it: TileDB's settings
(a task token in ``TILEDB_REST_TOKEN``, say) or the local store.
"""

from __future__ import annotations

import json
import os
from typing import Any

from airflow.secrets import BaseSecretsBackend

from .._api import get_client
from .._errors import CredentialsError, NotFoundError
from ._connections import airflow_connection

try:  # Airflow's task SDK has it from 1.2.2; older ones had a PermissionError of their own.
    from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied
except ImportError:  # pragma: no cover - depends on the installed Airflow

    class AirflowSecretsBackendAccessDenied(PermissionError):  # type: ignore[no-redef]
        """Stands in for Airflow's own where it has none."""


__all__ = ["TilecredBackend"]

# Where Airflow tells a task's process which task it runs.
_CONTEXT_VARIABLES = (
    ("dag", "AIRFLOW_CTX_DAG_ID"),
    ("task", "AIRFLOW_CTX_TASK_ID"),
    ("run", "AIRFLOW_CTX_DAG_RUN_ID"),
)


def task_purpose() -> str:
    """``airflow dag=… task=… run=…``: what the audit record says asked for the credential."""
    parts = ["airflow"]
    parts.extend(
        f"{label}={os.environ[variable]}"
        for label, variable in _CONTEXT_VARIABLES
        if os.environ.get(variable)
    )
    return " ".join(parts)


class TilecredBackend(BaseSecretsBackend):  # type: ignore[misc]
    """Connections from tilecred credentials, by name.

    Parameters:
        teamspace: the teamspace the credentials are in; by default the
            caller's default teamspace, else the workspace.
        connections_prefix: when given, only connection ids that start with
            it are looked up here, with the prefix removed; others are left
            to the next backend.
    """

    def __init__(
        self, teamspace: str | None = None, connections_prefix: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.teamspace = teamspace or None
        self.connections_prefix = connections_prefix or None

    def _credential_name(self, conn_id: str) -> str | None:
        if self.connections_prefix is None:
            return conn_id
        if not conn_id.startswith(self.connections_prefix):
            return None
        return conn_id[len(self.connections_prefix) :] or None

    def connection_dict(self, conn_id: str) -> dict[str, Any] | None:
        """The connection's fields for ``conn_id``, or ``None`` when tilecred has no
        credential by that name (Airflow then asks its next backend).

        Raises:
            AirflowSecretsBackendAccessDenied: the credential exists but may not
                be used here (not allowed in tasks, deactivated, out of the
                token's scope); the message is tilecred's.
        """
        name = self._credential_name(conn_id)
        if name is None:
            return None
        try:
            access = get_client().use_credential(
                name, teamspace=self.teamspace, purpose=task_purpose()
            )
        except NotFoundError:
            return None
        except CredentialsError as exc:
            # Airflow passes only this exception through to the task's log.
            raise AirflowSecretsBackendAccessDenied(str(exc)) from exc
        with access:
            return airflow_connection(access)

    def get_conn_value(self, conn_id: str, team_name: str | None = None) -> str | None:
        """The connection for ``conn_id`` as Airflow's JSON, or ``None``."""
        fields = self.connection_dict(conn_id)
        return None if fields is None else json.dumps(fields)

    def get_variable(self, key: str, team_name: str | None = None) -> str | None:
        """tilecred holds credentials, not variables: always ``None``."""
        return None
