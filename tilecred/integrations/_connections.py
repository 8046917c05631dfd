"""A used credential as an Airflow connection: the fields each provider's hooks read.

Kept apart from Airflow itself so that the mapping is one plain function,
tested without Airflow installed. Each kind maps to the connection type whose
hooks take it (``aws`` for S3Hook and the other AWS hooks, ``postgres`` for
PostgresHook, ...), and a credential's endpoint and path-style setting become
the connection's ``endpoint_url`` and addressing style.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._access import CredentialAccess
from .._errors import CredentialsError

__all__ = ["BASIC_SCHEMES", "airflow_connection"]

# A database login's scheme -> the Airflow connection type whose hooks read it.
BASIC_SCHEMES = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "mysql": "mysql",
    "mssql": "mssql",
    "snowflake": "snowflake",
    "oracle": "oracle",
    "http": "http",
    "https": "http",
}

_GCS_S3_ENDPOINT = "https://storage.googleapis.com"

Connection = dict[str, Any]


def _s3_addressing(path_style: bool | None) -> dict[str, Any]:
    if path_style is None:
        return {}
    return {"config_kwargs": {"s3": {"addressing_style": "path" if path_style else "virtual"}}}


def _aws_key(member: Any) -> Connection:
    extra: dict[str, Any] = {}
    token = getattr(member, "session_token", None)
    if token:
        extra["aws_session_token"] = token
    if member.endpoint:
        extra["endpoint_url"] = member.endpoint
    extra.update(_s3_addressing(member.use_path_style))
    return {
        "conn_type": "aws",
        "login": member.access_key_id,
        "password": member.secret_access_key,
        "extra": extra,
    }


def _aws_role(member: Any) -> Connection:
    # Airflow's AWS hooks assume the role themselves, with the worker's own
    # credentials, and refresh the temporary keys as they expire.
    extra: dict[str, Any] = {"role_arn": member.role_arn, "assume_role_method": "assume_role"}
    if member.external_id:
        extra["assume_role_kwargs"] = {"ExternalId": member.external_id}
    if member.endpoint:
        extra["endpoint_url"] = member.endpoint
    extra.update(_s3_addressing(member.use_path_style))
    return {"conn_type": "aws", "extra": extra}


def _gcp_hmac(member: Any) -> Connection:
    # An HMAC key speaks S3's protocol to Cloud Storage: an aws connection.
    return {
        "conn_type": "aws",
        "login": member.access_key_id,
        "password": member.secret_access_key,
        "extra": {"endpoint_url": _GCS_S3_ENDPOINT},
    }


def _blob_host(member: Any) -> str | None:
    endpoint = getattr(member, "blob_endpoint", None)
    account = getattr(member, "account_name", None)
    if endpoint:
        return str(endpoint)
    return None if not account else f"https://{account}.blob.core.windows.net/"


def _azure_key(member: Any) -> Connection:
    return {
        "conn_type": "wasb",
        "login": member.account_name,
        "password": member.account_key,
        "host": _blob_host(member),
    }


def _azure_sas(member: Any) -> Connection:
    return {
        "conn_type": "wasb",
        "login": member.account_name,
        "host": _blob_host(member),
        "extra": {"sas_token": member.sas_token},
    }


def _azure_service_principal(member: Any) -> Connection:
    extra: dict[str, Any] = {"tenant_id": member.tenant_id}
    if getattr(member, "authority", None):
        extra["authority"] = member.authority
    return {
        "conn_type": "wasb",
        "login": member.client_id,
        "password": member.client_secret,
        "host": _blob_host(member),
        "extra": extra,
    }


def _azure_entra_id(member: Any) -> Connection:
    # No secret: the worker's managed or workload identity signs in.
    extra: dict[str, Any] = {}
    if getattr(member, "client_id", None):
        extra["managed_identity_client_id"] = member.client_id
    if getattr(member, "tenant_id", None):
        extra["workload_identity_tenant_id"] = member.tenant_id
    return {"conn_type": "wasb", "host": _blob_host(member), "extra": extra}


def _gcp_service_account(access: CredentialAccess) -> Connection:
    info = access.storage_options()["token"]
    extra: dict[str, Any] = {"keyfile_dict": dict(info)}
    project = info.get("project_id")
    if project:
        extra["project"] = project
    return {"conn_type": "google_cloud_platform", "extra": extra}


def _snowflake(member: Any) -> Connection:
    extra: dict[str, Any] = {
        "account": member.account,
        "private_key_content": member.private_key_raw,
    }
    for field in ("role", "warehouse"):
        if getattr(member, field, None):
            extra[field] = getattr(member, field)
    return {
        "conn_type": "snowflake",
        "login": member.user,
        # Snowflake's hook reads the key's passphrase from the password.
        "password": member.private_key_passphrase,
        "extra": extra,
    }


def _databricks_service_principal(member: Any) -> Connection:
    return {
        "conn_type": "databricks",
        "host": member.host,
        "login": member.client_id,
        "password": member.client_secret,
        "extra": {"service_principal_oauth": True},
    }


def _databricks_pat(member: Any) -> Connection:
    return {"conn_type": "databricks", "host": member.host, "extra": {"token": member.token}}


def _basic(member: Any) -> Connection:
    scheme = (member.scheme or "").lower()
    conn_type = BASIC_SCHEMES.get(scheme, scheme or "generic")
    connection: Connection = {
        "conn_type": conn_type,
        "login": member.user,
        "password": member.password,
        "host": member.host,
        "port": member.port,
        "schema": member.database,
    }
    if member.params:
        connection["extra"] = dict(member.params)
    return connection


def _bearer(access: CredentialAccess) -> Connection:
    # HttpHook sends a connection's extra as request headers.
    member = access.credential.token.bearer  # type: ignore[union-attr]
    assert member is not None  # chosen by its kind
    return {"conn_type": "http", "host": member.url, "extra": dict(access.headers())}


def _oauth(access: CredentialAccess) -> Connection:
    # The access token, fetched (and reused until it nears expiry) by tilecred.
    member = access.credential.credential.oauth  # type: ignore[union-attr]
    assert member is not None  # chosen by its kind
    return {"conn_type": "http", "host": member.token_url, "extra": dict(access.headers())}


_FROM_MEMBER: dict[tuple[str, str], Callable[[Any], Connection]] = {
    ("credential", "aws"): _aws_key,
    ("credential", "azure"): _azure_key,
    ("credential", "gcp"): _gcp_hmac,
    ("credential", "azure_service_principal"): _azure_service_principal,
    ("credential", "basic"): _basic,
    ("role", "aws"): _aws_role,
    ("token", "azure"): _azure_sas,
    ("token", "azure_entra_id"): _azure_entra_id,
    ("token", "azure_entra_id_task"): _azure_entra_id,
    ("token", "snowflake"): _snowflake,
    ("token", "databricks"): _databricks_service_principal,
    ("token", "databricks_pat"): _databricks_pat,
}
# Kinds whose connection needs the access's forms, not only the stored fields.
_FROM_ACCESS: dict[tuple[str, str], Callable[[CredentialAccess], Connection]] = {
    ("token", "gcp"): _gcp_service_account,
    ("token", "bearer"): _bearer,
    ("credential", "oauth"): _oauth,
}


def _kind(access: CredentialAccess) -> tuple[str, str, Any]:
    credential = access.credential
    for container_name in ("credential", "role", "token"):
        container = getattr(credential, container_name)
        if container is None:
            continue
        for member_name in type(container).__struct_fields__:
            member = getattr(container, member_name)
            if member is not None:
                return container_name, member_name, member
    raise CredentialsError(
        "it holds no secret to turn into a connection",
        action="use credential",
        name=credential.name,
    )


def airflow_connection(access: CredentialAccess) -> Connection:
    """The Airflow connection (``Connection.from_json``'s fields) for a used credential.

    Empty fields are left out, as Airflow's own ``as_json`` leaves them out.

    Raises:
        CredentialsError: the credential's kind has no Airflow connection.
    """
    container, member_name, member = _kind(access)
    key = (container, member_name)
    if key in _FROM_ACCESS:
        connection = _FROM_ACCESS[key](access)
    elif key in _FROM_MEMBER:
        connection = _FROM_MEMBER[key](member)
    else:
        raise CredentialsError(
            f"{container}.{member_name} has no Airflow connection type",
            action="use credential",
            name=access.credential.name,
        )
    return {field: value for field, value in connection.items() if value not in (None, "", {})}
