"""A Prefect block that names a tilecred credential: the block holds the name, never the secret.

    from tilecred.integrations.prefect import TilecredCredential

    TilecredCredential(name="prod-s3", teamspace="etl").save("prod-s3")

    @task
    def read():
        s3 = TilecredCredential.load("prod-s3").get_boto3_session().client("s3")

Every shortcut is a use: gated by ``allowed_in_tasks`` and audited, with the
flow run and task run that asked in the record's detail.
"""

from __future__ import annotations

from typing import Any

from prefect.blocks.core import Block

from .._access import CredentialAccess
from .._api import get_client

__all__ = ["TilecredCredential"]


def _purpose() -> str:
    """``prefect flow=… task=…``: what the audit record says asked for the credential."""
    parts = ["prefect"]
    try:
        from prefect.context import FlowRunContext, TaskRunContext
    except ImportError:  # pragma: no cover - the context API is Prefect's
        return parts[0]
    flow = FlowRunContext.get()
    if flow is not None and flow.flow_run is not None:
        parts.append(f"flow={flow.flow_run.name}")
    task = TaskRunContext.get()
    if task is not None:
        parts.append(f"task={task.task_run.name}")
    return " ".join(parts)


class TilecredCredential(Block):  # type: ignore[misc]
    """A stored tilecred credential, by name.

    Attributes:
        name: the credential's name.
        teamspace: its teamspace; by default the caller's default teamspace,
            else the workspace.
    """

    _block_type_name = "tilecred Credential"
    _description = "A credential kept in tilecred, used by name: the block never holds the secret."

    name: str
    teamspace: str | None = None

    def use(self) -> CredentialAccess:
        """Use the credential: a ``CredentialAccess`` (close it, or use ``with``)."""
        return get_client().use_credential(self.name, teamspace=self.teamspace, purpose=_purpose())

    def get_boto3_session(self) -> Any:
        """A ``boto3.Session`` on the credential (AWS keys and roles, GCP HMAC keys),
        its S3 clients going to the credential's endpoint."""
        with self.use() as access:
            return access.boto3_session()

    def storage_options(self) -> dict[str, Any]:
        """fsspec's keyword arguments (s3fs, adlfs, gcsfs) for the credential."""
        with self.use() as access:
            return access.storage_options()

    def env(self) -> dict[str, str]:
        """The environment variables the provider's own tools read."""
        with self.use() as access:
            return access.env()

    def aws_credentials(self) -> Any:
        """prefect-aws' ``AwsCredentials`` for the credential (needs ``prefect-aws``):
        for the AWS blocks and tasks that take one."""
        from prefect_aws import AwsCredentials  # the prefect-aws package

        with self.use() as access:
            options = access.storage_options()
        fields: dict[str, Any] = {
            "aws_access_key_id": options.get("key"),
            "aws_secret_access_key": options.get("secret"),
            "aws_session_token": options.get("token"),
        }
        endpoint = options.get("endpoint_url")
        if endpoint is not None:
            fields["aws_client_parameters"] = {"endpoint_url": endpoint}
        return AwsCredentials(**{k: v for k, v in fields.items() if v is not None})
