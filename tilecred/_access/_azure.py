"""Azure storage account keys, SAS tokens and Entra ID access, in each form."""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

from .._models import AzureCredential, AzureServicePrincipal, AzureToken
from ._base import Forms, use_error
from ._expiry import sas_expiry, utcnow

__all__ = ["AzureEntraIDForms", "AzureKeyForms", "AzureSASForms", "AzureServicePrincipalForms"]

_NO_BOTO3 = "boto3 is for AWS (and S3-compatible stores), not Azure"


def default_blob_endpoint(account_name: str) -> str:
    """Azure's public blob endpoint for an account."""
    return f"https://{account_name}.blob.core.windows.net"


class _StorageForms(Forms):
    """An account name and one secret (key or SAS), at a blob endpoint."""

    not_applicable: ClassVar[dict[str, str]] = {"boto3_session": _NO_BOTO3}
    # (env names, adlfs option, TileDB parameter, connection string key) of the secret.
    secret_names: tuple[tuple[str, ...], str, str, str] = ((), "", "", "")

    def account(self) -> tuple[str, str, str | None]:
        """The account name, the secret and the blob endpoint (None: Azure's default)."""
        raise NotImplementedError

    def _parts(self) -> tuple[str, str, str | None]:
        self.check_usable()
        account, secret, endpoint = self.account()
        if endpoint is not None and endpoint.rstrip("/") == default_blob_endpoint(account):
            endpoint = None
        return account, secret, endpoint

    def _connection_string(self, account: str, secret: str, endpoint: str) -> str:
        # adlfs reaches any endpoint but Azure's own only through a connection
        # string (account_host is https-only and cannot carry a path, as
        # Azurite's http://host:port/account has).
        key = self.secret_names[3]
        bare = self.secret(secret.lstrip("?"))  # a SAS without its "?": masked as well
        return f"AccountName={account};{key}={bare};BlobEndpoint={endpoint};"

    def env(self) -> dict[str, str]:
        account, secret, endpoint = self._parts()
        env = {"AZURE_STORAGE_ACCOUNT_NAME": account, "AZURE_STORAGE_ACCOUNT": account}
        env.update(dict.fromkeys(self.secret_names[0], secret))
        if endpoint is not None:
            env["AZURE_BLOB_ENDPOINT"] = endpoint
            env["AZURE_STORAGE_CONNECTION_STRING"] = self._connection_string(
                account, secret, endpoint
            )
        return env

    def storage_options(self) -> dict[str, Any]:
        account, secret, endpoint = self._parts()
        options = {"account_name": account, self.secret_names[1]: secret}
        if endpoint is not None:
            options["connection_string"] = self._connection_string(account, secret, endpoint)
        return options

    def tiledb_config(self) -> dict[str, str]:
        account, secret, endpoint = self._parts()
        config = {"vfs.azure.storage_account_name": account, self.secret_names[2]: secret}
        if endpoint is not None:
            config["vfs.azure.blob_endpoint"] = endpoint
        return config


class AzureKeyForms(_StorageForms):
    """``Credential(azure=AzureCredential(...))``: a storage account key."""

    kind = "an Azure storage account key"
    secret_names = (
        ("AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_KEY"),
        "account_key",
        "vfs.azure.storage_account_key",
        "AccountKey",
    )
    member: AzureCredential

    def account(self) -> tuple[str, str, str | None]:
        key = self.member
        if key.account_name is None:
            raise use_error(self.name, f"{self.kind} has no account_name")
        if key.account_key is None:
            raise use_error(self.name, f"{self.kind} came without its secret")
        return key.account_name, key.account_key, key.blob_endpoint


class AzureSASForms(_StorageForms):
    """``Token(azure=AzureToken(...))``: a shared access signature.

    Its ``se=`` is the expiry: every form refuses an expired token, so the
    caller learns it now rather than from a 403 later.
    """

    kind = "an Azure SAS token"
    secret_names = (
        ("AZURE_STORAGE_SAS_TOKEN",),
        "sas_token",
        "vfs.azure.storage_sas_token",
        "SharedAccessSignature",
    )
    member: AzureToken

    @property
    def expires_at(self) -> datetime.datetime | None:
        token = self.member.sas_token
        return None if token is None else sas_expiry(token)

    def check_usable(self) -> None:
        expiry = self.expires_at
        if expiry is not None and expiry <= utcnow():
            raise use_error(
                self.name,
                f"its SAS token expired at {expiry.isoformat()}; "
                "store a new one with update_credential",
            )

    def account(self) -> tuple[str, str, str | None]:
        token = self.member
        if token.sas_token is None:
            raise use_error(self.name, f"{self.kind} came without its secret")
        return token.account_name, token.sas_token, token.blob_endpoint


_ENTRA_WHY = (
    "it holds no secret to hand out (TileDB's service signs in with its own "
    "Entra ID identity); sign in as yourself (azure.identity's DefaultAzureCredential)"
)


class AzureEntraIDForms(Forms):
    """``Token(azure_entra_id=...)`` and ``Token(azure_entra_id_task=...)``."""

    kind = "an Azure Entra ID credential"
    not_applicable: ClassVar[dict[str, str]] = {
        "env": _ENTRA_WHY,
        "storage_options": _ENTRA_WHY,
        "tiledb_config": _ENTRA_WHY,
        "boto3_session": _NO_BOTO3,
    }


class AzureServicePrincipalForms(Forms):
    """``Credential(azure_service_principal=AzureServicePrincipal(...))``.

    azure-identity's variables (``EnvironmentCredential``, and so
    ``DefaultAzureCredential``) and adlfs' options; TileDB's Azure backend
    takes no client secret.
    """

    kind = "an Azure service principal"
    not_applicable: ClassVar[dict[str, str]] = {
        "tiledb_config": "TileDB's Azure backend signs in with a key or a SAS, not a client secret",
        "boto3_session": _NO_BOTO3,
    }
    member: AzureServicePrincipal

    def _secret(self) -> str:
        if self.member.client_secret is None:
            raise use_error(self.name, f"{self.kind} came without its client secret")
        return self.member.client_secret

    def env(self) -> dict[str, str]:
        principal = self.member
        env = {
            "AZURE_TENANT_ID": principal.tenant_id,
            "AZURE_CLIENT_ID": principal.client_id,
            "AZURE_CLIENT_SECRET": self._secret(),
        }
        if principal.authority is not None:
            env["AZURE_AUTHORITY_HOST"] = principal.authority
        if principal.account_name is not None:
            env["AZURE_STORAGE_ACCOUNT_NAME"] = principal.account_name
        return env

    def storage_options(self) -> dict[str, Any]:
        principal = self.member
        if principal.account_name is None:
            raise use_error(self.name, f"storage_options() needs {self.kind}'s account_name")
        return {
            "account_name": principal.account_name,
            "tenant_id": principal.tenant_id,
            "client_id": principal.client_id,
            "client_secret": self._secret(),
        }
