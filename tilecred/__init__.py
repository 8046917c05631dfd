"""tilecred: named cloud credentials for Python.

Six functions with the names and parameters of TileDB's
``tiledb.client.credentials``, ``use_credential``, ``read_audit`` and
``audit_summary``, msgspec models, a lazy ``Pager`` and one error family.
Calls go to TileDB's REST API (or ``tilecred serve``) when a host is
configured, and to an encrypted local store when nothing is.
"""

import logging as _logging

from ._access import CredentialAccess
from ._api import (
    activate_credential,
    associate_credential,
    audit_summary,
    configure,
    create_credential,
    deactivate_credential,
    delete_credential,
    dissociate_credential,
    get_client,
    get_credential,
    list_associations,
    list_credentials,
    read_audit,
    update_credential,
    use_credential,
    verify_credential,
)
from ._api_tokens import (
    activate_token,
    create_teamspace,
    create_token,
    deactivate_token,
    get_token,
    list_teamspaces,
    list_tokens,
    regenerate_token,
    rename_token,
    revoke_token,
)
from ._backend import Page
from ._client import Client
from ._config import Settings
from ._errors import (
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    CredentialsError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    SecretExpiryWarning,
    ServerError,
    TransportError,
    VerificationFailedError,
)
from ._live import LiveVerification
from ._masking import mask
from ._models import (
    AccessCredential,
    AccessCredentialRole,
    Association,
    AuditRecord,
    AWSCredential,
    AWSRole,
    AzureCredential,
    AzureEntraIDTaskToken,
    AzureEntraIDToken,
    AzureServicePrincipal,
    AzureToken,
    BasicCredential,
    BearerToken,
    CloudProvider,
    Credential,
    CredentialCreateRequest,
    CredentialGetResponse,
    CredentialsListResponse,
    CredentialsVerifyRequest,
    CredentialType,
    CredentialUpdateRequest,
    DatabricksPersonalAccessToken,
    DatabricksServicePrincipalSecret,
    GCPInteroperabilityCredential,
    GCPServiceAccountKey,
    OAuthClientCredential,
    PaginationMetadata,
    SnowflakeServiceUserKey,
    Teamspace,
    TeamspaceUser,
    Token,
    UsageSummary,
    Workspace,
    WorkspaceUser,
)
from ._pager import Pager
from ._token_models import ApiToken, IssuedToken
from ._version import __version__

__all__ = [
    "AWSCredential",
    "AWSRole",
    "AccessCredential",
    "AccessCredentialRole",
    "ApiToken",
    "Association",
    "AuditRecord",
    "AuthenticationError",
    "AzureCredential",
    "AzureEntraIDTaskToken",
    "AzureEntraIDToken",
    "AzureServicePrincipal",
    "AzureToken",
    "BasicCredential",
    "BearerToken",
    "Client",
    "CloudProvider",
    "ConfigurationError",
    "ConflictError",
    "Credential",
    "CredentialAccess",
    "CredentialCreateRequest",
    "CredentialGetResponse",
    "CredentialType",
    "CredentialUpdateRequest",
    "CredentialsError",
    "CredentialsListResponse",
    "CredentialsVerifyRequest",
    "DatabricksPersonalAccessToken",
    "DatabricksServicePrincipalSecret",
    "GCPInteroperabilityCredential",
    "GCPServiceAccountKey",
    "InvalidArgumentError",
    "IssuedToken",
    "LiveVerification",
    "NotFoundError",
    "OAuthClientCredential",
    "Page",
    "Pager",
    "PaginationMetadata",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
    "SecretExpiryWarning",
    "ServerError",
    "Settings",
    "SnowflakeServiceUserKey",
    "Teamspace",
    "TeamspaceUser",
    "Token",
    "TransportError",
    "UsageSummary",
    "VerificationFailedError",
    "Workspace",
    "WorkspaceUser",
    "__version__",
    "activate_credential",
    "activate_token",
    "associate_credential",
    "audit_summary",
    "configure",
    "create_credential",
    "create_teamspace",
    "create_token",
    "deactivate_credential",
    "deactivate_token",
    "delete_credential",
    "dissociate_credential",
    "get_client",
    "get_credential",
    "get_token",
    "list_associations",
    "list_credentials",
    "list_teamspaces",
    "list_tokens",
    "mask",
    "read_audit",
    "regenerate_token",
    "rename_token",
    "revoke_token",
    "update_credential",
    "use_credential",
    "verify_credential",
]

# Tracebacks and reprs read tilecred.NotFoundError, not tilecred._errors.NotFoundError.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or callable(_obj):
        _obj.__module__ = __name__
del _name, _obj

_logging.getLogger(__name__).addHandler(_logging.NullHandler())
