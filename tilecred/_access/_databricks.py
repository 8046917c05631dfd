"""Databricks service principals' OAuth secrets and personal access tokens:
environment variables only."""

from __future__ import annotations

from typing import ClassVar

from .._models import DatabricksPersonalAccessToken, DatabricksServicePrincipalSecret
from ._base import Forms, use_error

__all__ = ["DatabricksForms", "DatabricksPATForms"]

_NOT_STORAGE = {
    "storage_options": "Databricks is a workspace, not object storage (no fsspec filesystem)",
    "tiledb_config": "Databricks is a workspace, not object storage (TileDB cannot read it)",
    "boto3_session": "boto3 is for AWS",
}


class DatabricksForms(Forms):
    """``Token(databricks=DatabricksServicePrincipalSecret(...))``.

    The variables of Databricks' unified authentication (machine-to-machine
    OAuth), which its SDKs and CLI read.
    """

    kind = "a Databricks service principal secret"
    not_applicable: ClassVar[dict[str, str]] = _NOT_STORAGE
    member: DatabricksServicePrincipalSecret

    def env(self) -> dict[str, str]:
        secret = self.member
        if secret.host is None or secret.client_id is None:
            raise use_error(self.name, f"{self.kind} needs a host and a client_id")
        if secret.client_secret is None:
            raise use_error(self.name, f"{self.kind} came without its secret")
        return {
            "DATABRICKS_HOST": secret.host,
            "DATABRICKS_CLIENT_ID": secret.client_id,
            "DATABRICKS_CLIENT_SECRET": secret.client_secret,
        }


class DatabricksPATForms(Forms):
    """``Token(databricks_pat=DatabricksPersonalAccessToken(...))``: the variables
    of Databricks' personal access token authentication."""

    kind = "a Databricks personal access token"
    not_applicable: ClassVar[dict[str, str]] = _NOT_STORAGE
    member: DatabricksPersonalAccessToken

    def env(self) -> dict[str, str]:
        if self.member.token is None:
            raise use_error(self.name, f"{self.kind} came without its secret")
        return {"DATABRICKS_HOST": self.member.host, "DATABRICKS_TOKEN": self.member.token}
