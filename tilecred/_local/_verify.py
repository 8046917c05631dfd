"""Structural verification of a credential, without calling any cloud.

Each check knows one kind of secret: the fields it needs and the shape each
must have (an AWS key id, an IAM role ARN, an Azure account name, a GCP key
file that parses, a Snowflake key that loads with its passphrase, …). A
failure is a :class:`CredentialsError` with status 422 whose message starts
with the path of the field at fault; it never quotes a secret value.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .._access._expiry import sas_expiry, stamp, utcnow
from .._errors import CredentialsError
from .._limits import MAX_GCP_KEY_CHARS, MAX_PASSPHRASE_CHARS, MAX_PRIVATE_KEY_CHARS
from .._models import (
    AWSCredential,
    AWSRole,
    AzureCredential,
    AzureEntraIDTaskToken,
    AzureEntraIDToken,
    AzureServicePrincipal,
    AzureToken,
    BasicCredential,
    BearerToken,
    CredentialCreateRequest,
    CredentialsVerifyRequest,
    DatabricksPersonalAccessToken,
    DatabricksServicePrincipalSecret,
    GCPInteroperabilityCredential,
    GCPServiceAccountKey,
    OAuthClientCredential,
    SnowflakeServiceUserKey,
    _Model,
)
from ._pem import LOAD_FAILED, KeyRefused, load_key, read_pem
from ._rows import UNPROCESSABLE, the_secret

__all__ = ["verify_request"]

_AWS_KEY_ID = re.compile(r"(AKIA|ASIA)[A-Z0-9]{16}")
# Partitions: aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, …
_ROLE_ARN = re.compile(r"arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}")
_EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}")
_AZURE_ACCOUNT = re.compile(r"[a-z0-9]{3,24}")
_GUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_GCP_HMAC_ID = re.compile(r"GOOG[A-Z0-9]{10,}")
_DOMAIN = re.compile(r"([a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
# RFC 9110's token: what a header name is made of.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_BREAK = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Where plain http is allowed for a token endpoint or an API: this machine.
_LOOPBACK = ("localhost", "127.0.0.1", "::1")
# What Google's service-account JSON key must hold for a client to use it.
_GCP_KEY_FIELDS = ("project_id", "private_key_id", "private_key", "client_email", "token_uri")


class _Fault(Exception):
    """One field failed: its name (relative to the member) and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.field = field
        self.reason = reason


def _required(value: str | None, field: str) -> str:
    if not value:
        raise _Fault(field, "required")
    return value


def _https(value: str | None, field: str, *, required: bool = False) -> None:
    if value is None and not required:
        return
    try:
        parts = urlsplit(_required(value, field))
        usable = parts.scheme == "https" and bool(parts.hostname)
    except ValueError:
        # urlsplit refuses some malformed URLs (an unclosed "[" of an IPv6 host).
        usable = False
    if not usable:
        raise _Fault(field, "not an https URL (https://<host>)")


def _web_url(value: str | None, field: str, *, required: bool = False) -> None:
    """An https URL, or http to this machine (a local service, a test's)."""
    if value is None and not required:
        return
    try:
        parts = urlsplit(_required(value, field))
        usable = bool(parts.hostname) and (
            parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)
        )
    except ValueError:
        usable = False
    if not usable:
        raise _Fault(field, "not an https URL (http only to localhost)")


def _account_name(value: str | None, field: str) -> None:
    if not _AZURE_ACCOUNT.fullmatch(_required(value, field)):
        raise _Fault(
            field, "not an Azure storage account name (3-24 lower-case letters and digits)"
        )


def _guid(value: str | None, field: str, *, required: bool = True) -> None:
    if value is None and not required:
        return
    if not _GUID.fullmatch(_required(value, field)):
        raise _Fault(field, "not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")


def _aws_credential(value: AWSCredential) -> None:
    key_id = _required(value.access_key_id, "access_key_id")
    # A key for an S3-compatible service (endpoint given) has its own format.
    if value.endpoint is None and not _AWS_KEY_ID.fullmatch(key_id):
        raise _Fault(
            "access_key_id",
            "not an AWS access key id (AKIA or ASIA and 16 upper-case letters or digits)",
        )
    _required(value.secret_access_key, "secret_access_key")


def _aws_role(value: AWSRole) -> None:
    if not _ROLE_ARN.fullmatch(value.role_arn or ""):
        raise _Fault("role_arn", "not an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)")
    if value.external_id and not _EXTERNAL_ID.fullmatch(value.external_id):
        raise _Fault("external_id", "not an external id (2-1224 of letters, digits and +=,.@:/-)")


def _azure_credential(value: AzureCredential) -> None:
    _account_name(value.account_name, "account_name")
    try:
        base64.b64decode(_required(value.account_key, "account_key"), validate=True)
    except (binascii.Error, ValueError):
        raise _Fault("account_key", "not base64, as Azure issues account keys") from None
    _https(value.blob_endpoint, "blob_endpoint")


def _azure_token(value: AzureToken) -> None:
    _account_name(value.account_name, "account_name")
    token = _required(value.sas_token, "sas_token")
    if "sig=" not in token:
        raise _Fault("sas_token", "not a shared access signature (it has no sig parameter)")
    # A token past its se= cannot work, so it fails; one near it passes, and
    # the client warns (verify_credential).
    expires = sas_expiry(token)
    if expires is not None and expires <= utcnow():
        raise _Fault("sas_token", f"expired at {stamp(expires)} (its se=)")
    _https(value.blob_endpoint, "blob_endpoint")


def _azure_entra_id(value: AzureEntraIDToken) -> None:
    _https(value.blob_endpoint, "blob_endpoint", required=True)


def _azure_entra_id_task(value: AzureEntraIDTaskToken) -> None:
    _guid(value.client_id, "client_id")
    _guid(value.tenant_id, "tenant_id", required=False)
    _https(value.blob_endpoint, "blob_endpoint")


def _gcp_hmac(value: GCPInteroperabilityCredential) -> None:
    if not _GCP_HMAC_ID.fullmatch(_required(value.access_key_id, "access_key_id")):
        raise _Fault(
            "access_key_id", "not a GCP HMAC access id (GOOG and upper-case letters or digits)"
        )
    _required(value.secret_access_key, "secret_access_key")


def _gcp_service_account(value: GCPServiceAccountKey) -> None:
    _required(value.account_id, "account_id")
    _required(value.key_id, "key_id")
    text = _bounded(_required(value.key_text, "key_text"), "key_text", MAX_GCP_KEY_CHARS)
    try:
        key: Any = json.loads(text)
    except (ValueError, RecursionError):
        # The parser's message can quote the text: say only what is wrong.
        raise _Fault(
            "key_text", "not JSON: give the service-account key file Google issues"
        ) from None
    if not isinstance(key, dict) or key.get("type") != "service_account":
        raise _Fault("key_text", 'not a service-account key (its "type" must be "service_account")')
    missing = [f for f in _GCP_KEY_FIELDS if not isinstance(key.get(f), str) or not key[f]]
    if missing:
        raise _Fault("key_text", f"the key file lacks {', '.join(missing)}")
    if key["private_key_id"] != value.key_id:
        raise _Fault("key_id", "does not match the key file's private_key_id")
    try:
        pem = read_pem(key["private_key"])
        if pem.encrypted:
            raise KeyRefused("is encrypted; Google's key files are not")
        load_key(pem, None)
    except KeyRefused as refused:
        raise _Fault("key_text", _private_key_fault(refused)) from None


def _private_key_fault(refused: KeyRefused) -> str:
    if str(refused) == LOAD_FAILED:
        return "the private key does not load as PEM"
    return f"the private key: {refused}"


def _bounded(value: str, field: str, limit: int) -> str:
    # Refused before any parsing: the size of what is parsed is bounded.
    if len(value) > limit:
        raise _Fault(field, f"is {len(value):,} characters long; the limit is {limit:,}")
    return value


def _snowflake(value: SnowflakeServiceUserKey) -> None:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    _required(value.account, "account")
    _required(value.user, "user")
    raw = _required(value.private_key_raw, "private_key_raw")
    passphrase = value.private_key_passphrase
    try:
        pem = read_pem(_bounded(raw, "private_key_raw", MAX_PRIVATE_KEY_CHARS))
    except KeyRefused as refused:
        raise _Fault("private_key_raw", str(refused)) from None
    if pem.encrypted and not passphrase:
        raise _Fault("private_key_passphrase", "required: the private key is encrypted")
    if passphrase and not pem.encrypted:
        raise _Fault("private_key_passphrase", "given, but the private key is not encrypted")
    if passphrase:
        _bounded(passphrase, "private_key_passphrase", MAX_PASSPHRASE_CHARS)
    try:
        key = load_key(pem, passphrase.encode() if passphrase else None)
    except KeyRefused as refused:
        if pem.encrypted and str(refused) == LOAD_FAILED:
            raise _Fault("private_key_passphrase", "does not decrypt the private key") from None
        raise _Fault("private_key_raw", _private_key_fault(refused)) from None
    if not isinstance(key, RSAPrivateKey):
        raise _Fault("private_key_raw", "not an RSA key, which Snowflake key-pair login needs")


def _databricks(value: DatabricksServicePrincipalSecret) -> None:
    _https(value.host, "host", required=True)
    _required(value.client_id, "client_id")
    _required(value.client_secret, "client_secret")


def _azure_service_principal(value: AzureServicePrincipal) -> None:
    tenant = _required(value.tenant_id, "tenant_id")
    if not (_GUID.fullmatch(tenant) or _DOMAIN.fullmatch(tenant)):
        raise _Fault("tenant_id", "not a tenant id (a GUID, or a domain such as x.onmicrosoft.com)")
    _guid(value.client_id, "client_id")
    _required(value.client_secret, "client_secret")
    if value.account_name is not None:
        _account_name(value.account_name, "account_name")
    if value.authority is not None and not _DOMAIN.fullmatch(
        value.authority.removeprefix("https://").rstrip("/")
    ):
        raise _Fault("authority", "not an Entra ID host (login.microsoftonline.com)")


def _basic(value: BasicCredential) -> None:
    _required(value.user, "user")
    _required(value.password, "password")
    if value.scheme is not None and not _SCHEME.fullmatch(value.scheme):
        raise _Fault("scheme", "not a URL scheme (postgresql, mysql, snowflake, mssql, http…)")
    if value.port is not None and not 0 < value.port < 65536:
        raise _Fault("port", "not a port number (1-65535)")


def _bearer(value: BearerToken) -> None:
    if _HEADER_BREAK.search(_required(value.token, "token")):
        raise _Fault("token", "holds a line break or control character, which no header can carry")
    _web_url(value.url, "url")
    if value.header is not None and not _HEADER_NAME.fullmatch(value.header):
        raise _Fault("header", "not a header name (letters, digits and !#$%&'*+-.^_`|~)")


def _oauth(value: OAuthClientCredential) -> None:
    _web_url(value.token_url, "token_url", required=True)
    _required(value.client_id, "client_id")
    _required(value.client_secret, "client_secret")
    for scope in value.scopes or ():
        if not scope or " " in scope:
            raise _Fault(
                "scopes", "each scope must be one non-empty word (they are sent space-separated)"
            )


def _databricks_pat(value: DatabricksPersonalAccessToken) -> None:
    _https(value.host, "host", required=True)
    _required(value.token, "token")


_CHECKS: dict[type[_Model], Callable[[Any], None]] = {
    AWSCredential: _aws_credential,
    AWSRole: _aws_role,
    AzureCredential: _azure_credential,
    AzureToken: _azure_token,
    AzureEntraIDToken: _azure_entra_id,
    AzureEntraIDTaskToken: _azure_entra_id_task,
    GCPInteroperabilityCredential: _gcp_hmac,
    GCPServiceAccountKey: _gcp_service_account,
    SnowflakeServiceUserKey: _snowflake,
    DatabricksServicePrincipalSecret: _databricks,
    AzureServicePrincipal: _azure_service_principal,
    BasicCredential: _basic,
    BearerToken: _bearer,
    OAuthClientCredential: _oauth,
    DatabricksPersonalAccessToken: _databricks_pat,
}


def verify_request(request: CredentialsVerifyRequest | CredentialCreateRequest) -> None:
    """Check a credential's structure; return quietly when it is good.

    Parameters:
        request: a verify or create request, secrets included.

    Raises:
        CredentialsError: status 422; the message starts with the path of the
            field at fault (``role.aws.role_arn: not an IAM role ARN …``).

    >>> from tilecred._local import verify_request
    >>> verify_request(CredentialsVerifyRequest(
    ...     name="x", provider=CloudProvider.AWS,
    ...     role=AccessCredentialRole(aws=AWSRole(role_arn="arn:aws:iam::123456789012:role/a"))))
    >>> verify_request(CredentialsVerifyRequest(
    ...     name="x", provider=CloudProvider.AWS,
    ...     role=AccessCredentialRole(aws=AWSRole(role_arn="arn:aws:iam::1:role/a"))))
    Traceback (most recent call last):
    ...
    tilecred.CredentialsError: 422 Unprocessable Entity: role.aws.role_arn: not an IAM role ARN ...
    """
    secret = the_secret(request, required=True)
    assert secret is not None  # required=True
    secret.check_provider(request.provider)
    try:
        _CHECKS[type(secret.value)](secret.value)
    except _Fault as fault:
        raise CredentialsError(
            f"{secret.path}.{fault.field}: {fault.reason}", status=UNPROCESSABLE
        ) from None
